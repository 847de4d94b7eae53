import Foundation
public import Logging
import NIOConcurrencyHelpers
import NIOCore
public import ProtoRuntime
public import RPC
import RPCSchema
public import ServiceLifecycle

/// `rpc.v1.Broker` over ``BrokerCore``.
///
/// Every call needs an identity (`context.caller`, filled by the server's authenticating
/// interceptor): without one it is UNAUTHENTICATED. What the identity may do is `access` (the
/// topology's permissions); what it publishes is stamped with it.
public struct BrokerService: Broker.Handler {
    let core: BrokerCore
    let access: BusAccess
    /// A subscriber's prefetch is capped here (credit a peer can make the bus hold for it).
    public static let maximumPrefetch = 10_000
    /// Queues a service (not an operator) may hold at once, and their length limit.
    public static let serviceQueueQuota = 64
    public static let serviceQueueLength = 10_000

    public init(core: BrokerCore, access: BusAccess = BusAccess(BusPermission.standard)) {
        self.core = core
        self.access = access
    }

    /// The caller's bus identity, or UNAUTHENTICATED / PERMISSION_DENIED.
    static func identity(_ context: ServerContext) throws -> BusIdentity {
        guard let caller = context.caller else {
            throw RPCError(
                code: .unauthenticated,
                message:
                    "the event bus needs a credential: a service token, or an admin's access token ('authorization: Bearer …')"
            )
        }
        guard let identity = BusIdentity(caller) else {
            throw RPCError(
                code: .permissionDenied,
                message: "the event bus serves the system's services and admins only"
            )
        }
        return identity
    }

    public func publish(_ request: PublishRequest, context: ServerContext) async throws -> PublishResponse {
        let identity = try BrokerService.identity(context)
        let received = BrokerStore.nowMicros()
        let events = try request.events.map { event in
            try access.check(identity, .write, "exchange", event.exchange)
            var micros = Int64(Date().timeIntervalSince1970 * 1_000_000)
            if let time = event.publishedAt {
                // Years 0001-9999 only (a wire value could overflow the conversion).
                guard (-62_135_596_800...253_402_300_799).contains(time.seconds),
                    (0..<1_000_000_000).contains(time.nanos)
                else {
                    throw RPCError(code: .invalidArgument, message: "event '\(event.id)': published_at is out of range")
                }
                micros = time.seconds * 1_000_000 + Int64(time.nanos / 1000)
            }
            return BrokerStore.StoredEvent(
                id: event.id.isEmpty ? UUID().uuidString : event.id,
                exchange: event.exchange,
                routingKey: event.routingKey,
                type: event.type,
                payload: event.payload,
                publishedAtMicros: micros,
                headers: EventHeaders(values: event.headers).serializedBytes(),
                publisher: identity.publisher,
                receivedAtMicros: received
            )
        }
        let unroutable = try await core.publish(events)
        return PublishResponse(unroutable: UInt32(unroutable))
    }

    public func declareExchange(_ request: DeclareExchangeRequest, context: ServerContext) async throws
        -> DeclareExchangeResponse
    {
        guard !request.name.isEmpty else { throw RPCError(code: .invalidArgument, message: "an exchange needs a name") }
        let identity = try BrokerService.identity(context)
        try access.check(identity, .configure, "exchange", request.name)
        guard access.isOperator(identity) else {
            throw RPCError(
                code: .permissionDenied,
                message: "\(identity) may not declare exchanges (the topology and operators do)"
            )
        }
        let created = try await core.declareExchange(request.name, type: request.type.isEmpty ? "topic" : request.type)
        return DeclareExchangeResponse(created: created)
    }

    public func declareQueue(_ request: DeclareQueueRequest, context: ServerContext) async throws
        -> DeclareQueueResponse
    {
        guard !request.name.isEmpty else { throw RPCError(code: .invalidArgument, message: "a queue needs a name") }
        let identity = try BrokerService.identity(context)
        try access.check(identity, .configure, "queue", request.name)
        if !request.deadLetterQueue.isEmpty { try access.check(identity, .configure, "queue", request.deadLetterQueue) }
        var settings = BrokerStore.QueueSettings(
            name: request.name,
            maxDeliveries: request.maxDeliveries == 0 ? 5 : Int(request.maxDeliveries),
            deadLetterQueue: request.deadLetterQueue,
            ackTimeoutMilliseconds: request.ackTimeoutMs == 0 ? 30_000 : Int(request.ackTimeoutMs),
            autoDelete: request.autoDelete,
            maxLength: Int(request.maxLength),
            messageTTLMilliseconds: Int(request.messageTtlMs)
        )
        if access.isOperator(identity) {
            return DeclareQueueResponse(created: try await core.declareQueue(settings))
        }
        // A service's own queues are temporary, bounded, few, and consumed only with the
        // credential that declared them (another holder of its permissions cannot drain them).
        guard request.autoDelete else {
            throw RPCError(
                code: .permissionDenied,
                message:
                    "\(identity) may declare only temporary (auto_delete) queues; durable ones come from the topology"
            )
        }
        if settings.maxLength == 0 || settings.maxLength > BrokerService.serviceQueueLength {
            settings.maxLength = BrokerService.serviceQueueLength
        }
        let credential = context.caller?.tokenID
        return DeclareQueueResponse(
            created: try await core.declareQueue(
                settings,
                owner: identity.publisher,
                exclusiveTo: credential,
                quota: BrokerService.serviceQueueQuota
            )
        )
    }

    public func bind(_ request: BindRequest, context: ServerContext) async throws -> BindResponse {
        let identity = try BrokerService.identity(context)
        try access.check(identity, .write, "queue", request.queue)
        try access.check(identity, .read, "exchange", request.exchange)
        return BindResponse(
            created: try await core.bind(queue: request.queue, exchange: request.exchange, pattern: request.pattern)
        )
    }

    public func subscribe(
        _ requests: RequestStream<SubscribeRequest>,
        writer: ResponseWriter<Delivery>,
        context: ServerContext
    ) async throws {
        let core = self.core
        let identity = try BrokerService.identity(context)
        let access = self.access
        typealias Subscription = (id: UInt64, deliveries: AsyncStream<BrokerDelivery>)
        let (started, starting) = AsyncThrowingStream<Subscription, any Error>.makeStream()
        let subscribed = NIOLockedValueBox<UInt64?>(nil)
        do {
            try await withThrowingTaskGroup(of: Void.self) { group in
                // The reader owns the request stream: the subscribe message first, then acks and
                // nacks as they come. Deliveries go out from a second child task. The first of the
                // two to end ends the subscription.
                group.addTask {
                    var iterator = requests.makeAsyncIterator()
                    do {
                        guard case .subscribe(let subscribe)? = try await iterator.next()?.kind else {
                            throw RPCError(
                                code: .invalidArgument,
                                message: "the first message of a subscription must be 'subscribe'"
                            )
                        }
                        try access.check(identity, .read, "queue", subscribe.queue)
                        let prefetch =
                            subscribe.prefetch == 0 ? 100 : min(Int(subscribe.prefetch), BrokerService.maximumPrefetch)
                        let subscription = try await core.subscribe(
                            queue: subscribe.queue,
                            prefetch: prefetch,
                            credential: context.caller?.tokenID
                        )
                        subscribed.withLockedValue { $0 = subscription.id }
                        starting.yield(subscription)
                        starting.finish()
                    } catch {
                        starting.finish(throwing: error)
                        throw error
                    }
                    let id = subscribed.withLockedValue { $0 } ?? 0
                    while let request = try await iterator.next() {
                        switch request.kind {
                        case .ack(let ack)?: await core.ack(id, tags: ack.deliveryTags)
                        case .nack(let nack)?: try await core.nack(id, tags: nack.deliveryTags, requeue: nack.requeue)
                        default: throw RPCError(code: .invalidArgument, message: "'subscribe' may only be sent once")
                        }
                    }
                    // The subscriber half-closed: the subscription ends.
                }
                var waiting = started.makeAsyncIterator()
                guard let (_, deliveries) = try await waiting.next() else { return }
                group.addTask {
                    for await delivery in deliveries {
                        try await writer.write(
                            Delivery(
                                deliveryTag: delivery.tag,
                                event: BrokerService.wireEvent(delivery.event),
                                queue: delivery.queue,
                                deliveryCount: UInt32(clamping: delivery.deliveryCount)
                            )
                        )
                    }
                    // The broker ended the consumer: it is shutting down.
                    throw RPCError(code: .unavailable, message: "the event bus is shutting down")
                }
                try await group.next()
                group.cancelAll()
            }
        } catch {
            if let id = subscribed.withLockedValue({ $0 }) { await core.unsubscribe(id) }
            throw error
        }
        if let id = subscribed.withLockedValue({ $0 }) { await core.unsubscribe(id) }
    }

    static func wireEvent(_ event: BrokerStore.StoredEvent) -> Event {
        Event(
            id: event.id,
            exchange: event.exchange,
            routingKey: event.routingKey,
            type: event.type,
            payload: event.payload,
            // Floored, so a time before 1970 has nanos in 0..<1e9 as a Timestamp must.
            publishedAt: ProtoTimestamp(
                seconds: floorDivide(event.publishedAtMicros, 1_000_000),
                nanos: Int32(event.publishedAtMicros - floorDivide(event.publishedAtMicros, 1_000_000) * 1_000_000)
                    * 1000
            ),
            headers: (try? EventHeaders(serializedBytes: event.headers))?.values ?? [:],
            publisher: event.publisher
        )
    }

    /// What the caller may see: the queues it may consume or declare, every exchange.
    public func inspect(_ request: InspectRequest, context: ServerContext) async throws -> InspectResponse {
        let identity = try BrokerService.identity(context)
        let (exchanges, queues) = await core.inspect()
        return InspectResponse(
            exchanges: exchanges.sorted { $0.key < $1.key }.map {
                InspectResponse.Exchange(name: $0.key, type: $0.value)
            },
            queues: queues.filter {
                access.allows(identity, .read, $0.name) || access.allows(identity, .configure, $0.name)
            }.map {
                InspectResponse.Queue(
                    name: $0.name,
                    depth: UInt64($0.depth),
                    unacked: UInt64($0.unacked),
                    consumers: UInt32(clamping: $0.consumers),
                    deadLettered: UInt64($0.deadLettered),
                    bindings: $0.bindings,
                    oldestAgeMs: UInt64($0.oldestAgeMilliseconds),
                    maxLength: UInt32(clamping: $0.settings.maxLength),
                    messageTtlMs: UInt32(clamping: $0.settings.messageTTLMilliseconds)
                )
            },
            unroutable: UInt64((try? await core.store.unroutableCount()) ?? 0)
        )
    }
}

/// The bus as a process: the broker on its port, its topology declared, and the ack-timeout sweep.
///
/// On graceful shutdown it stops accepting connections and publishes (UNAVAILABLE), lets
/// consumers ack what they hold for up to the server's grace period, ends the subscriptions,
/// commits what is pending and closes the connections.
public struct EventBusServer: Service {
    public let server: RPCServer
    /// The broker behind the server.
    public let core: BrokerCore
    let grace: Duration

    /// Opens `<dataDirectory>/bus.sqlite` and declares `topology` (if absent).
    /// - Parameters:
    ///   - authenticator: the server interceptor that verifies each call's credential and fills
    ///     `context.caller` (ServiceKit's `BusAuthenticator`); calls it leaves without a caller
    ///     are refused (UNAUTHENTICATED).
    ///   - eventSchemas: the schemas of the events the bus carries, which its reflection
    ///     describes so that tools decode payloads by their type (`rpcctl events tail`).
    public static func make(
        dataDirectory: String,
        configuration: ServerConfiguration,
        topology: BusTopology = .exchangesOnly,
        authenticator: any ServerInterceptor,
        eventSchemas: [EmbeddedFileDescriptor] = [],
        logger: Logger = Logger(label: "eventbus")
    ) async throws -> EventBusServer {
        try FileManager.default.createDirectory(atPath: dataDirectory, withIntermediateDirectories: true)
        let core = try await BrokerCore(store: try BrokerStore(path: dataDirectory + "/bus.sqlite"))
        do {
            try await topology.declare(on: core)
        } catch let error as BrokerError {
            throw BusTopologyError(message: "cannot declare the bus topology: \(error)")
        }
        let server = RPCServer(
            services: [BrokerService(core: core, access: BusAccess(topology.permissions ?? BusPermission.standard))],
            configuration: configuration,
            interceptors: [authenticator],
            logger: logger,
            describing: eventSchemas
        )
        let grace = Duration.nanoseconds(configuration.shutdownGracePeriod.nanoseconds)
        return EventBusServer(server: server, core: core, grace: grace)
    }

    public func run() async throws {
        let core = self.core
        let grace = self.grace
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask {
                try await server.run(beforeDrain: { await core.shutdown(grace: grace) })
            }
            group.addTask {
                while !Task.isCancelled {
                    try await Task.sleep(for: .milliseconds(100))
                    await core.expireUnacked()
                }
            }
            try await group.next()
            group.cancelAll()
        }
    }
}

/// `a / b` rounded towards minus infinity (b > 0).
func floorDivide(_ a: Int64, _ b: Int64) -> Int64 {
    let quotient = a / b
    return (a % b < 0) ? quotient - 1 : quotient
}
