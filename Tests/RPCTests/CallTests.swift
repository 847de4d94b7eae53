import Foundation
import NIOConcurrencyHelpers
import NIOCore
import RPC
import RPCSchema
import TestSupport
import Testing

@Suite("Calls over real TCP")
struct CallTests {
    @Test("unary: response, response metadata and trailers")
    func unary() async throws {
        try await withServer { _, endpoint in
            let client = RPCClient(endpoints: [endpoint])
            let response = try await client.unary(
                Echo.Method.get,
                request: EchoRequest(text: "hi"),
                responseType: EchoResponse.self
            )
            #expect(response.message.text == "hi")
            #expect(response.metadata["x-echo"] == "hi")
            #expect(response.trailers["x-done"] == "yes")
            await client.close()
        }
    }

    @Test("server streaming, client streaming and bidi streaming")
    func streaming() async throws {
        try await withServer { _, endpoint in
            let client = Echo.Client(RPCClient(endpoints: [endpoint]))
            var indices: [Int32] = []
            for try await response in try await client.expand(EchoRequest(text: "s", count: 5)) {
                indices.append(response.index)
            }
            #expect(indices == [0, 1, 2, 3, 4])
            let collected = try await client.collect { writer in
                for text in ["a", "b", "c"] { try await writer.write(EchoRequest(text: text)) }
            }
            #expect(collected.text == "a,b,c")
            let upper = try await client.update { writer, responses in
                var seen: [String] = []
                var iterator = responses.makeAsyncIterator()
                for text in ["x", "y"] {
                    try await writer.write(EchoRequest(text: text))
                    if let response = try await iterator.next() { seen.append(response.text) }
                }
                writer.finish()
                while try await iterator.next() != nil {}
                return seen
            }
            #expect(upper == ["X", "Y"])
            await client.client.close()
        }
    }

    @Test("a server stream larger than the flow-control window arrives whole")
    func flowControl() async throws {
        try await withServer { _, endpoint in
            let client = Echo.Client(RPCClient(endpoints: [endpoint]))
            let text = String(repeating: "x", count: 10_000)
            var count = 0
            for try await response in try await client.expand(EchoRequest(text: text, count: 300)) {
                #expect(response.text.count == 10_000)
                count += 1
            }
            #expect(count == 300)  // 3 MB through a 1 MiB window
            await client.client.close()
        }
    }

    @Test("1,000 concurrent calls on one connection complete, out of order")
    func concurrent() async throws {
        try await withServer { _, endpoint in
            let client = Echo.Client(RPCClient(endpoints: [endpoint]))
            let order = NIOLockedValueBox<[Int]>([])
            try await withThrowingTaskGroup(of: Void.self) { group in
                for i in 0..<1000 {
                    group.addTask {
                        let response = try await client.get(EchoRequest(text: "\(i)", delayMs: Int64((1000 - i) % 7)))
                        #expect(response.text == "\(i)")
                        order.withLockedValue { $0.append(i) }
                    }
                }
                try await group.waitForAll()
            }
            let finished = order.withLockedValue { $0 }
            #expect(finished.count == 1000)
            #expect(finished != finished.sorted(), "replies are not forced into request order")
            await client.client.close()
        }
    }

    @Test("errors: RPCError keeps code, message, details and metadata; other errors become INTERNAL")
    func errors() async throws {
        try await withServer { _, endpoint in
            let client = Echo.Client(RPCClient(endpoints: [endpoint]))
            do {
                _ = try await client.get(EchoRequest(failCode: RPCCode.notFound.rawValue))
                Issue.record("expected an error")
            } catch let error as RPCError {
                #expect(error.code == .notFound)
                #expect(error.message == "asked to fail")
                #expect(error.details == [1, 2, 3])
                #expect(error.metadata["x-reason"] == "test")
            }
            do {
                _ = try await client.get(EchoRequest(failCode: 100))
                Issue.record("expected an error")
            } catch let error as RPCError {
                #expect(error.code == .internalError)
                #expect(error.message == "internal error")
            }
            await client.client.close()
        }
    }

    @Test("deadline exceeded: the caller gets DEADLINE_EXCEEDED and the handler's task is cancelled")
    func deadline() async throws {
        let service = EchoService()
        try await withServer(service) { _, endpoint in
            let client = Echo.Client(RPCClient(endpoints: [endpoint]))
            let start = ContinuousClock.now
            await #expect(throws: RPCError.self) {
                do {
                    _ = try await client.get(
                        EchoRequest(text: "slow", delayMs: 5000),
                        options: CallOptions(timeout: .milliseconds(100))
                    )
                } catch let error as RPCError {
                    #expect(error.code == .deadlineExceeded)
                    throw error
                }
            }
            #expect(ContinuousClock.now - start < .seconds(4))
            let cancelled = try await eventually { service.cancelled.withLockedValue { $0 } == ["slow"] }
            #expect(cancelled)
            await client.client.close()
        }
    }

    @Test("client cancellation cancels the handler's task; the connection goes on")
    func cancellation() async throws {
        let service = EchoService()
        try await withServer(service) { _, endpoint in
            let client = Echo.Client(RPCClient(endpoints: [endpoint]))
            let call = Task { try await client.get(EchoRequest(text: "cancel-me", delayMs: 5000)) }
            try await eventually { service.started.withLockedValue { $0 } == 1 }
            call.cancel()
            await #expect(throws: RPCError.self) { _ = try await call.value }
            let cancelled = try await eventually { service.cancelled.withLockedValue { $0 } == ["cancel-me"] }
            #expect(cancelled)
            #expect(try await client.get(EchoRequest(text: "after")).text == "after")
            await client.client.close()
        }
    }

    @Test("the deadline and trace id propagate across two hops")
    func propagation() async throws {
        try await withServer { _, second in
            try await withServer { _, first in
                let client = Echo.Client(RPCClient(endpoints: [first]))
                // Generous: the hops may queue behind the rest of a loaded suite.
                var options = CallOptions(timeout: .seconds(60))
                options.metadata.add("x-trace-id", "trace-123")
                let response = try await client.get(
                    EchoRequest(text: "hop", forwardTo: "\(second)", hops: 1),
                    options: options
                )
                #expect(response.traceId == "trace-123")
                #expect(response.remainingMicros > 0 && response.remainingMicros <= 60_000_000)
                #expect(response.remainingMicros > 30_000_000)
                await client.client.close()
            }
        }
    }

    @Test("more calls than the stream limit get RESOURCE_EXHAUSTED; the connection lives")
    func maxStreams() async throws {
        let service = EchoService()
        try await withServer(service, configuration: ServerConfiguration(maximumConcurrentStreams: 2)) { _, endpoint in
            let client = Echo.Client(RPCClient(endpoints: [endpoint]))
            // The two slow calls stay open until cancelled, however slow the machine is.
            let slow = (0..<2).map { i in Task { try await client.get(EchoRequest(text: "\(i)", delayMs: 60_000)) } }
            #expect(try await eventually { service.started.withLockedValue { $0 } == 2 })
            await #expect(
                throws: RPCError(
                    code: .resourceExhausted,
                    message: "too many concurrent calls on this connection (maximum 2)"
                )
            ) {
                _ = try await client.get(EchoRequest(text: "third"))
            }
            for task in slow { task.cancel() }
            var later: String?
            for _ in 0..<500 where later == nil {
                later = try? await client.get(EchoRequest(text: "later")).text
                if later == nil { try await Task.sleep(for: .milliseconds(10)) }
            }
            #expect(later == "later", "the connection lives: once the slow calls end, calls go through")
            await client.client.close()
        }
    }

    @Test("an unknown method gets UNIMPLEMENTED")
    func unknownMethod() async throws {
        try await withServer { _, endpoint in
            let client = RPCClient(endpoints: [endpoint])
            let missing = MethodDescriptor(service: "test.v1.Echo", method: "Nope", kind: .unary)
            await #expect(throws: RPCError(code: .unimplemented, message: "unknown method /test.v1.Echo/Nope")) {
                _ = try await client.unary(missing, request: EchoRequest(), responseType: EchoResponse.self)
            }
            await client.close()
        }
    }

    @Test("an unreachable endpoint gives UNAVAILABLE, not a wait for the call's deadline")
    func unreachable() async throws {
        let client = RPCClient(endpoints: [Endpoint(host: "127.0.0.1", port: 1)])
        let start = ContinuousClock.now
        do {
            _ = try await Echo.Client(client).get(EchoRequest(), options: CallOptions(timeout: .seconds(60)))
            Issue.record("expected UNAVAILABLE")
        } catch let error as RPCError {
            #expect(error.code == .unavailable)
            #expect(error.message.contains("127.0.0.1:1"))
        }
        // Refused connections fail at once; the bound only guards against waiting for the deadline
        // (wall-clock checks stay loose: the machine is shared).
        #expect(ContinuousClock.now - start < .seconds(30))
        await client.close()
    }

    @Test("round-robin over replicas; a dead replica is skipped")
    func roundRobin() async throws {
        try await withServer { _, a in
            try await withServer { _, b in
                let dead = Endpoint(host: "127.0.0.1", port: 1)
                let client = Echo.Client(RPCClient(endpoints: [a, dead, b]))
                for i in 0..<9 {
                    let text = try await client.get(EchoRequest(text: "\(i)")).text
                    #expect(text == "\(i)")
                }
                await client.client.close()
            }
        }
    }

    @Test("the server restarts on the same port: the client reconnects")
    func reconnect() async throws {
        let port = fixedPort()
        let endpoint = Endpoint(host: "127.0.0.1", port: port)
        let client = Echo.Client(
            RPCClient(endpoints: [endpoint], configuration: ClientConfiguration(initialBackoff: .milliseconds(10)))
        )
        try await withServer(configuration: ServerConfiguration(port: port)) { _, _ in
            let text = try await client.get(EchoRequest(text: "one")).text
            #expect(text == "one")
        }
        try await withServer(configuration: ServerConfiguration(port: port)) { _, _ in
            var answer: String?
            for _ in 0..<50 where answer == nil {
                answer = try? await client.get(EchoRequest(text: "two")).text
                if answer == nil { try await Task.sleep(for: .milliseconds(20)) }
            }
            #expect(answer == "two")
        }
        await client.client.close()
    }

    @Test("method options from the schema are available at runtime")
    func methodOptions() {
        #expect(Echo.Method.get.accessRule?.public == true)
        #expect(Echo.Method.expand.accessRule == nil)
        // The gateway's own option, `(gateway.v1.http)`: GatewayRoutingTests.
    }
}
