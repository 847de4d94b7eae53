import DequeModule
import Foundation

/// Errors the broker reports to callers (mapped to RPC statuses by the service).
public enum BrokerError: Error, Hashable, Sendable, CustomStringConvertible {
    case unknownExchange(String)
    case unknownQueue(String)
    case conflictingDeclaration(String)
    case unsupportedExchangeType(String)
    /// A routing key or pattern over ``TopicPattern/maximumLength`` bytes.
    case tooLong(String)
    case shuttingDown
    /// A bound of the broker's (queues, prefetch) would be exceeded.
    case limitExceeded(String)
    /// A declaration that cannot work (a queue dead-lettering into itself, directly or round a cycle).
    case invalidDeclaration(String)
    /// The queue is exclusive to the credential that declared it.
    case exclusiveQueue(String)

    public var description: String {
        switch self {
        case .unknownExchange(let name): return "unknown exchange '\(name)'"
        case .unknownQueue(let name): return "unknown queue '\(name)'"
        case .conflictingDeclaration(let what): return what
        case .unsupportedExchangeType(let type): return "exchange type '\(type)' is not supported (only 'topic')"
        case .tooLong(let what): return what
        case .shuttingDown: return "the event bus is shutting down"
        case .limitExceeded(let what), .invalidDeclaration(let what): return what
        case .exclusiveQueue(let name): return "queue '\(name)' is exclusive to the credential that declared it"
        }
    }
}

/// A delivery handed to a consumer.
public struct BrokerDelivery: Sendable, Hashable {
    public var tag: UInt64
    public var queue: String
    public var event: BrokerStore.StoredEvent
    /// 1 on the first delivery.
    public var deliveryCount: Int
}

/// The broker's live state: routing, queues, consumers with prefetch credit, unacked deliveries,
/// redelivery and dead-lettering. Durable state lives in ``BrokerStore``; after a restart every
/// stored entry is ready again (unacked deliveries are redelivered, as RabbitMQ does).
public actor BrokerCore {
    struct Entry: Hashable {
        var sequence: Int64
        var deliveryCount: Int
        /// When the bus received the event (µs since 1970; 0: unknown, never expires).
        var receivedAt: Int64 = 0
    }

    struct QueueState {
        var settings: BrokerStore.QueueSettings
        var ready = Deque<Entry>()
        var consumers: [UInt64] = []
        var nextConsumer = 0
        var deadLettered = 0
        /// A dispatch loop is running for this queue (it awaits the store, and the actor is
        /// reentrant: a second loop would hand out entries out of order).
        var dispatching = false
        /// Work arrived while the loop ran: it goes round once more.
        var dispatchAgain = false
        /// Who declared it, when not the topology or an operator (their queues count against a quota).
        var owner: String?
        /// Only a subscriber with this credential (token id) may consume it.
        var exclusiveTo: String?
    }

    struct Consumer {
        var queue: String
        var prefetch: Int
        var unacked: [UInt64: (entry: Entry, deadline: ContinuousClock.Instant)] = [:]
        var continuation: AsyncStream<BrokerDelivery>.Continuation
    }

    let store: BrokerStore
    let commit: GroupCommit
    /// At most this many queues (dead-letter queues included): declarations past it are refused.
    public let maximumQueues: Int
    /// At most this many bindings per queue.
    public static let maximumBindingsPerQueue = 256
    /// Declarations between their check and their commit (so concurrent ones cannot overshoot).
    var pendingDeclarations = 0
    var exchanges: [String: String] = [:]
    var queues: [String: QueueState] = [:]
    var bindings: [String: [(queue: String, pattern: TopicPattern)]] = [:]
    var consumers: [UInt64: Consumer] = [:]
    var nextConsumerID: UInt64 = 1
    var nextTag: UInt64 = 1
    /// Shutting down: publishes are refused and nothing new is delivered.
    var stopping = false
    /// Events published since start, with how many queue entries still hold them: deliveries
    /// need not read them back from the store (after a restart they are read once, as needed).
    var cached: [Int64: (event: BrokerStore.StoredEvent, holders: Int)] = [:]

    /// Loads the topology and every stored entry from `store`.
    public init(store: BrokerStore, maximumQueues: Int = 10_000) async throws {
        self.store = store
        self.maximumQueues = maximumQueues
        self.commit = GroupCommit(store: store)
        let topology = try await store.topology()
        exchanges = topology.exchanges
        for settings in topology.queues {
            // A temporary queue outlives its consumers only through a crash or a shutdown: it goes now.
            if settings.autoDelete {
                try await store.deleteQueue(settings.name)
                continue
            }
            var state = QueueState(settings: settings)
            for entry in try await store.entries(of: settings.name) {
                state.ready.append(
                    Entry(
                        sequence: entry.sequence,
                        deliveryCount: entry.deliveryCount,
                        receivedAt: entry.receivedAtMicros
                    )
                )
            }
            queues[settings.name] = state
        }
        for (queue, exchange, pattern) in topology.bindings where queues[queue] != nil {
            bindings[exchange, default: []].append((queue, TopicPattern(pattern)))
        }
    }

    // MARK: Topology

    /// Declares a topic exchange if absent; returns whether it was created.
    public func declareExchange(_ name: String, type: String = "topic") async throws -> Bool {
        guard type == "topic" else { throw BrokerError.unsupportedExchangeType(type) }
        if let existing = exchanges[name] {
            guard existing == type else {
                throw BrokerError.conflictingDeclaration("exchange '\(name)' exists with type '\(existing)'")
            }
            return false
        }
        try await store.saveExchange(name: name, type: type)
        exchanges[name] = type
        return true
    }

    /// Declares a queue if absent (and its dead-letter queue); returns whether it was created.
    /// - Parameters:
    ///   - applyingLimits: an existing queue takes `settings`' length and age limits (the
    ///     topology at start is their authority); its other settings must still agree.
    ///   - owner: the identity declaring it, when its queues are counted against `quota`.
    ///   - exclusiveTo: the credential (token id) that alone may consume it.
    public func declareQueue(
        _ settings: BrokerStore.QueueSettings,
        applyingLimits: Bool = false,
        owner: String? = nil,
        exclusiveTo: String? = nil,
        quota: Int = .max
    ) async throws -> Bool {
        if var existing = queues[settings.name]?.settings {
            if applyingLimits,
                existing.maxLength != settings.maxLength
                    || existing.messageTTLMilliseconds != settings.messageTTLMilliseconds
            {
                existing.maxLength = settings.maxLength
                existing.messageTTLMilliseconds = settings.messageTTLMilliseconds
                try await store.updateLimits(existing)
                queues[settings.name]?.settings = existing
                await enforceLength(settings.name)
            }
            guard existing == settings else {
                throw BrokerError.conflictingDeclaration(
                    "queue '\(settings.name)' exists with other settings (max deliveries \(existing.maxDeliveries), dead-letter queue '\(existing.deadLetterQueue)', ack timeout \(existing.ackTimeoutMilliseconds) ms)"
                )
            }
            return false
        }
        guard settings.deadLetterQueue != settings.name else {
            throw BrokerError.invalidDeclaration("queue '\(settings.name)' cannot be its own dead-letter queue")
        }
        // Nor round a cycle: follow the dead-letter queues from its own (iteratively, each once).
        var next = settings.deadLetterQueue
        var seen: Set<String> = []
        while let queue = queues[next], seen.insert(next).inserted {
            guard queue.settings.deadLetterQueue != settings.name else {
                throw BrokerError.invalidDeclaration("queue '\(settings.name)': its dead-letter queues lead back to it")
            }
            next = queue.settings.deadLetterQueue
        }
        guard queues.count + pendingDeclarations + 2 <= maximumQueues else {
            throw BrokerError.limitExceeded("the bus holds \(queues.count) queues, its maximum is \(maximumQueues)")
        }
        if let owner, queues.values.filter({ $0.owner == owner }).count >= quota {
            throw BrokerError.limitExceeded("\(owner) holds \(quota) queues, as many as it may")
        }
        pendingDeclarations += 1
        defer { pendingDeclarations -= 1 }
        try await store.saveQueue(settings)
        // The actor may have declared it meanwhile (reentrancy across the await): keep that one.
        if let existing = queues[settings.name]?.settings {
            guard existing == settings else {
                throw BrokerError.conflictingDeclaration(
                    "queue '\(settings.name)' was declared concurrently with other settings"
                )
            }
            return false
        }
        queues[settings.name] = QueueState(settings: settings, owner: owner, exclusiveTo: exclusiveTo)
        if queues[settings.deadLetterQueue] == nil, !settings.name.hasSuffix(".dead"), !settings.autoDelete {
            // As long as the queue it serves (a dead-letter queue nobody drains stays bounded too).
            let dead = BrokerStore.QueueSettings(
                name: settings.deadLetterQueue,
                maxDeliveries: Int.max / 2,
                maxLength: settings.maxLength
            )
            try await store.saveQueue(dead)
            if queues[dead.name] == nil { queues[dead.name] = QueueState(settings: dead) }
        }
        return true
    }

    /// Binds a queue to an exchange with a topic pattern; returns whether the binding is new.
    public func bind(queue: String, exchange: String, pattern: String) async throws -> Bool {
        guard exchanges[exchange] != nil else { throw BrokerError.unknownExchange(exchange) }
        guard queues[queue] != nil else { throw BrokerError.unknownQueue(queue) }
        if let problem = TopicPattern.lengthProblem(pattern, what: "the binding pattern") {
            throw BrokerError.tooLong(problem)
        }
        let existing = bindings.values.reduce(0) { $0 + $1.filter { $0.queue == queue }.count }
        if bindings[exchange, default: []].contains(where: { $0.queue == queue && $0.pattern.description == pattern }) {
            return false
        }
        guard existing < BrokerCore.maximumBindingsPerQueue else {
            throw BrokerError.limitExceeded(
                "queue '\(queue)' has \(existing) bindings, its maximum is \(BrokerCore.maximumBindingsPerQueue)"
            )
        }
        try await store.saveBinding(queue: queue, exchange: exchange, pattern: pattern)
        bindings[exchange, default: []].append((queue, TopicPattern(pattern)))
        return true
    }

    // MARK: Publishing

    /// Routes and stores events; returns once they are durable, with the number that matched no
    /// binding (those are confirmed and counted, not stored).
    public func publish(_ events: [BrokerStore.StoredEvent]) async throws -> Int {
        guard !stopping else { throw BrokerError.shuttingDown }
        var appends: [BrokerStore.Append] = []
        for event in events {
            guard exchanges[event.exchange] != nil else { throw BrokerError.unknownExchange(event.exchange) }
            if let problem = TopicPattern.lengthProblem(
                event.routingKey,
                what: "the routing key of event '\(event.id.prefix(64))'"
            ) {
                throw BrokerError.tooLong(problem)
            }
            var matched: [String] = []
            for binding in bindings[event.exchange] ?? [] where binding.pattern.matches(event.routingKey) {
                if !matched.contains(binding.queue) { matched.append(binding.queue) }
            }
            appends.append(BrokerStore.Append(event: event, queues: matched))
        }
        let sequences = try await commit.append(appends)
        var touched: Set<String> = []
        for (append, sequence) in zip(appends, sequences) {
            guard let sequence else { continue }
            var event = append.event
            event.sequence = sequence
            // A queue deleted during the commit (a temporary queue whose last consumer left)
            // holds nothing: its stored entry goes with the next commit.
            let living = append.queues.filter { queues[$0] != nil }
            for gone in append.queues where queues[gone] == nil {
                commit.acknowledge(queue: gone, sequences: [sequence])
            }
            guard !living.isEmpty else { continue }
            cached[sequence] = (event, living.count)
            for queue in living {
                queues[queue]?.ready.append(
                    Entry(sequence: sequence, deliveryCount: 0, receivedAt: event.receivedAtMicros)
                )
                touched.insert(queue)
            }
        }
        for queue in touched { await enforceLength(queue) }
        for queue in touched { await dispatch(queue) }
        return sequences.filter { $0 == nil }.count
    }

    // MARK: Consuming

    /// Starts a consumer of `queue` with `prefetch` credit; its deliveries arrive on the stream.
    /// - Parameter credential: the subscriber's token id (an exclusive queue admits only its declarer's).
    public func subscribe(queue: String, prefetch: Int, credential: String? = nil) async throws -> (
        id: UInt64, deliveries: AsyncStream<BrokerDelivery>
    ) {
        guard !stopping else { throw BrokerError.shuttingDown }
        guard let state = queues[queue] else { throw BrokerError.unknownQueue(queue) }
        if let exclusive = state.exclusiveTo, exclusive != credential { throw BrokerError.exclusiveQueue(queue) }
        let (stream, continuation) = AsyncStream<BrokerDelivery>.makeStream()
        let id = nextConsumerID
        nextConsumerID += 1
        consumers[id] = Consumer(queue: queue, prefetch: max(1, prefetch), continuation: continuation)
        queues[queue]?.consumers.append(id)
        await dispatch(queue)
        return (id, stream)
    }

    /// Ends a consumer: what it had not acked goes back to the front of the queue, in order.
    public func unsubscribe(_ id: UInt64) async {
        guard let consumer = consumers.removeValue(forKey: id) else { return }
        consumer.continuation.finish()
        queues[consumer.queue]?.consumers.removeAll { $0 == id }
        if let queue = queues[consumer.queue], queue.settings.autoDelete, queue.consumers.isEmpty {
            // A temporary queue (rpcctl events tail) goes with its last consumer.
            for entry in queue.ready { release(entry.sequence) }
            for (_, held) in consumer.unacked { release(held.entry.sequence) }
            queues.removeValue(forKey: consumer.queue)
            for exchange in bindings.keys { bindings[exchange]?.removeAll { $0.queue == consumer.queue } }
            try? await store.deleteQueue(consumer.queue)
            return
        }
        let returned = consumer.unacked.values.map(\.entry).sorted { $0.sequence < $1.sequence }
        for entry in returned.reversed() { queues[consumer.queue]?.ready.prepend(entry) }
        await dispatch(consumer.queue)
    }

    /// Acknowledges deliveries: their entries are deleted (and the events, once no queue holds
    /// them) with the next commit. An ack is not confirmed: one lost in a crash means a redelivery.
    public func ack(_ id: UInt64, tags: [UInt64]) async {
        guard var consumer = consumers[id] else { return }
        var sequences: [Int64] = []
        for tag in tags {
            if let entry = consumer.unacked.removeValue(forKey: tag)?.entry { sequences.append(entry.sequence) }
        }
        consumers[id] = consumer
        for sequence in sequences { release(sequence) }
        commit.acknowledge(queue: consumer.queue, sequences: sequences)
        await dispatch(consumer.queue)
    }

    /// Rejects deliveries: requeued at the front (to be delivered again), or dead-lettered now.
    public func nack(_ id: UInt64, tags: [UInt64], requeue: Bool) async throws {
        guard var consumer = consumers[id] else { return }
        var entries: [Entry] = []
        for tag in tags {
            if let entry = consumer.unacked.removeValue(forKey: tag)?.entry { entries.append(entry) }
        }
        consumers[id] = consumer
        let ordered = entries.sorted(by: { $0.sequence > $1.sequence })
        for (index, entry) in ordered.enumerated() {
            if requeue {
                queues[consumer.queue]?.ready.prepend(entry)
                continue
            }
            do {
                try await deadLetter(entry, from: consumer.queue)
            } catch {
                // Not moved: this one and the rest go back to the front, to be delivered again.
                for rest in ordered[index...] { queues[consumer.queue]?.ready.prepend(rest) }
                await dispatch(consumer.queue)
                throw error
            }
        }
        await dispatch(consumer.queue)
    }

    /// Requeues deliveries whose ack timeout passed and retries stalled dispatches (called
    /// periodically by the server).
    public func expireUnacked(now: ContinuousClock.Instant = .now) async {
        var touched: Set<String> = []
        var returned: [String: [Entry]] = [:]
        for (id, var consumer) in consumers {
            let expired = consumer.unacked.filter { $0.value.deadline <= now }
            guard !expired.isEmpty else { continue }
            for (tag, value) in expired {
                consumer.unacked.removeValue(forKey: tag)
                returned[consumer.queue, default: []].append(value.entry)
            }
            consumers[id] = consumer
            touched.insert(consumer.queue)
        }
        // Back to the front of each queue in sequence order, whichever consumers held them.
        for (queue, entries) in returned {
            for entry in entries.sorted(by: { $0.sequence > $1.sequence }) { queues[queue]?.ready.prepend(entry) }
        }
        // Events waiting longer than their queue's age limit go to the dead-letter queue.
        let wall = BrokerStore.nowMicros()
        for (name, queue) in queues where queue.settings.messageTTLMilliseconds > 0 {
            let limit = Int64(queue.settings.messageTTLMilliseconds) * 1000
            while let first = queues[name]?.ready.first, first.receivedAt > 0, wall - first.receivedAt > limit {
                queues[name]?.ready.removeFirst()
                do { try await deadLetter(first, from: name) } catch {
                    queues[name]?.ready.prepend(first)
                    break
                }
            }
        }
        // Also any queue whose dispatch stopped on a store error: this sweep retries it.
        for (name, queue) in queues where !queue.ready.isEmpty && !queue.consumers.isEmpty { touched.insert(name) }
        for queue in touched { await dispatch(queue) }
    }

    /// Pushes the oldest ready events of a queue over its length limit to its dead-letter queue
    /// (drop-head, as RabbitMQ's default overflow).
    func enforceLength(_ name: String) async {
        guard let limit = queues[name]?.settings.maxLength, limit > 0 else { return }
        while let count = queues[name]?.ready.count, count > limit, let oldest = queues[name]?.ready.popFirst() {
            do { try await deadLetter(oldest, from: name) } catch {
                queues[name]?.ready.prepend(oldest)
                return
            }
        }
    }

    /// A dead-letter queue over its length limit drops its oldest (counted as dead-lettered; no
    /// further chain, so dead-lettering never recurses).
    func dropOverflow(_ name: String) {
        guard let limit = queues[name]?.settings.maxLength, limit > 0 else { return }
        while let count = queues[name]?.ready.count, count > limit, let oldest = queues[name]?.ready.popFirst() {
            queues[name]?.deadLettered += 1
            release(oldest.sequence)
            commit.acknowledge(queue: name, sequences: [oldest.sequence])
        }
    }

    func deadLetter(_ entry: Entry, from queue: String) async throws {
        guard let settings = queues[queue]?.settings else { return }
        // The cache keeps payloads for deliveries to come; a dead-lettered one is read back from
        // the store if anyone consumes the dead-letter queue.
        defer { release(entry.sequence) }
        guard queues[settings.deadLetterQueue] != nil, settings.deadLetterQueue != queue else {
            // No dead-letter queue (a temporary queue, or a dead-letter queue itself): dropped.
            queues[queue]?.deadLettered += 1
            commit.acknowledge(queue: queue, sequences: [entry.sequence])
            return
        }
        // Acks waiting in the group commit first, so the move sees the dead-letter queue as it is.
        try await commit.flush()
        let moved = try await store.deadLetter(queue: queue, sequence: entry.sequence, to: settings.deadLetterQueue)
        queues[queue]?.deadLettered += 1
        // Already there (another queue dead-lettered the same event into it): one copy is enough.
        guard moved else { return }
        queues[settings.deadLetterQueue]?.ready.append(
            Entry(sequence: entry.sequence, deliveryCount: 0, receivedAt: entry.receivedAt)
        )
        dropOverflow(settings.deadLetterQueue)
        await dispatch(settings.deadLetterQueue)
    }

    /// Hands ready entries to consumers with credit, round-robin; an entry delivered too often
    /// goes to the dead-letter queue instead.
    func dispatch(_ queueName: String) async {
        guard var state = queues[queueName] else { return }
        if state.dispatching {
            state.dispatchAgain = true
            queues[queueName] = state
            return
        }
        state.dispatching = true
        queues[queueName] = state
        repeat {
            queues[queueName]?.dispatchAgain = false
            await dispatchLoop(queueName)
        } while queues[queueName]?.dispatchAgain == true
        queues[queueName]?.dispatching = false
    }

    func dispatchLoop(_ queueName: String) async {
        while !stopping, var queue = queues[queueName], !queue.ready.isEmpty, !queue.consumers.isEmpty {
            // The next consumer (round-robin) with credit left.
            var chosen: UInt64?
            for offset in 0..<queue.consumers.count {
                let id = queue.consumers[(queue.nextConsumer + offset) % queue.consumers.count]
                if let consumer = consumers[id], consumer.unacked.count < consumer.prefetch {
                    chosen = id
                    queue.nextConsumer = (queue.nextConsumer + offset + 1) % queue.consumers.count
                    break
                }
            }
            guard let id = chosen, var consumer = consumers[id], var entry = queue.ready.popFirst() else {
                queues[queueName] = queue
                return
            }
            queues[queueName] = queue
            let ttl = Int64(queue.settings.messageTTLMilliseconds) * 1000
            let expired = ttl > 0 && entry.receivedAt > 0 && BrokerStore.nowMicros() - entry.receivedAt > ttl
            entry.deliveryCount += 1
            if entry.deliveryCount > queue.settings.maxDeliveries || expired {
                do {
                    try await deadLetter(
                        Entry(
                            sequence: entry.sequence,
                            deliveryCount: entry.deliveryCount - 1,
                            receivedAt: entry.receivedAt
                        ),
                        from: queueName
                    )
                } catch {
                    entry.deliveryCount -= 1
                    queues[queueName]?.ready.prepend(entry)
                    return
                }
                continue
            }
            let event: BrokerStore.StoredEvent
            do {
                if let hit = cached[entry.sequence]?.event {
                    event = hit
                } else {
                    guard let stored = try await store.event(entry.sequence) else { continue }  // acked meanwhile
                    event = stored
                }
            } catch {
                // The store failed to read it: keep the entry (undelivered) and try again later.
                entry.deliveryCount -= 1
                queues[queueName]?.ready.prepend(entry)
                return
            }
            // The consumer may have left while the event was read: not delivered, not counted.
            guard consumers[id] != nil else {
                entry.deliveryCount -= 1
                queues[queueName]?.ready.prepend(entry)
                continue
            }
            commit.recordDelivery(queue: queueName, sequence: entry.sequence, count: entry.deliveryCount)
            let tag = nextTag
            nextTag += 1
            let timeout = Duration.milliseconds(queue.settings.ackTimeoutMilliseconds)
            consumer = consumers[id] ?? consumer
            consumer.unacked[tag] = (entry, .now + timeout)
            consumers[id] = consumer
            consumer.continuation.yield(
                BrokerDelivery(tag: tag, queue: queueName, event: event, deliveryCount: entry.deliveryCount)
            )
        }
    }

    /// One queue entry no longer holds the event (acked); the cache forgets it with its last holder.
    func release(_ sequence: Int64) {
        guard var held = cached[sequence] else { return }
        held.holders -= 1
        cached[sequence] = held.holders > 0 ? held : nil
    }

    // MARK: Shutdown

    /// Graceful shutdown: publishes are refused from now on and nothing new is delivered;
    /// consumers get up to `grace` to ack what they hold; then every subscription ends (what is
    /// still unacked stays stored and is delivered again after the restart) and the pending
    /// bookkeeping is committed.
    public func shutdown(grace: Duration, clock: ContinuousClock = .init()) async {
        stopping = true
        let deadline = clock.now + grace
        while consumers.values.contains(where: { !$0.unacked.isEmpty }), clock.now < deadline, !Task.isCancelled {
            try? await Task.sleep(for: .milliseconds(10))
        }
        for (id, consumer) in consumers {
            consumer.continuation.finish()
            let returned = consumer.unacked.values.map(\.entry).sorted { $0.sequence < $1.sequence }
            for entry in returned.reversed() { queues[consumer.queue]?.ready.prepend(entry) }
            queues[consumer.queue]?.consumers.removeAll { $0 == id }
        }
        consumers = [:]
        try? await commit.flush()
    }

    /// Commits so far and the events in them (to see the group commit at work).
    public nonisolated var commitStatistics: (commits: Int, events: Int) { commit.statistics }

    /// Whether ``shutdown(grace:clock:)`` has begun.
    public var isShuttingDown: Bool { stopping }

    /// Commits pending acks and delivery counts now (they otherwise ride with the next commit).
    public func flush() async throws {
        try await commit.flush()
    }

    // MARK: Inspection

    public struct QueueInfo: Sendable, Hashable {
        public var name: String
        public var depth: Int
        public var unacked: Int
        public var consumers: Int
        public var deadLettered: Int
        public var bindings: [String]
        /// How long the oldest ready event has waited, in milliseconds (0 when none waits).
        public var oldestAgeMilliseconds: Int64
        public var settings: BrokerStore.QueueSettings
    }

    /// Every queue with its depth, unacked count, consumers and dead-lettered count.
    public func inspect() -> (exchanges: [String: String], queues: [QueueInfo]) {
        let now = BrokerStore.nowMicros()
        let infos = queues.values.map { queue in
            let oldest = queue.ready.lazy.map(\.receivedAt).filter { $0 > 0 }.min()
            return QueueInfo(
                name: queue.settings.name,
                depth: queue.ready.count,
                unacked: queue.consumers.compactMap { consumers[$0]?.unacked.count }.reduce(0, +),
                consumers: queue.consumers.count,
                deadLettered: queue.deadLettered,
                bindings: bindings.flatMap { exchange, list in
                    list.filter { $0.queue == queue.settings.name }.map { "\(exchange): \($0.pattern)" }
                }.sorted(),
                oldestAgeMilliseconds: oldest.map { max(0, now - $0) / 1000 } ?? 0,
                settings: queue.settings
            )
        }.sorted { $0.name < $1.name }
        return (exchanges, infos)
    }
}
