import Foundation
import Logging
import NIOConcurrencyHelpers
import ProtoRuntime
import RPC
import RPCSchema
import ServiceLifecycle
import Testing

@Suite("Server lifecycle, health and reflection")
struct LifecycleTests {
    @Test("graceful shutdown: in-flight calls finish, new calls get UNAVAILABLE, health turns NOT_SERVING")
    func gracefulShutdown() async throws {
        let service = EchoService()
        let server = RPCServer(services: [service])
        let group = ServiceGroup(services: [server], logger: Logger(label: "test"))
        try await withThrowingTaskGroup(of: Void.self) { tasks in
            tasks.addTask { try await group.run() }
            let endpoint = Endpoint(host: "127.0.0.1", port: try await server.localPort)
            let client = Echo.Client(RPCClient(endpoints: [endpoint]))
            _ = try await client.get(EchoRequest(text: "warm"))
            let inFlight = Task { try await client.get(EchoRequest(text: "in-flight", delayMs: 400)) }
            // Shut down only once the server is running the in-flight call.
            while service.started.withLockedValue({ $0 }) < 2 { try await Task.sleep(for: .milliseconds(5)) }
            await group.triggerGracefulShutdown()
            // Health turns NOT_SERVING once every connection has sent GOAWAY.
            while server.health.status(of: "") != .notServing { try await Task.sleep(for: .milliseconds(5)) }
            do {
                _ = try await client.get(EchoRequest(text: "late"))
                Issue.record("a call after shutdown began succeeded")
            } catch let error as RPCError {
                #expect(error.code == .unavailable)
            }
            #expect(try await inFlight.value.text == "in-flight")
            #expect(server.health.status(of: "") == .notServing)
            try await tasks.waitForAll()
            await client.client.close()
        }
    }

    @Test("health Check per service name, and NOT_FOUND for an unknown one; Watch streams changes")
    func health() async throws {
        try await withServer { server, endpoint in
            let health = Health.Client(RPCClient(endpoints: [endpoint]))
            #expect(try await health.check(HealthCheckRequest(service: "")).status == .serving)
            #expect(try await health.check(HealthCheckRequest(service: "test.v1.Echo")).status == .serving)
            await #expect(throws: RPCError(code: .notFound, message: "unknown service 'nope'")) {
                _ = try await health.check(HealthCheckRequest(service: "nope"))
            }
            let stream = try await health.watch(HealthCheckRequest(service: "test.v1.Echo"))
            var iterator = stream.makeAsyncIterator()
            #expect(try await iterator.next()?.status == .serving)
            server.health.set("test.v1.Echo", .notServing)
            #expect(try await iterator.next()?.status == .notServing)
            await health.client.close()
        }
    }

    @Test("reflection lists services and describes services, methods and messages with their files")
    func reflection() async throws {
        try await withServer { _, endpoint in
            let reflection = Reflection.Client(RPCClient(endpoints: [endpoint]))
            let services = try await reflection.listServices(ListServicesRequest()).services
            #expect(services == ["rpc.v1.Health", "rpc.v1.Reflection", "test.v1.Echo"])
            let service = try await reflection.describe(DescribeRequest(symbol: "test.v1.Echo"))
            #expect(service.kind == "service")
            #expect(service.file == "test/v1/echo.proto")
            let files = try service.fileDescriptors.map { try FileDescriptorProto(serializedBytes: $0) }
            #expect(
                files.map { $0.name ?? "" } == [
                    "google/protobuf/descriptor.proto", "rpc/v1/options.proto", "rpc/v1/rules.proto",
                    "test/v1/echo.proto",
                ]
            )
            #expect(
                files.last?.service.first?.method.map { $0.name ?? "" } == [
                    "Get", "Expand", "Collect", "Update", "Reflect",
                ]
            )
            #expect(try await reflection.describe(DescribeRequest(symbol: "test.v1.Echo.Get")).kind == "method")
            #expect(try await reflection.describe(DescribeRequest(symbol: "test.v1.EchoRequest")).kind == "message")
            await #expect(throws: RPCError.self) { _ = try await reflection.describe(DescribeRequest(symbol: "x.Y")) }
            await reflection.client.close()
        }
    }
}
