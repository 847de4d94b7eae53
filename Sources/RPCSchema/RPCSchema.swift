/// Generated types for `Protos/rpc`: the schema options (access rules, event routes, field
/// rules), the protocol's frame headers, health and reflection messages, and ``EventMessage``
/// (what a message with an `(rpc.v1.event)` option conforms to).
///
/// The types are generated at build time by `ProtoGenPlugin` from the `.proto` files under
/// `protos/` (symlinks to the protocol's files in `Protos/rpc`); `Generated/` holds a committed snapshot.
public enum RPCSchema {
    /// The embedded descriptors of every file in this module.
    public static let files = [OptionsProtoFile.descriptor, RulesProtoFile.descriptor]
}
