import NIOConcurrencyHelpers
import RPC
import Testing

@Suite("Field rules on the server")
struct FieldRuleTests {
    @Test(
        "a request breaking a field rule is INVALID_ARGUMENT naming the field, before the handler runs, in every call kind"
    )
    func refusedBeforeTheHandler() async throws {
        let service = EchoService()
        try await withServer(service) { _, endpoint in
            let client = Echo.Client(RPCClient(endpoints: [endpoint]))
            #expect(try await client.get(EchoRequest(text: "ok", tag: "abc")).text == "ok")
            let before = service.started.withLockedValue { $0 }
            do {
                _ = try await client.get(EchoRequest(text: "x", tag: "ABC"))
                Issue.record("accepted a tag outside a-z")
            } catch let error as RPCError {
                #expect(error.code == .invalidArgument)
                #expect(error.message == "tag must hold only the characters a-z")
                #expect(error.metadata[ServerMethod.fieldViolationKey] == "tag")
            }
            await #expect(throws: RPCError.self) {
                for try await _ in try await client.expand(EchoRequest(count: 2, tag: "waytoolongtag")) {}
            }
            #expect(service.started.withLockedValue { $0 } == before, "a handler saw a refused request")
            // A client stream: the bad second message ends the call with the violation.
            do {
                _ = try await client.collect { writer in
                    try await writer.write(EchoRequest(text: "a"))
                    try await writer.write(EchoRequest(text: "b", tag: "no way"))
                }
                Issue.record("accepted a bad second message")
            } catch let error as RPCError {
                #expect(error.code == .invalidArgument)
                #expect(error.message.hasPrefix("tag "))
            }
        }
    }

    @Test("interceptors run first: an unauthenticated bad request is UNAUTHENTICATED, not INVALID_ARGUMENT")
    func interceptorsFirst() async throws {
        let server = RPCServer(services: [EchoService()], interceptors: [AuthInterceptor()])
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await server.run() }
            let endpoint = Endpoint(host: "127.0.0.1", port: try await server.localPort)
            let bare = Echo.Client(RPCClient(endpoints: [endpoint]))
            await #expect(throws: RPCError(code: .unauthenticated, message: "no valid token")) {
                _ = try await bare.get(EchoRequest(tag: "BAD"))
            }
            group.cancelAll()
        }
    }
}
