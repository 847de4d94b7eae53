import Foundation

/// The event bus: topic exchanges, durable queues, publisher confirms, consumer acks.
public enum EventBusInfo {
    /// The exchanges every deployment declares at start: the original system's five, and one for
    /// the notifications service's own events.
    public static let standardExchanges = [
        "auth_events", "user_events", "order_events", "payment_events", "review_events", "notification_events",
    ]
}

/// The exchanges, queues and bindings the bus declares when it starts (declare-if-absent: a
/// restart with the same topology changes nothing; a queue whose settings differ from the stored
/// one is a conflict and stops the start with a clear error).
///
/// The marketplace's embedded default (`BusTopology.standard`, assembled in `MarketplaceServices`
/// from every service's declared queue) has the standard exchanges and the queue of every
/// consumer in the system; a JSON file (`marketplace serve bus --topology FILE`) replaces it:
///
/// ```json
/// {
///   "exchanges": ["auth_events", "order_events"],
///   "queues": [
///     {"name": "notifications.events", "maxDeliveries": 5, "ackTimeoutMs": 30000,
///      "maxLength": 100000, "messageTtlMs": 604800000,
///      "bindings": [{"exchange": "order_events", "pattern": "order.*"}]}
///   ],
///   "permissions": [
///     {"identity": "service:notifications", "configure": [], "write": ["notification_events"],
///      "read": ["notifications.events"]},
///     {"identity": "admin", "configure": ["*"], "write": ["*"], "read": ["*"]}
///   ]
/// }
/// ```
///
/// Without `permissions` the standard grants apply (``BusPermission/standard``). A queue's
/// `maxLength` and `messageTtlMs` are its limits (absent: none); unlike its other settings they
/// may change between starts (the stored queue takes the topology's).
public struct BusTopology: Codable, Sendable, Hashable {
    /// A durable queue with its bindings. Absent settings take the broker's defaults (5
    /// deliveries, dead-letter queue `<name>.dead`, 30 s ack timeout).
    public struct Queue: Codable, Sendable, Hashable {
        public var name: String
        public var maxDeliveries: Int?
        public var deadLetterQueue: String?
        public var ackTimeoutMs: Int?
        /// At most this many waiting events (the oldest past it is dead-lettered).
        public var maxLength: Int?
        /// Waiting events older than this are dead-lettered.
        public var messageTtlMs: Int?
        public var bindings: [Binding]

        public init(
            name: String,
            maxDeliveries: Int? = nil,
            deadLetterQueue: String? = nil,
            ackTimeoutMs: Int? = nil,
            maxLength: Int? = nil,
            messageTtlMs: Int? = nil,
            bindings: [Binding]
        ) {
            self.name = name
            self.maxLength = maxLength
            self.messageTtlMs = messageTtlMs
            self.maxDeliveries = maxDeliveries
            self.deadLetterQueue = deadLetterQueue
            self.ackTimeoutMs = ackTimeoutMs
            self.bindings = bindings
        }

        var settings: BrokerStore.QueueSettings {
            BrokerStore.QueueSettings(
                name: name,
                maxDeliveries: maxDeliveries ?? 5,
                deadLetterQueue: deadLetterQueue ?? "",
                ackTimeoutMilliseconds: ackTimeoutMs ?? 30_000,
                maxLength: maxLength ?? 0,
                messageTTLMilliseconds: messageTtlMs ?? 0
            )
        }
    }

    /// Routes events of `exchange` whose routing key matches `pattern` to the queue.
    public struct Binding: Codable, Sendable, Hashable {
        public var exchange: String
        public var pattern: String

        public init(exchange: String, pattern: String) {
            self.exchange = exchange
            self.pattern = pattern
        }
    }

    /// Topic exchanges by name.
    public var exchanges: [String]
    public var queues: [Queue]
    /// Who may declare, publish and consume what (nil: ``BusPermission/standard``).
    public var permissions: [BusPermission]?

    public init(exchanges: [String], queues: [Queue], permissions: [BusPermission]? = nil) {
        self.exchanges = exchanges
        self.queues = queues
        self.permissions = permissions
    }

    /// The limit of a service's consumer queue: a million waiting events (far beyond any backlog
    /// of a service that is running).
    public static let consumerQueueLength = 1_000_000

    /// The standard exchanges and no queues: what a bus declares when nobody says more (the
    /// marketplace's full topology, with every service's queue, is `MarketplaceServices`'s
    /// `BusTopology.standard`).
    public static let exchangesOnly = BusTopology(exchanges: EventBusInfo.standardExchanges, queues: [])

    /// Reads a topology from a JSON file.
    /// - Throws: ``BusTopologyError`` naming the file and what is wrong with it.
    public static func load(path: String) throws -> BusTopology {
        let data: Data
        do { data = try Data(contentsOf: URL(fileURLWithPath: path)) } catch {
            throw BusTopologyError(message: "cannot read topology file '\(path)': \(error.localizedDescription)")
        }
        let topology: BusTopology
        do { topology = try JSONDecoder().decode(BusTopology.self, from: data) } catch let error as DecodingError {
            throw BusTopologyError(message: "topology file '\(path)': \(BusTopology.describe(error))")
        }
        try topology.validate(source: path)
        return topology
    }

    /// Checks names, settings and binding targets before anything is declared.
    public func validate(source: String = "topology") throws {
        func fail(_ message: String) -> BusTopologyError { BusTopologyError(message: "\(source): \(message)") }
        for exchange in exchanges where exchange.isEmpty { throw fail("an exchange needs a name") }
        var seen: Set<String> = []
        for queue in queues {
            guard !queue.name.isEmpty else { throw fail("a queue needs a name") }
            guard seen.insert(queue.name).inserted else { throw fail("queue '\(queue.name)' is declared twice") }
            if let max = queue.maxDeliveries, max < 1 {
                throw fail("queue '\(queue.name)': maxDeliveries must be at least 1")
            }
            if let timeout = queue.ackTimeoutMs, !(1...86_400_000).contains(timeout) {
                throw fail("queue '\(queue.name)': ackTimeoutMs must be 1-86400000")
            }
            if let max = queue.maxLength, !(0...100_000_000).contains(max) {
                throw fail("queue '\(queue.name)': maxLength must be 0-100000000")
            }
            if let ttl = queue.messageTtlMs, !(0...Int(UInt32.max)).contains(ttl) {
                throw fail("queue '\(queue.name)': messageTtlMs must be 0-\(UInt32.max)")
            }
            for binding in queue.bindings {
                guard exchanges.contains(binding.exchange) else {
                    throw fail(
                        "queue '\(queue.name)' binds to exchange '\(binding.exchange)', which the topology does not declare"
                    )
                }
                if let problem = TopicPattern.lengthProblem(binding.pattern, what: "the pattern of a binding") {
                    throw fail("queue '\(queue.name)': \(problem)")
                }
            }
        }
        for permission in permissions ?? [] {
            let identity = permission.identity
            guard identity == "admin" || (identity.hasPrefix("service:") && identity.count > 8) else {
                throw fail("permission for '\(identity)': an identity is 'admin' or 'service:<name>'")
            }
            for pattern in permission.configure + permission.write + permission.read
            where pattern.isEmpty || pattern.dropLast().contains("*") {
                throw fail("permission for '\(identity)': '\(pattern)' is not a name, a prefix ending in '*', or '*'")
            }
        }
    }

    /// Declares everything (if absent) on `core`.
    public func declare(on core: BrokerCore) async throws {
        try validate()
        for exchange in exchanges { _ = try await core.declareExchange(exchange) }
        for queue in queues {
            _ = try await core.declareQueue(queue.settings, applyingLimits: true)
            for binding in queue.bindings {
                _ = try await core.bind(queue: queue.name, exchange: binding.exchange, pattern: binding.pattern)
            }
        }
    }

    static func describe(_ error: DecodingError) -> String {
        func path(_ context: DecodingError.Context) -> String {
            let path = context.codingPath.map { $0.intValue.map { "[\($0)]" } ?? ".\($0.stringValue)" }.joined()
            return path.isEmpty ? "" : " at \(path)"
        }
        switch error {
        case .keyNotFound(let key, let context): return "missing '\(key.stringValue)'\(path(context))"
        case .typeMismatch(_, let context), .valueNotFound(_, let context):
            return "\(context.debugDescription)\(path(context))"
        case .dataCorrupted(let context): return "not valid JSON\(path(context)): \(context.debugDescription)"
        @unknown default: return "\(error)"
        }
    }
}

/// A topology file that cannot be used.
public struct BusTopologyError: Error, CustomStringConvertible, Sendable {
    public var message: String
    public var description: String { message }
}
