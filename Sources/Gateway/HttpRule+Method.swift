public import RPC

extension MethodDescriptor {
    /// The method's `(gateway.v1.http)` option (Protos/gateway/v1/http.proto), if the schema sets
    /// one: its legacy HTTP route, presentation and envelope message.
    public var httpRule: HttpRule? { option(50001, as: HttpRule.self) }
}
