import Metrics
import MetricsTestKit
import ProtoRuntime
import RPC
import Testing

/// A service of its own, so no other test's calls share its metric dimensions.
struct MeteredService: RPCService {
    static let get = MethodDescriptor(service: "test.v1.Metered", method: "Get", kind: .unary)
    var serviceName: String { "test.v1.Metered" }
    var fileDescriptors: [ProtoRuntime.EmbeddedFileDescriptor] { [] }
    var methods: [ServerMethod] {
        [
            .unary(MeteredService.get, EchoRequest.self, EchoResponse.self) { request, _ in
                if request.failCode != 0 { throw RPCError(code: RPCCode(rawValue: request.failCode), message: "no") }
                return EchoResponse(text: request.text)
            }
        ]
    }
}

@Suite("Metrics")
struct MetricsTests {
    @Test("calls are counted and timed per method and status, on the server and the client")
    func perMethodAndStatus() async throws {
        let metrics = TestMetrics()
        MetricsSystem.bootstrap(metrics)
        let server = RPCServer(services: [MeteredService()])
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await server.run() }
            let client = RPCClient(endpoints: [Endpoint(host: "127.0.0.1", port: try await server.localPort)])
            for text in ["a", "b"] {
                _ = try await client.unary(
                    MeteredService.get,
                    request: EchoRequest(text: text),
                    responseType: EchoResponse.self
                )
            }
            _ = try? await client.unary(
                MeteredService.get,
                request: EchoRequest(failCode: RPCCode.notFound.rawValue),
                responseType: EchoResponse.self
            )
            await client.close()
            group.cancelAll()
        }
        let ok = [("method", "/test.v1.Metered/Get"), ("code", "OK")]
        let notFound = [("method", "/test.v1.Metered/Get"), ("code", "NOT_FOUND")]
        #expect(metrics.counterTotal(label: "rpc_server_calls_total", dimensions: ok) == 2)
        #expect(metrics.counterTotal(label: "rpc_server_calls_total", dimensions: notFound) == 1)
        #expect(metrics.counterTotal(label: "rpc_client_calls_total", dimensions: ok) == 2)
        #expect(metrics.counterTotal(label: "rpc_client_calls_total", dimensions: notFound) == 1)
        let timers = metrics.timers.filter {
            $0.label == "rpc_server_call_duration_seconds" && $0.dimensions.contains { $0 == ("code", "OK") }
                && $0.dimensions.contains { $0 == ("method", "/test.v1.Metered/Get") }
        }
        #expect(timers.flatMap { $0.values }.count == 2)
    }
}
