import EventBus
import Foundation
import ServiceTestSupport
import RPC
import RPCSchema
import TestSupport
import Testing

@Suite("marketplace run as a real process", .serialized)
struct ProcessTests {
    @Test(
        "starts every part on its port, creates and prints the first admin, and on SIGTERM shuts down gracefully (exit 0)"
    )
    func runAndStop() async throws {
        let directory = try makeTemporaryDirectory("run")
        defer { try? FileManager.default.removeItem(at: directory) }
        let (auth, users, orders, bus, gatewayPort) = (fixedPort(), fixedPort(), fixedPort(), fixedPort(), fixedPort())
        let payments = fixedPort()
        let process = Process()
        process.executableURL = repositoryRoot.appendingPathComponent(".build/debug/marketplace")
        process.arguments = [
            "run", "--data-dir", directory.path, "--bus-port", "\(bus)", "--auth-port", "\(auth)", "--users-port",
            "\(users)",
            "--orders-port", "\(orders)", "--payments-port", "\(payments)", "--gateway-port", "\(gatewayPort)",
        ]
        var environment = ProcessInfo.processInfo.environment
        environment.removeValue(forKey: "MARKETPLACE_ADMIN_PASSWORD")
        process.environment = environment
        let output = Pipe()
        process.standardOutput = output
        process.standardError = output
        try process.run()
        let gateway = Endpoint(host: "127.0.0.1", port: gatewayPort)
        var healthy = false
        for _ in 0..<300 where !healthy {
            if let result = try? await httpRequest(gateway, "GET", "/healthz"), result.status == 200 {
                healthy = true
            } else {
                try await Task.sleep(for: .milliseconds(100))
            }
        }
        #expect(healthy, "the gateway reports every backend SERVING")
        // The bus lets nobody in without a credential: a forged payment.completed is refused.
        let anonymous = Broker.Client(RPCClient(endpoints: [Endpoint(host: "127.0.0.1", port: bus)]))
        let forged = Event(
            id: "forged",
            exchange: "payment_events",
            routingKey: "payment.completed",
            type: "marketplace.v1.PaymentCompleted"
        )
        await #expect(throws: RPCError.self) { _ = try await anonymous.publish(PublishRequest(events: [forged])) }
        do { _ = try await anonymous.publish(PublishRequest(events: [forged])) } catch let error as RPCError {
            #expect(error.code == .unauthenticated)
        }
        await anonymous.client.close()
        // An operator on the machine, with the data directory's service key, may look.
        let rpcctl = repositoryRoot.appendingPathComponent(".build/debug/rpcctl").path
        let queues = try await runProcess(
            rpcctl,
            [
                "events", "queues", "--bus", "127.0.0.1:\(bus)", "--key-file",
                directory.appendingPathComponent("keys/service-ed25519.key").path,
            ]
        )
        #expect(queues.status == 0, "\(queues.output)")
        #expect(queues.output.contains("notifications.events"))
        process.terminate()  // SIGTERM
        let text = await withCheckedContinuation { continuation in
            Thread.detachNewThread {
                let data = output.fileHandleForReading.readDataToEndOfFile()
                process.waitUntilExit()
                continuation.resume(returning: String(decoding: data, as: UTF8.self))
            }
        }
        #expect(process.terminationReason == .exit, "it exited by itself, not killed by the signal")
        #expect(process.terminationStatus == 0, "\(text)")
        #expect(text.contains("shutting down gracefully"))
        for part in ["bus", "auth", "users", "orders", "payments"] {
            #expect(text.contains("info \(part): [RPC] stopped"), "\(part) stopped")
        }
        #expect(text.contains("first admin created"))
        #expect(text.contains("password (shown once"))
    }
}
