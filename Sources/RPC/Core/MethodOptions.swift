import ProtoRuntime
public import RPCSchema

extension MethodDescriptor {
    /// The method's `(rpc.v1.access)` option, if the schema sets one.
    public var accessRule: AccessRule? { MethodDescriptor.extensionField(50002, in: options) }

    /// The method's `(rpc.v1.http)` option, if the schema sets one.
    public var httpRule: HttpRule? { MethodDescriptor.extensionField(50001, in: options) }

    /// Decodes a message-typed extension field from serialized options (the last occurrence wins,
    /// merged with earlier ones, as protobuf reads repeated singular message fields).
    static func extensionField<M: ProtoRuntime.Message>(_ number: UInt32, in bytes: [UInt8]) -> M? {
        var found: M?
        bytes.withUnsafeBytes { raw in
            var reader = WireReader(bytes: raw)
            while let tag = try? reader.nextTag() {
                if tag == number << 3 | 2 {
                    var value = found ?? M()
                    guard (try? reader.readMessage(into: &value)) != nil else { return }
                    found = value
                } else if (try? reader.skipField()) == nil {
                    return
                }
            }
        }
        return found
    }
}
