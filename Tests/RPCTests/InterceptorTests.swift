import Foundation
import NIOConcurrencyHelpers
import RPC
import Testing

/// Refuses calls without `authorization: Bearer good`, and tells the handler who called.
struct AuthInterceptor: ServerInterceptor {
    func intercept(context: ServerContext, next: @Sendable (ServerContext) async throws -> Void) async throws {
        guard context.metadata["authorization"] == "Bearer good" else {
            throw RPCError(code: .unauthenticated, message: "no valid token")
        }
        var context = context
        context.attributes["caller"] = "alice"
        try await next(context)
    }
}

/// Adds a token to every call.
struct TokenInterceptor: ClientInterceptor {
    let seen = NIOLockedValueBox<[String]>([])
    func intercept(method: MethodDescriptor, options: CallOptions, next: @Sendable (CallOptions) async throws -> Void)
        async throws
    {
        var options = options
        options.metadata.add("authorization", "Bearer good")
        seen.withLockedValue { $0.append(method.path) }
        try await next(options)
    }
}

@Suite("Interceptors")
struct InterceptorTests {
    @Test("a server interceptor refuses calls and passes attributes; a client interceptor adds metadata")
    func interceptors() async throws {
        let server = RPCServer(services: [EchoService()], interceptors: [AuthInterceptor()])
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await server.run() }
            let endpoint = Endpoint(host: "127.0.0.1", port: try await server.localPort)
            let bare = Echo.Client(RPCClient(endpoints: [endpoint]))
            await #expect(throws: RPCError(code: .unauthenticated, message: "no valid token")) {
                _ = try await bare.get(EchoRequest(text: "x"))
            }
            let token = TokenInterceptor()
            let authed = Echo.Client(RPCClient(endpoints: [endpoint], interceptors: [token]))
            let response = try await authed.client.unary(
                Echo.Method.get,
                request: EchoRequest(text: "y"),
                responseType: EchoResponse.self
            )
            #expect(response.message.text == "y")
            #expect(response.metadata["x-caller"] == "alice", "the handler saw the context the interceptor passed on")
            #expect(token.seen.withLockedValue { $0 } == ["/test.v1.Echo/Get"])
            await bare.client.close()
            await authed.client.close()
            group.cancelAll()
        }
    }
}
