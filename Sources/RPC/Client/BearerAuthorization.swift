/// Adds `authorization: Bearer <token>` to every call that carries no authorization yet (a call
/// whose options already name one, a user's token passed through, keeps it).
///
/// ```swift
/// let client = RPCClient(endpoints: [endpoint], interceptors: [BearerAuthorization { token }])
/// ```
public struct BearerAuthorization: ClientInterceptor {
    let token: @Sendable () throws -> String

    /// - Parameter token: asked on every call (so a cached, renewing token stays fresh); its error
    ///   fails the call before anything is sent.
    public init(_ token: @escaping @Sendable () throws -> String) { self.token = token }

    public func intercept(
        method: MethodDescriptor,
        options: CallOptions,
        next: @Sendable (CallOptions) async throws -> Void
    ) async throws {
        var options = options
        if options.metadata[MetadataKeys.authorization] == nil {
            options.metadata.add(MetadataKeys.authorization, "Bearer \(try token())")
        }
        try await next(options)
    }
}
