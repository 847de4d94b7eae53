import RPC

extension Gateway {
    /// Calls `method` of its service with the caller's `authorization`, the request id and the
    /// client's address; the answer's bytes, or the service's ``RPCError`` (UNAVAILABLE for a
    /// service the gateway has no address for).
    func call(_ method: MethodDescriptor, payload: [UInt8], authorization: String?, context: GatewayContext)
        async throws -> [UInt8]
    {
        guard let client = clients[method.service] else {
            throw RPCError(code: .unavailable, message: "Service unavailable: \(method.service) is not configured")
        }
        var metadata = Metadata([(MetadataKeys.requestID, context.requestID)])
        if let authorization { metadata.add(MetadataKeys.authorization, authorization) }
        metadata.add(MetadataKeys.clientAddress, context.clientAddress)
        let response = try await client.unary(
            method,
            request: RawMessage(bytes: payload),
            responseType: RawMessage.self,
            options: CallOptions(timeout: configuration.callTimeout, metadata: metadata)
        )
        return response.message.bytes
    }
}
