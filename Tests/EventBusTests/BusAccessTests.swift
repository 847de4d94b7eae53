import Crypto
@testable import EventBus
import Foundation
import ProtoRuntime
import RPC
import RPCSchema
import ServiceKit
import TestSupport
import Testing

/// Who may do what on the bus: every call carries a verified identity, the topology's
/// permissions decide, and deliveries carry the publisher the bus verified.
@Suite("Bus access: identities, permissions, publisher stamps")
struct BusAccessTests {
    /// A bus (standard topology) whose data directory also holds an auth key, so admins' and
    /// users' access tokens can be made; `body` gets the endpoint and the directory.
    func withAccessBus(_ body: @Sendable (Endpoint, String) async throws -> Void) async throws {
        let dir = try makeTemporaryDirectory("bus-access")
        defer { try? FileManager.default.removeItem(at: dir) }
        _ = try KeyFile.loadOrCreate(path: ServiceKeys.authKeyPath(dataDirectory: dir.path))
        let bus = try await EventBusServer.make(dataDirectory: dir.path, configuration: ServerConfiguration())
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await bus.run() }
            defer { group.cancelAll() }
            try await body(Endpoint(host: "127.0.0.1", port: try await bus.server.localPort), dir.path)
        }
    }

    func accessToken(_ dir: String, user: Int, role: Int, key: Curve25519.Signing.PrivateKey? = nil) throws -> String {
        let signing = try key ?? KeyFile.load(path: ServiceKeys.authKeyPath(dataDirectory: dir))
        let now = Int64(Date().timeIntervalSince1970)
        return try JWT.sign(
            TokenClaims(sub: String(user), role: role, iat: now, exp: now + 600, jti: UUID().uuidString, use: "access"),
            key: signing,
            keyID: KeyFile.keyID(signing.publicKey)
        )
    }

    func client(_ endpoint: Endpoint, token: String?) -> Broker.Client {
        struct Bearer: ClientInterceptor {
            let token: String
            func intercept(
                method: MethodDescriptor,
                options: CallOptions,
                next: @Sendable (CallOptions) async throws -> Void
            ) async throws {
                var options = options
                options.metadata.add("authorization", "Bearer \(token)")
                try await next(options)
            }
        }
        return Broker.Client(RPCClient(endpoints: [endpoint], interceptors: token.map { [Bearer(token: $0)] } ?? []))
    }

    func event(_ id: String, _ exchange: String, _ key: String, publisher: String = "") -> Event {
        Event(id: id, exchange: exchange, routingKey: key, type: "test", payload: [1], publisher: publisher)
    }

    /// Takes one delivery from `queue` and acks it.
    func receive(_ bus: Broker.Client, _ queue: String) async throws -> Delivery? {
        try await bus.subscribe { writer, deliveries in
            try await writer.write(SubscribeRequest(kind: .subscribe(.init(queue: queue, prefetch: 1))))
            var iterator = deliveries.makeAsyncIterator()
            let delivery = try await iterator.next()
            if let delivery {
                try await writer.write(SubscribeRequest(kind: .ack(.init(deliveryTags: [delivery.deliveryTag]))))
            }
            writer.finish()
            return delivery
        }
    }

    @Test(
        "no credential, a garbage one, a foreign key, a service token of another data directory: UNAUTHENTICATED for every call"
    )
    func anonymous() async throws {
        try await withAccessBus { endpoint, dir in
            let foreign = Curve25519.Signing.PrivateKey()
            let tokens: [String?] = [
                nil, "garbage", try accessToken(dir, user: 1, role: 3, key: foreign),
                try ServiceIdentity(name: "payments", key: foreign).token(),
            ]
            for token in tokens {
                let bus = client(endpoint, token: token)
                let publish = await code {
                    _ = try await bus.publish(
                        PublishRequest(events: [event("x", "payment_events", "payment.completed")])
                    )
                }
                let declare = await code { _ = try await bus.declareQueue(DeclareQueueRequest(name: "stolen")) }
                let bind = await code {
                    _ = try await bus.bind(BindRequest(queue: "users.events", exchange: "order_events", pattern: "#"))
                }
                let consume = await code { _ = try await receive(bus, "users.events") }
                let inspect = await code { _ = try await bus.inspect(InspectRequest()) }
                for (name, code) in [
                    ("publish", publish), ("declare", declare), ("bind", bind), ("consume", consume),
                    ("inspect", inspect),
                ] {
                    #expect(code == .unauthenticated, "\(name) with \(token ?? "no token")")
                }
                await bus.client.close()
            }
            // Nothing reached the queues.
            let admin = client(endpoint, token: try accessToken(dir, user: 1, role: 3))
            #expect(try await admin.inspect(InspectRequest()).queues.allSatisfy { $0.depth == 0 })
            #expect(!(try await admin.inspect(InspectRequest()).queues.contains { $0.name == "stolen" }))
            await admin.client.close()
        }
    }

    @Test("a customer's or provider's token is PERMISSION_DENIED; an admin's may do everything")
    func users() async throws {
        try await withAccessBus { endpoint, dir in
            for role in [1, 2] {
                let bus = client(endpoint, token: try accessToken(dir, user: 7, role: role))
                #expect(await code { _ = try await bus.inspect(InspectRequest()) } == .permissionDenied)
                #expect(
                    await code {
                        _ = try await bus.publish(PublishRequest(events: [event("x", "order_events", "order.created")]))
                    } == .permissionDenied
                )
                await bus.client.close()
            }
            let admin = client(endpoint, token: try accessToken(dir, user: 1, role: 3))
            #expect(try await admin.declareQueue(DeclareQueueRequest(name: "audit")).created)
            #expect(try await admin.bind(BindRequest(queue: "audit", exchange: "payment_events", pattern: "#")).created)
            _ = try await admin.publish(
                PublishRequest(events: [
                    event("a1", "payment_events", "payment.completed", publisher: "service:payments")
                ])
            )
            let delivery = try await receive(admin, "audit")
            #expect(delivery?.event?.publisher == "admin:1", "stamped with the verified identity, not the claimed one")
            #expect(try await admin.inspect(InspectRequest()).queues.count >= 6, "admins see every queue")
            await admin.client.close()
        }
    }

    @Test(
        "a service may publish to its own exchange and consume its own queue, nothing else; its events carry its name"
    )
    func services() async throws {
        try await withAccessBus { endpoint, dir in
            let orders = try busClient(endpoint, dataDirectory: dir, as: "orders")
            let denied: [(String, RPCCode?)] = [
                (
                    "publish to payment_events",
                    await code {
                        _ = try await orders.publish(
                            PublishRequest(events: [event("f", "payment_events", "payment.completed")])
                        )
                    }
                ),
                (
                    "publish a batch with one foreign event",
                    await code {
                        _ = try await orders.publish(
                            PublishRequest(events: [
                                event("ok", "order_events", "order.created"),
                                event("f", "auth_events", "user.deactivated"),
                            ])
                        )
                    }
                ),
                ("consume users.events", await code { _ = try await receive(orders, "users.events") }),
                (
                    "declare a queue",
                    await code { _ = try await orders.declareQueue(DeclareQueueRequest(name: "mine")) }
                ),
                (
                    "declare an exchange",
                    await code {
                        _ = try await orders.declareExchange(DeclareExchangeRequest(name: "x", type: "topic"))
                    }
                ),
                (
                    "bind its feed to order_events",
                    await code {
                        _ = try await orders.declareQueue(
                            DeclareQueueRequest(name: "revocations.orders.t1", autoDelete: true)
                        )
                        _ = try await orders.bind(
                            BindRequest(queue: "revocations.orders.t1", exchange: "payment_events", pattern: "#")
                        )
                    }
                ),
                (
                    "bind users.events",
                    await code {
                        _ = try await orders.bind(
                            BindRequest(queue: "users.events", exchange: "auth_events", pattern: "#")
                        )
                    }
                ),
            ]
            for (what, code) in denied { #expect(code == .permissionDenied, "orders may not \(what)") }
            // Nothing of the refused batch was stored (all or nothing).
            let admin = try busClient(endpoint, dataDirectory: dir)
            #expect(
                try await admin.inspect(InspectRequest()).queues.first { $0.name == "notifications.events" }?.depth == 0
            )

            // What it needs works: its revocation feed, its own exchange, its own queue.
            #expect(
                try await orders.declareQueue(DeclareQueueRequest(name: "revocations.orders.t2", autoDelete: true))
                    .created
            )
            #expect(
                try await orders.bind(
                    BindRequest(queue: "revocations.orders.t2", exchange: "auth_events", pattern: "token.revoked")
                ).created
            )
            _ = try await orders.publish(
                PublishRequest(events: [event("o1", "order_events", "order.created", publisher: "service:payments")])
            )
            let payments = try busClient(endpoint, dataDirectory: dir, as: "payments")
            _ = try await payments.publish(PublishRequest(events: [event("p1", "payment_events", "payment.completed")]))
            let delivery = try await receive(orders, "orders.events")
            #expect(delivery?.event?.id == "p1")
            #expect(delivery?.event?.publisher == "service:payments")
            let notification = try await receive(admin, "notifications.events")
            #expect(notification?.event?.id == "o1")
            #expect(
                notification?.event?.publisher == "service:orders",
                "the claimed publisher is replaced by the verified one"
            )
            #expect(EventOwnership.accepts(notification?.event ?? Event()))
            var forged = notification?.event ?? Event()
            forged.exchange = "payment_events"
            #expect(
                !EventOwnership.accepts(forged),
                "an order service's event on the payments exchange is not accepted"
            )

            // It sees only its own queues.
            let names = try await orders.inspect(InspectRequest()).queues.map(\.name)
            #expect(
                Set(names).isSubset(of: ["orders.events", "revocations.orders.t1", "revocations.orders.t2"]),
                "\(names)"
            )
            #expect(names.contains("orders.events"))
            for client in [orders, payments, admin] { await client.client.close() }
        }
    }

    @Test(
        "a service's own queues: only temporary ones, bounded, at most 64, and consumable only with the credential that declared them"
    )
    func serviceQueues() async throws {
        try await withAccessBus { endpoint, dir in
            let orders = try busClient(endpoint, dataDirectory: dir, as: "orders")
            #expect(
                await code {
                    _ = try await orders.declareQueue(DeclareQueueRequest(name: "revocations.orders.durable"))
                } == .permissionDenied
            )
            #expect(
                try await orders.declareQueue(DeclareQueueRequest(name: "revocations.orders.feed", autoDelete: true))
                    .created
            )
            let admin = try busClient(endpoint, dataDirectory: dir)
            let feed = try await admin.inspect(InspectRequest()).queues.first { $0.name == "revocations.orders.feed" }
            #expect(
                feed?.maxLength == UInt32(BrokerService.serviceQueueLength),
                "a service's queue is bounded even when it asks for no limit"
            )
            // Another holder of the same permissions (another token of the same service) cannot drain it.
            let thief = try busClient(endpoint, dataDirectory: dir, as: "orders")
            #expect(await code { _ = try await receive(thief, "revocations.orders.feed") } == .permissionDenied)
            for i in 1..<BrokerService.serviceQueueQuota {
                _ = try await orders.declareQueue(
                    DeclareQueueRequest(name: "revocations.orders.q\(i)", autoDelete: true)
                )
            }
            #expect(
                await code {
                    _ = try await orders.declareQueue(
                        DeclareQueueRequest(name: "revocations.orders.more", autoDelete: true)
                    )
                } == .resourceExhausted
            )
            for client in [orders, admin, thief] { await client.client.close() }
        }
    }

    @Test("a queue that dead-letters into itself, or round a cycle, is refused; bindings per queue are bounded")
    func cycles() async throws {
        let dir = try makeTemporaryDirectory("bus-cycles")
        defer { try? FileManager.default.removeItem(at: dir) }
        try await withBus(in: dir) { bus in
            #expect(
                await code {
                    _ = try await bus.declareQueue(
                        DeclareQueueRequest(name: "self", deadLetterQueue: "self", maxLength: 1)
                    )
                } == .invalidArgument
            )
            // a → b (made as a's dead-letter queue) → b.dead: declaring b.dead to dead-letter into a closes a cycle.
            _ = try await bus.declareQueue(DeclareQueueRequest(name: "a", deadLetterQueue: "b"))
            #expect(
                await code { _ = try await bus.declareQueue(DeclareQueueRequest(name: "b.dead", deadLetterQueue: "a")) }
                    == .invalidArgument
            )
            for i in 0..<BrokerCore.maximumBindingsPerQueue {
                _ = try await bus.bind(BindRequest(queue: "a", exchange: "order_events", pattern: "k\(i)"))
            }
            #expect(
                await code {
                    _ = try await bus.bind(BindRequest(queue: "a", exchange: "order_events", pattern: "one.more"))
                } == .resourceExhausted
            )
        }
    }

    @Test(
        "queue limits: past max_length the oldest go to the dead-letter queue; past the TTL they do too; inspect shows ages"
    )
    func limits() async throws {
        let dir = try makeTemporaryDirectory("bus-limits")
        defer { try? FileManager.default.removeItem(at: dir) }
        try await withBus(in: dir) { bus in
            _ = try await bus.declareQueue(DeclareQueueRequest(name: "short", maxLength: 3))
            _ = try await bus.bind(BindRequest(queue: "short", exchange: "order_events", pattern: "short.#"))
            for i in 1...5 {
                _ = try await bus.publish(PublishRequest(events: [event("s\(i)", "order_events", "short.x")]))
            }
            let queues = try await bus.inspect(InspectRequest()).queues
            let short = queues.first { $0.name == "short" }
            #expect(short?.depth == 3)
            #expect(short?.maxLength == 3)
            #expect(short?.deadLettered == 2)
            #expect(queues.first { $0.name == "short.dead" }?.depth == 2)
            #expect(try await receive(bus, "short")?.event?.id == "s3", "the oldest were pushed out (drop-head)")
            #expect(try await receive(bus, "short.dead")?.event?.id == "s1")

            _ = try await bus.declareQueue(DeclareQueueRequest(name: "brief", messageTtlMs: 200))
            _ = try await bus.bind(BindRequest(queue: "brief", exchange: "order_events", pattern: "brief.#"))
            _ = try await bus.publish(PublishRequest(events: [event("b1", "order_events", "brief.x")]))
            #expect(
                try await eventually(timeout: .seconds(60)) {
                    let all = try await bus.inspect(InspectRequest()).queues
                    return all.first { $0.name == "brief" }?.depth == 0
                        && all.first { $0.name == "brief.dead" }?.depth == 1
                },
                "expired into the dead-letter queue"
            )
            #expect(
                try await bus.inspect(InspectRequest()).queues.first { $0.name == "brief.dead" }?.oldestAgeMs ?? 0
                    >= 200
            )
        }
    }

    @Test("the number of queues is bounded; a declaration past it is RESOURCE_EXHAUSTED")
    func queueCount() async throws {
        let dir = try makeTemporaryDirectory("bus-count")
        defer { try? FileManager.default.removeItem(at: dir) }
        let core = try await BrokerCore(
            store: try BrokerStore(path: dir.appendingPathComponent("bus.sqlite").path),
            maximumQueues: 6
        )
        _ = try await core.declareQueue(.init(name: "a"))  // and a.dead
        _ = try await core.declareQueue(.init(name: "b"))
        _ = try await core.declareQueue(.init(name: "c"))
        await #expect(throws: BrokerError.limitExceeded("the bus holds 6 queues, its maximum is 6")) {
            _ = try await core.declareQueue(.init(name: "d"))
        }
        #expect(BrokerError.limitExceeded("x").rpcError == RPCError(code: .resourceExhausted, message: "x"))
    }

    @Test("permissions in a topology file: checked, and they replace the standard grants")
    func topologyPermissions() throws {
        let dir = try makeTemporaryDirectory("bus-perm")
        defer { try? FileManager.default.removeItem(at: dir) }
        func load(_ text: String) throws -> BusTopology {
            let path = dir.appendingPathComponent("t.json").path
            try Data(text.utf8).write(to: URL(fileURLWithPath: path))
            return try BusTopology.load(path: path)
        }
        let topology = try load(
            #"{"exchanges": ["e"], "queues": [{"name": "q", "maxLength": 10, "messageTtlMs": 1000, "bindings": []}], "permissions": [{"identity": "service:x", "configure": [], "write": ["e"], "read": ["q"]}]}"#
        )
        let access = BusAccess(topology.permissions ?? [])
        let x = BusIdentity(Caller(kind: .service, subject: "x"))
        #expect(x.map { access.allows($0, .write, "e") } == true)
        #expect(x.map { access.allows($0, .read, "e") } == false)
        #expect(topology.queues.first?.settings.maxLength == 10)
        #expect(BusIdentity(Caller(kind: .user, subject: "3", roles: ["customer"])) == nil)
        #expect(throws: BusTopologyError.self) {
            _ = try load(
                #"{"exchanges": [], "queues": [], "permissions": [{"identity": "nobody", "configure": [], "write": [], "read": []}]}"#
            )
        }
        #expect(throws: BusTopologyError.self) {
            _ = try load(
                #"{"exchanges": [], "queues": [], "permissions": [{"identity": "admin", "configure": ["a*b"], "write": [], "read": []}]}"#
            )
        }
        #expect(throws: BusTopologyError.self) {
            _ = try load(#"{"exchanges": [], "queues": [{"name": "q", "maxLength": -1, "bindings": []}]}"#)
        }
    }
}
