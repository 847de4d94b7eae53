public import ProtoRuntime
public import RPCSchema

extension MethodDescriptor {
    /// The method's `(rpc.v1.access)` option, if the schema sets one.
    public var accessRule: AccessRule? { MethodDescriptor.extensionField(50002, in: options) }

    /// The method's message-typed custom option `number` (an extension of `MethodOptions`), if the
    /// schema sets it: how other layers read their own options (the gateway's `(gateway.v1.http)`).
    public func option<M: ProtoRuntime.Message>(_ number: UInt32, as _: M.Type = M.self) -> M? {
        MethodDescriptor.extensionField(number, in: options)
    }

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
