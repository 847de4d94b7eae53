/// Generated types for `Protos/rpc`: the schema options (HTTP routes, access rules, event routes,
/// field rules)
/// and, as the protocol grows, its frame headers and built-in services.
///
/// The types are generated at build time by `ProtoGenPlugin` from the `.proto` files under
/// `protos/` (a symlink to `Protos/rpc`); `Generated/` holds a committed snapshot.
public enum RPCSchema {
    /// The embedded descriptors of every file in this module.
    public static let files = [OptionsProtoFile.descriptor, RulesProtoFile.descriptor]
}
