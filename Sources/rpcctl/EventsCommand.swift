import ArgumentParser
import EventBus
import Foundation
import ProtoRuntime
import RPC
import RPCSchema
import ServiceKit

struct Events: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Watch, publish and inspect events on the event bus.",
        subcommands: [Tail.self, Publish.self, Queues.self]
    )

    /// Where the bus is and who we are to it: every bus call needs a credential.
    struct BusOptions: ParsableArguments {
        @Option(help: "The event bus, host:port.")
        var bus: String = ProcessInfo.processInfo.environment["MARKETPLACE_BUS"] ?? "127.0.0.1:8007"

        @Option(help: "An admin's access token (default: $RPCCTL_TOKEN).")
        var token: String?

        @Option(
            help:
                "On the bus machine: the service key file (<data-dir>/keys/service-ed25519.key); calls are made as the operator, or as --as."
        )
        var keyFile: String?

        @Option(
            name: .customLong("as"),
            help:
                "With --key-file: the service to act as (default: operator, who may do everything; consumers accept an event only from its exchange's owner, e.g. payments for payment_events)."
        )
        var service = "operator"

        func client() throws -> Broker.Client {
            guard let endpoint = Endpoint(bus) else { throw CLIError(code: 64, message: "'\(bus)' is not host:port") }
            let interceptor: any ClientInterceptor
            if let keyFile {
                guard !service.isEmpty, service.utf8.count <= 64 else {
                    throw CLIError(code: 64, message: "--as needs a service name")
                }
                do {
                    interceptor = ServiceIdentity(name: service, key: try KeyFile.load(path: keyFile)).interceptor
                } catch {
                    throw CLIError(code: 64, message: "--key-file: \(error)")
                }
            } else if let token = token ?? ProcessInfo.processInfo.environment["RPCCTL_TOKEN"], !token.isEmpty {
                interceptor = BearerAuthorization { token }
            } else {
                throw CLIError(
                    code: 64,
                    message:
                        "the event bus needs a credential: --token <an admin's access token> (or $RPCCTL_TOKEN), or --key-file <data-dir>/keys/service-ed25519.key on the bus machine"
                )
            }
            return Broker.Client(RPCClient(endpoints: [endpoint], interceptors: [interceptor]))
        }
    }

    struct Publish: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract:
                "Publish one event; the payload is the JSON given (type application/json) unless --type says otherwise."
        )

        @Argument(help: "The exchange, e.g. order_events.")
        var exchange: String

        @Argument(help: "The routing key, e.g. order.created.")
        var routingKey: String

        @Option(name: [.customShort("d"), .customLong("data")], help: "The payload: JSON text, or @file.")
        var data: String = "{}"

        @Option(help: "The payload's type name.")
        var type = "application/json"

        @OptionGroup var options: BusOptions

        func run() async throws {
            try await runReporting {
                let bus = try options.client()
                var payload = Array(data.utf8)
                if data.hasPrefix("@") {
                    guard let contents = FileManager.default.contents(atPath: String(data.dropFirst())) else {
                        throw CLIError(code: 64, message: "cannot read \(data.dropFirst())")
                    }
                    payload = [UInt8](contents)
                }
                let id = UUID().uuidString.lowercased()
                let response = try await bus.publish(
                    PublishRequest(events: [
                        Event(
                            id: id,
                            exchange: exchange,
                            routingKey: routingKey,
                            type: type,
                            payload: payload,
                            publishedAt: ProtoTimestamp(seconds: Int64(Date().timeIntervalSince1970))
                        )
                    ])
                )
                print(
                    response.unroutable == 0
                        ? "published \(id)" : "published \(id) (no queue is bound to it: unroutable)"
                )
            }
        }
    }

    struct Queues: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "List queues: depth, age of the oldest waiting event, unacked, consumers, dead-lettered, limits."
        )

        @OptionGroup var options: BusOptions

        func run() async throws {
            try await runReporting {
                let inspected = try await options.client().inspect(InspectRequest())
                let widths = [40, 7, 10, 7, 9, 6, 17]
                func row(_ cells: [String], _ rest: String) -> String {
                    zip(cells, widths).map { $0.padding(toLength: max($1, $0.count), withPad: " ", startingAt: 0) }
                        .joined(separator: "  ")
                        + "  " + rest
                }
                print(row(["QUEUE", "DEPTH", "OLDEST", "UNACKED", "CONSUMERS", "DEAD", "LIMITS"], "BINDINGS"))
                for q in inspected.queues {
                    var limits: [String] = []
                    if q.maxLength > 0 { limits.append("max \(q.maxLength)") }
                    if q.messageTtlMs > 0 { limits.append("ttl \(Events.age(UInt64(q.messageTtlMs)))") }
                    let cells = [
                        q.name, String(q.depth), q.depth == 0 ? "-" : Events.age(q.oldestAgeMs), String(q.unacked),
                        String(q.consumers),
                        String(q.deadLettered), limits.isEmpty ? "-" : limits.joined(separator: ","),
                    ]
                    print(row(cells, q.bindings.joined(separator: ", ")))
                }
                print("unroutable events: \(inspected.unroutable)")
            }
        }
    }

    /// A duration in milliseconds, short: 850ms, 12s, 5m, 3h, 2d.
    static func age(_ milliseconds: UInt64) -> String {
        switch milliseconds {
        case ..<1000: return "\(milliseconds)ms"
        case ..<120_000: return "\(milliseconds / 1000)s"
        case ..<7_200_000: return "\(milliseconds / 60_000)m"
        case ..<172_800_000: return "\(milliseconds / 3_600_000)h"
        default: return "\(milliseconds / 86_400_000)d"
        }
    }

    /// Writes a parsed JSON value compactly (one line).
    static func write(_ value: JSONValue, to writer: inout JSONWriter) { value.write(to: &writer) }
}
