// Event bus benchmark: durable publish → deliver → ack of 1 KiB events, with 1 and 4 publishers
// × 1 and 4 consumers on one queue, plus a one-at-a-time confirmed publish. The bus runs in this
// process on its own event loops; publishers and consumers are separate clients over loopback.
//
//   BusBench [--events N] [--in-flight N]
import EventBus
import Logging
import Foundation
import NIOConcurrencyHelpers
import NIOPosix
import ProtoRuntime
import RPC
import RPCSchema
import ServiceKit

func now() -> UInt64 { DispatchTime.now().uptimeNanoseconds }

func percentile(_ sorted: [Double], _ p: Double) -> Double {
    sorted.isEmpty ? 0 : sorted[min(sorted.count - 1, Int(Double(sorted.count) * p))]
}

let arguments = CommandLine.arguments
let total = arguments.firstIndex(of: "--events").flatMap { Int(arguments[$0 + 1]) } ?? 20_000
/// Confirms each publisher keeps outstanding (RabbitMQ's PerfTest calls this `--confirm`).
let inFlight = arguments.firstIndex(of: "--in-flight").flatMap { Int(arguments[$0 + 1]) } ?? 16
let directory = FileManager.default.temporaryDirectory.appendingPathComponent("busbench-\(UUID().uuidString)")
defer { try? FileManager.default.removeItem(at: directory) }

let bus = try await EventBusServer.make(
    dataDirectory: directory.path,
    configuration: ServerConfiguration(idleTimeout: nil),
    authenticator: try BusAuthenticator.make(dataDirectory: directory.path),
    logger: .init(label: "bus", factory: { _ in SwiftLogNoOpLogHandler() })
)
let running = Task { try await bus.run() }
let endpoint = Endpoint(host: "127.0.0.1", port: try await bus.server.localPort)
/// Every bus call carries a service token (the operator's, which may do everything).
let identity = ServiceIdentity(name: "operator", key: try ServiceKeys.serviceKey(dataDirectory: directory.path))
func busClient() -> Broker.Client {
    Broker.Client(RPCClient(endpoints: [endpoint], interceptors: [identity.interceptor]))
}
let admin = busClient()

/// Runs one scenario on a fresh queue; returns events/s and publish→deliver latencies (µs).
func scenario(publishers: Int, consumers: Int, events: Int, inFlight: Int) async throws -> (Double, [Double]) {
    let queue = "bench.\(publishers)x\(consumers).\(UUID().uuidString.prefix(6))"
    _ = try await admin.declareQueue(DeclareQueueRequest(name: queue, maxDeliveries: 100))
    _ = try await admin.bind(BindRequest(queue: queue, exchange: "order_events", pattern: queue))
    let latencies = NIOLockedValueBox<[Double]>([])
    let received = NIOLockedValueBox(0)
    let start = now()
    try await withThrowingTaskGroup(of: Void.self) { group in
        for _ in 0..<consumers {
            group.addTask {
                let client = busClient()
                try await client.subscribe { writer, deliveries in
                    try await writer.write(SubscribeRequest(kind: .subscribe(.init(queue: queue, prefetch: 256))))
                    // Acks go out as the services' consumers send them (EventConsumer): from a
                    // task of their own, batched while one is on its way.
                    let collected = try await Acknowledgements.run(writer) { acks in
                        var local: [Double] = []
                        for try await delivery in deliveries {
                            let sent = (delivery.event?.payload.prefix(8) ?? []).enumerated().reduce(UInt64(0)) {
                                $0 | UInt64($1.element) << (8 * UInt64($1.offset))
                            }
                            local.append(Double(now() &- sent) / 1000)
                            acks.ack(delivery.deliveryTag)
                            let done = received.withLockedValue { count -> Bool in
                                count += 1
                                return count >= events
                            }
                            if done { break }
                        }
                        return local
                    }
                    latencies.withLockedValue { $0 += collected }
                    writer.finish()
                }
                await client.client.close()
            }
        }
        for p in 0..<publishers {
            group.addTask {
                // Each publisher keeps `inFlight` confirmed publishes outstanding (asynchronous
                // confirms, as RabbitMQ publishers pipeline them), one event per publish.
                let client = busClient()
                let mine = events / publishers + (p < events % publishers ? 1 : 0)
                try await withThrowingTaskGroup(of: Void.self) { lanes in
                    for lane in 0..<inFlight {
                        let share = mine / inFlight + (lane < mine % inFlight ? 1 : 0)
                        lanes.addTask {
                            for _ in 0..<share {
                                var payload = [UInt8](repeating: 0x61, count: 1024)
                                let t = now()
                                for i in 0..<8 { payload[i] = UInt8(truncatingIfNeeded: t >> (8 * UInt64(i))) }
                                _ = try await client.publish(
                                    PublishRequest(events: [
                                        Event(
                                            id: UUID().uuidString,
                                            exchange: "order_events",
                                            routingKey: queue,
                                            payload: payload
                                        )
                                    ])
                                )
                            }
                        }
                    }
                    try await lanes.waitForAll()
                }
                await client.client.close()
            }
        }
        // Consumers stop once every event is in; the group ends when all are done.
        while received.withLockedValue({ $0 }) < events { try await Task.sleep(for: .milliseconds(5)) }
        group.cancelAll()
    }
    let seconds = Double(now() - start) / 1e9
    return (Double(events) / seconds, latencies.withLockedValue { $0 }.sorted())
}

print(
    "durable publish → deliver → ack, 1 KiB events, \(total) per case, \(inFlight) confirms in flight per publisher (every confirmed publish fsync'd, group commit)"
)
for (publishers, consumers) in [(1, 1), (1, 4), (4, 1), (4, 4)] {
    let before = bus.core.commitStatistics
    let (rate, latencies) = try await scenario(
        publishers: publishers,
        consumers: consumers,
        events: total,
        inFlight: inFlight
    )
    let after = bus.core.commitStatistics
    let commits = after.commits - before.commits
    print(
        String(
            format:
                "%d publisher(s) x %d consumer(s): %8.0f events/s   publish→deliver p50 %8.1f us  p99 %8.1f us   %d commits, %.1f events each",
            publishers,
            consumers,
            rate,
            percentile(latencies, 0.5),
            percentile(latencies, 0.99),
            commits,
            Double(after.events - before.events) / Double(max(1, commits))
        )
    )
}

// One confirmed publish at a time: the latency of a single durable confirm (stored in a queue).
_ = try await admin.declareQueue(DeclareQueueRequest(name: "bench.confirms"))
_ = try await admin.bind(BindRequest(queue: "bench.confirms", exchange: "order_events", pattern: "confirm.one"))
var confirms: [Double] = []
for _ in 0..<2000 {
    let t = now()
    _ = try await admin.publish(
        PublishRequest(events: [
            Event(
                id: UUID().uuidString,
                exchange: "order_events",
                routingKey: "confirm.one",
                payload: [UInt8](repeating: 1, count: 1024)
            )
        ])
    )
    confirms.append(Double(now() - t) / 1000)
}
confirms.sort()
print(
    String(
        format: "one confirmed publish at a time: p50 %.1f us, p99 %.1f us",
        percentile(confirms, 0.5),
        percentile(confirms, 0.99)
    )
)
running.cancel()
exit(0)
