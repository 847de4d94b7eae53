import Crypto
import Foundation
import ServiceTestSupport
import Gateway
import RPC
import TestSupport
import Testing

@Suite("Gateway timeouts: half-sent requests and idle connections are closed")
struct GatewayTimeoutTests {
    /// A gateway with no backends (these tests never reach one) and the given timeouts.
    func withGateway(
        head: Duration = .milliseconds(300),
        idle: Duration = .milliseconds(600),
        _ body: @Sendable (Endpoint) async throws -> Void
    ) async throws {
        var configuration = GatewayConfiguration()
        configuration.port = 0
        configuration.requestHeadTimeout = head
        configuration.idleTimeout = idle
        let server = GatewayServer(
            gateway: try Gateway(
                configuration: configuration,
                backends: GatewayBackends([:]),
                authPublicKey: Curve25519.Signing.PrivateKey().publicKey,
                logger: Cluster.quiet
            ),
            configuration: configuration,
            logger: Cluster.quiet
        )
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await server.run() }
            defer { group.cancelAll() }
            try await body(Endpoint(host: "127.0.0.1", port: await server.localPort))
        }
    }

    @Test(
        "connections that send nothing, half a request head, or a head trickled byte by byte are closed by the server"
    )
    func halfSent() async throws {
        try await withGateway { endpoint in
            var peers: [RawConnection] = []
            for i in 0..<20 {
                let first = i % 2 == 0 ? Array("GET /health HTTP/1.1\r\nHost: x\r\n".utf8) : []
                peers.append(try await RawConnection.connect(endpoint, sending: first))
            }
            // A head trickled in a byte at a time: activity, but never a complete head.
            let trickle = try await RawConnection.connect(endpoint, sending: Array("GET /health HTTP/1.1\r\n".utf8))
            let trickling = Task {
                for byte in "X-Slow: yes".utf8 {
                    try await Task.sleep(for: .milliseconds(50))
                    trickle.send([byte])
                }
            }
            // Generous: the timeouts are 300 and 600 ms; a loaded machine only makes them late.
            for peer in peers { #expect(try await peer.waitForClose()) }
            #expect(try await trickle.waitForClose())
            trickling.cancel()
            #expect(peers.allSatisfy { $0.received.isEmpty })
        }
    }

    @Test(
        "a complete request is served; a kept-alive connection that sends no further request is closed after the idle timeout"
    )
    func idleKeepAlive() async throws {
        // The head timeout at its default (10 s): a loaded machine may take longer than a short
        // one to read a head that arrived at once, and this test is about what follows. The idle
        // timer (Hummingbird's) also runs from the connection's start until its first request, so
        // it is 5 s, not 1: a test client starved for a second on a busy machine must not find
        // its connection closed before it wrote.
        try await withGateway(head: .seconds(10), idle: .seconds(5)) { endpoint in
            #expect(try await httpRequest(endpoint, "GET", "/health").status == 200)
            let peer = try await RawConnection.connect(
                endpoint,
                sending: Array("GET /health HTTP/1.1\r\nHost: x\r\n\r\n".utf8)
            )
            #expect(try await peer.waitForClose())
            #expect(String(decoding: peer.received, as: UTF8.self).hasPrefix("HTTP/1.1 200"))
        }
    }
}
