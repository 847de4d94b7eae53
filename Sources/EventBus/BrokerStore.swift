import Foundation
import GRDB
import NIOConcurrencyHelpers

/// The bus's durable state in one SQLite file (WAL, `synchronous = FULL`: a commit is fsync'd).
///
/// Events are appended in batches by ``GroupCommit``: every publish that arrives while a commit
/// is running joins the next one, so throughput does not pay one fsync per event. A queue entry
/// exists per (queue, event) until the event is acknowledged; an event no queue needs any more
/// is deleted with its last entry (retention), so the file does not grow without bound.
public final class BrokerStore: Sendable {
    /// One event as stored.
    public struct StoredEvent: Sendable, Hashable {
        public var sequence: Int64
        public var id: String
        public var exchange: String
        public var routingKey: String
        public var type: String
        public var payload: [UInt8]
        public var publishedAtMicros: Int64
        public var headers: [UInt8]
        /// The publisher's verified identity (`service:<name>`, `admin:<id>`), stamped by the bus.
        public var publisher: String
        /// When the bus received it (its own clock; queue age limits count from here).
        public var receivedAtMicros: Int64

        public init(
            sequence: Int64 = 0,
            id: String,
            exchange: String,
            routingKey: String,
            type: String,
            payload: [UInt8],
            publishedAtMicros: Int64,
            headers: [UInt8] = [],
            publisher: String = "",
            receivedAtMicros: Int64? = nil
        ) {
            self.publisher = publisher
            self.receivedAtMicros = receivedAtMicros ?? BrokerStore.nowMicros()
            self.sequence = sequence
            self.id = id
            self.exchange = exchange
            self.routingKey = routingKey
            self.type = type
            self.payload = payload
            self.publishedAtMicros = publishedAtMicros
            self.headers = headers
        }
    }

    /// A queue's settings.
    public struct QueueSettings: Sendable, Hashable {
        public var name: String
        public var maxDeliveries: Int
        public var deadLetterQueue: String
        public var ackTimeoutMilliseconds: Int
        public var autoDelete: Bool
        /// At most this many ready events; a new one past it pushes the oldest to the dead-letter
        /// queue (0: no limit).
        public var maxLength: Int
        /// A ready event older than this goes to the dead-letter queue (0: no limit).
        public var messageTTLMilliseconds: Int

        public init(
            name: String,
            maxDeliveries: Int = 5,
            deadLetterQueue: String = "",
            ackTimeoutMilliseconds: Int = 30_000,
            autoDelete: Bool = false,
            maxLength: Int = 0,
            messageTTLMilliseconds: Int = 0
        ) {
            self.name = name
            self.maxLength = maxLength
            self.messageTTLMilliseconds = messageTTLMilliseconds
            self.maxDeliveries = maxDeliveries
            self.deadLetterQueue = deadLetterQueue.isEmpty ? name + ".dead" : deadLetterQueue
            self.ackTimeoutMilliseconds = ackTimeoutMilliseconds
            self.autoDelete = autoDelete
        }
    }

    /// An event to append, with the queues its routing key matched.
    public struct Append: Sendable {
        public var event: StoredEvent
        public var queues: [String]
        public init(event: StoredEvent, queues: [String]) {
            self.event = event
            self.queues = queues
        }
    }

    let pool: DatabasePool

    /// Opens (or creates) the store at `path` and applies its migrations.
    public init(path: String) throws {
        var configuration = Configuration()
        // Another connection writing (a previous instance's last commit, a checkpoint) makes an
        // opening connection wait instead of failing.
        configuration.busyMode = .timeout(10)
        configuration.prepareDatabase { db in
            try db.execute(sql: "PRAGMA synchronous = FULL")
        }
        pool = try DatabasePool(path: path, configuration: configuration)
        var migrator = DatabaseMigrator()
        migrator.registerMigration("v1") { db in
            try db.execute(
                sql: """
                    CREATE TABLE exchange (name TEXT PRIMARY KEY NOT NULL, type TEXT NOT NULL);
                    CREATE TABLE queue (
                        name TEXT PRIMARY KEY NOT NULL, max_deliveries INTEGER NOT NULL, dead_letter_queue TEXT NOT NULL,
                        ack_timeout_ms INTEGER NOT NULL, auto_delete INTEGER NOT NULL, dead_lettered INTEGER NOT NULL DEFAULT 0);
                    CREATE TABLE binding (
                        queue TEXT NOT NULL, exchange TEXT NOT NULL, pattern TEXT NOT NULL, PRIMARY KEY (queue, exchange, pattern));
                    CREATE TABLE event (
                        sequence INTEGER PRIMARY KEY AUTOINCREMENT, id TEXT NOT NULL, exchange TEXT NOT NULL,
                        routing_key TEXT NOT NULL, type TEXT NOT NULL, payload BLOB NOT NULL, published_at INTEGER NOT NULL,
                        headers BLOB NOT NULL);
                    CREATE TABLE entry (
                        queue TEXT NOT NULL, sequence INTEGER NOT NULL, delivery_count INTEGER NOT NULL DEFAULT 0,
                        PRIMARY KEY (queue, sequence)) WITHOUT ROWID;
                    CREATE INDEX entry_by_sequence ON entry (sequence);
                    CREATE TABLE counter (name TEXT PRIMARY KEY NOT NULL, value INTEGER NOT NULL);
                    """
            )
        }
        // Publisher identities (stamped by the bus), receive times and queue limits.
        migrator.registerMigration("v2") { db in
            try db.execute(
                sql: """
                    ALTER TABLE event ADD COLUMN publisher TEXT NOT NULL DEFAULT '';
                    ALTER TABLE event ADD COLUMN received_at INTEGER NOT NULL DEFAULT 0;
                    ALTER TABLE queue ADD COLUMN max_length INTEGER NOT NULL DEFAULT 0;
                    ALTER TABLE queue ADD COLUMN message_ttl_ms INTEGER NOT NULL DEFAULT 0;
                    """
            )
            // Events stored before publishers were verified came through the owners' outboxes:
            // they keep being accepted by consumers.
            for (exchange, owner) in EventOwnership.standard {
                try db.execute(
                    sql: "UPDATE event SET publisher = ? WHERE publisher = '' AND exchange = ?",
                    arguments: ["service:\(owner)", exchange]
                )
            }
        }
        try migrator.migrate(pool)
    }

    /// Microseconds since 1970 on this machine's clock.
    public static func nowMicros() -> Int64 { Int64(Date().timeIntervalSince1970 * 1_000_000) }

    // MARK: Topology

    public func saveExchange(name: String, type: String) async throws {
        try await pool.write { db in
            try db.execute(sql: "INSERT OR IGNORE INTO exchange (name, type) VALUES (?, ?)", arguments: [name, type])
        }
    }

    public func saveQueue(_ queue: QueueSettings) async throws {
        try await pool.write { db in
            try db.execute(
                sql: """
                    INSERT OR IGNORE INTO queue (name, max_deliveries, dead_letter_queue, ack_timeout_ms, auto_delete, max_length, message_ttl_ms)
                    VALUES (?, ?, ?, ?, ?, ?, ?)
                    """,
                arguments: [
                    queue.name, queue.maxDeliveries, queue.deadLetterQueue, queue.ackTimeoutMilliseconds,
                    queue.autoDelete, queue.maxLength,
                    queue.messageTTLMilliseconds,
                ]
            )
        }
    }

    /// Stores a queue's new length and age limits.
    public func updateLimits(_ queue: QueueSettings) async throws {
        try await pool.write { db in
            try db.execute(
                sql: "UPDATE queue SET max_length = ?, message_ttl_ms = ? WHERE name = ?",
                arguments: [queue.maxLength, queue.messageTTLMilliseconds, queue.name]
            )
        }
    }

    public func saveBinding(queue: String, exchange: String, pattern: String) async throws {
        try await pool.write { db in
            try db.execute(
                sql: "INSERT OR IGNORE INTO binding (queue, exchange, pattern) VALUES (?, ?, ?)",
                arguments: [queue, exchange, pattern]
            )
        }
    }

    /// Exchanges (name → type), queues and bindings (queue, exchange, pattern), as stored.
    public func topology() async throws -> (
        exchanges: [String: String], queues: [QueueSettings], bindings: [(String, String, String)]
    ) {
        try await pool.read { db in
            var exchanges: [String: String] = [:]
            for row in try Row.fetchAll(db, sql: "SELECT name, type FROM exchange") {
                exchanges[row["name"]] = row["type"]
            }
            let queues = try Row.fetchAll(db, sql: "SELECT * FROM queue ORDER BY name").map { row in
                QueueSettings(
                    name: row["name"],
                    maxDeliveries: row["max_deliveries"],
                    deadLetterQueue: row["dead_letter_queue"],
                    ackTimeoutMilliseconds: row["ack_timeout_ms"],
                    autoDelete: row["auto_delete"],
                    maxLength: row["max_length"],
                    messageTTLMilliseconds: row["message_ttl_ms"]
                )
            }
            let bindings = try Row.fetchAll(
                db,
                sql: "SELECT queue, exchange, pattern FROM binding ORDER BY queue, exchange, pattern"
            )
            .map { ($0["queue"] as String, $0["exchange"] as String, $0["pattern"] as String) }
            return (exchanges, queues, bindings)
        }
    }

    // MARK: Events

    /// Writes one batch in one transaction: the appended events with their queue entries, and
    /// the queued bookkeeping (delivery counts, then acks). With appends (or when `durable`), the
    /// commit is fsync'd; bookkeeping alone commits without an fsync (see ``relaxedWrite(_:)``).
    /// Events that matched no queue are only counted. Returns the sequence numbers given to the
    /// stored events.
    func writeBatch(_ batch: [Append], bookkeeping: Bookkeeping = .init(), durable: Bool = true) throws -> [Int64?] {
        try pool.writeWithoutTransaction { db in
            let relaxed = batch.isEmpty && !durable
            if relaxed { try db.execute(sql: "PRAGMA synchronous = NORMAL") }
            defer { if relaxed { try? db.execute(sql: "PRAGMA synchronous = FULL") } }
            var sequences: [Int64?] = []
            try db.inTransaction {
                var unroutable = 0
                // Prepared once per connection (statement cache), not parsed per event.
                let insertEvent = try db.cachedStatement(
                    sql: """
                        INSERT INTO event (id, exchange, routing_key, type, payload, published_at, headers, publisher, received_at)
                        VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
                        """
                )
                let insertEntry = try db.cachedStatement(sql: "INSERT INTO entry (queue, sequence) VALUES (?, ?)")
                for item in batch {
                    guard !item.queues.isEmpty else {
                        unroutable += 1
                        sequences.append(nil)
                        continue
                    }
                    let e = item.event
                    try insertEvent.execute(
                        arguments: [
                            e.id, e.exchange, e.routingKey, e.type, Data(e.payload), e.publishedAtMicros,
                            Data(e.headers), e.publisher,
                            e.receivedAtMicros,
                        ])
                    let sequence = db.lastInsertedRowID
                    for queue in item.queues {
                        try insertEntry.execute(arguments: [queue, sequence])
                    }
                    sequences.append(sequence)
                }
                if unroutable > 0 {
                    try db.execute(
                        sql:
                            "INSERT INTO counter (name, value) VALUES ('unroutable', ?) ON CONFLICT(name) DO UPDATE SET value = value + excluded.value",
                        arguments: [unroutable]
                    )
                }
                try bookkeeping.apply(db)
                return .commit
            }
            return sequences
        }
    }

    /// Delivery counts and acks waiting to be written; ``GroupCommit`` gathers them between
    /// commits so that neither costs a transaction of its own.
    struct Bookkeeping: Sendable {
        /// (queue, sequence) → the latest delivery count.
        var deliveries: [EntryKey: Int] = [:]
        /// Acknowledged entries, in order.
        var acks: [EntryKey] = []

        struct EntryKey: Hashable {
            var queue: String
            var sequence: Int64
        }

        var isEmpty: Bool { deliveries.isEmpty && acks.isEmpty }
        var count: Int { deliveries.count + acks.count }

        func apply(_ db: Database) throws {
            if !deliveries.isEmpty {
                let update = try db.cachedStatement(
                    sql: "UPDATE entry SET delivery_count = ? WHERE queue = ? AND sequence = ?"
                )
                for (key, count) in deliveries { try update.execute(arguments: [count, key.queue, key.sequence]) }
            }
            if !acks.isEmpty {
                let delete = try db.cachedStatement(sql: "DELETE FROM entry WHERE queue = ? AND sequence = ?")
                let retain = try db.cachedStatement(
                    sql: "DELETE FROM event WHERE sequence = ? AND NOT EXISTS (SELECT 1 FROM entry WHERE sequence = ?)"
                )
                for key in acks {
                    try delete.execute(arguments: [key.queue, key.sequence])
                    try retain.execute(arguments: [key.sequence, key.sequence])
                }
            }
        }
    }

    /// Removes acknowledged entries, and the events no queue holds any more.
    public func acknowledge(queue: String, sequences: [Int64]) async throws {
        guard !sequences.isEmpty else { return }
        try await relaxedWrite { db in
            for sequence in sequences {
                try db.execute(sql: "DELETE FROM entry WHERE queue = ? AND sequence = ?", arguments: [queue, sequence])
                try db.execute(
                    sql: "DELETE FROM event WHERE sequence = ? AND NOT EXISTS (SELECT 1 FROM entry WHERE sequence = ?)",
                    arguments: [sequence, sequence]
                )
            }
        }
    }

    /// Records a delivery attempt.
    public func recordDelivery(queue: String, sequence: Int64, count: Int) async throws {
        try await relaxedWrite { db in
            try db.execute(
                sql: "UPDATE entry SET delivery_count = ? WHERE queue = ? AND sequence = ?",
                arguments: [count, queue, sequence]
            )
        }
    }

    /// A transaction that need not be fsync'd on commit (acks, delivery counts): in WAL mode it
    /// reaches the disk with the next fsync'd commit or checkpoint. Losing it in a power cut means
    /// a redelivery, which consumers absorb (they are idempotent); confirmed publishes never
    /// take this path.
    func relaxedWrite(_ body: @escaping @Sendable (Database) throws -> Void) async throws {
        try await pool.writeWithoutTransaction { db in
            try db.execute(sql: "PRAGMA synchronous = NORMAL")
            defer { try? db.execute(sql: "PRAGMA synchronous = FULL") }
            try db.inTransaction {
                try body(db)
                return .commit
            }
        }
    }

    /// Moves an entry to the queue's dead-letter queue; returns whether the dead-letter queue
    /// got a new entry (false: it already held the event).
    @discardableResult
    public func deadLetter(queue: String, sequence: Int64, to deadLetterQueue: String) async throws -> Bool {
        try await pool.write { db in
            try db.execute(sql: "DELETE FROM entry WHERE queue = ? AND sequence = ?", arguments: [queue, sequence])
            try db.execute(
                sql: "INSERT OR IGNORE INTO entry (queue, sequence) VALUES (?, ?)",
                arguments: [deadLetterQueue, sequence]
            )
            let inserted = db.changesCount == 1
            try db.execute(sql: "UPDATE queue SET dead_lettered = dead_lettered + 1 WHERE name = ?", arguments: [queue])
            return inserted
        }
    }

    /// The entries of `queue` in order (after a restart every one of them is ready again).
    public func entries(of queue: String) async throws -> [(
        sequence: Int64, deliveryCount: Int, receivedAtMicros: Int64
    )] {
        try await pool.read { db in
            try Row.fetchAll(
                db,
                sql: """
                    SELECT entry.sequence, entry.delivery_count, event.received_at FROM entry JOIN event USING (sequence)
                    WHERE entry.queue = ? ORDER BY entry.sequence
                    """,
                arguments: [queue]
            )
            .map { ($0["sequence"], $0["delivery_count"], $0["received_at"]) }
        }
    }

    public func event(_ sequence: Int64) async throws -> StoredEvent? {
        try await pool.read { db in
            try Row.fetchOne(db, sql: "SELECT * FROM event WHERE sequence = ?", arguments: [sequence]).map { row in
                StoredEvent(
                    sequence: row["sequence"],
                    id: row["id"],
                    exchange: row["exchange"],
                    routingKey: row["routing_key"],
                    type: row["type"],
                    payload: [UInt8](row["payload"] as Data),
                    publishedAtMicros: row["published_at"],
                    headers: [UInt8](row["headers"] as Data),
                    publisher: row["publisher"],
                    receivedAtMicros: row["received_at"]
                )
            }
        }
    }

    /// Deletes a queue with its bindings and entries (and the events nothing else holds).
    public func deleteQueue(_ name: String) async throws {
        try await pool.write { db in
            try db.execute(sql: "DELETE FROM binding WHERE queue = ?", arguments: [name])
            try db.execute(sql: "DELETE FROM entry WHERE queue = ?", arguments: [name])
            try db.execute(sql: "DELETE FROM queue WHERE name = ?", arguments: [name])
            try db.execute(
                sql: "DELETE FROM event WHERE NOT EXISTS (SELECT 1 FROM entry WHERE entry.sequence = event.sequence)"
            )
        }
    }

    /// How many stored events exist (retention checks).
    public func eventCount() async throws -> Int {
        try await pool.read { db in try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM event") ?? 0 }
    }

    public func unroutableCount() async throws -> Int {
        try await pool.read { db in
            try Int.fetchOne(db, sql: "SELECT value FROM counter WHERE name = 'unroutable'") ?? 0
        }
    }
}

/// Group commit: the store's one writer. Appends that arrive while a commit is in progress wait
/// for the next one, which writes them all in a single transaction; each caller resumes once its
/// events are on disk. Delivery counts and acks are queued without waiting and ride along with
/// the next transaction; when no publish comes, they get one of their own (without an fsync) once
/// `bookkeepingBatch` of them are waiting or `bookkeepingDelay` has passed, so a busy consumer
/// does not cost a commit per ack.
public final class GroupCommit: Sendable {
    struct Pending {
        var items: [BrokerStore.Append]
        var continuation: CheckedContinuation<[Int64?], any Error>
    }

    struct State {
        var queue: [Pending] = []
        var bookkeeping = BrokerStore.Bookkeeping()
        var writing = false
        var timerArmed = false
        var commits = 0
        var events = 0
    }

    let store: BrokerStore
    let state = NIOLockedValueBox(State())
    let writer = DispatchQueue(label: "eventbus.group-commit")
    let bookkeepingBatch: Int
    let bookkeepingDelay: DispatchTimeInterval

    public init(store: BrokerStore, bookkeepingBatch: Int = 512, bookkeepingDelay: Duration = .milliseconds(20)) {
        self.store = store
        self.bookkeepingBatch = bookkeepingBatch
        let (seconds, attoseconds) = bookkeepingDelay.components
        self.bookkeepingDelay = .nanoseconds(Int(clamping: seconds * 1_000_000_000 + attoseconds / 1_000_000_000))
    }

    /// Commits so far and events in them (to see the grouping at work).
    public var statistics: (commits: Int, events: Int) { state.withLockedValue { ($0.commits, $0.events) } }

    /// Appends `items` durably; returns their sequence numbers (nil for unroutable ones).
    public func append(_ items: [BrokerStore.Append]) async throws -> [Int64?] {
        try await withCheckedThrowingContinuation { continuation in
            let start = state.withLockedValue { state -> Bool in
                state.queue.append(Pending(items: items, continuation: continuation))
                return state.startWriting()
            }
            if start { writer.async { self.drain() } }
        }
    }

    /// Waits until everything queued so far (bookkeeping included) is durable.
    public func flush() async throws {
        _ = try await append([])
    }

    /// Queues acknowledged entries for deletion (with the events no queue holds any more).
    public func acknowledge(queue: String, sequences: [Int64]) {
        guard !sequences.isEmpty else { return }
        enqueue { $0.acks += sequences.map { .init(queue: queue, sequence: $0) } }
    }

    /// Queues a delivery attempt's count.
    public func recordDelivery(queue: String, sequence: Int64, count: Int) {
        enqueue { $0.deliveries[.init(queue: queue, sequence: sequence)] = count }
    }

    func enqueue(_ change: (inout BrokerStore.Bookkeeping) -> Void) {
        let (start, arm) = state.withLockedValue { state -> (Bool, Bool) in
            change(&state.bookkeeping)
            if state.writing { return (false, false) }
            if state.bookkeeping.count >= bookkeepingBatch { return (state.startWriting(), false) }
            return (false, state.arm())
        }
        if start { writer.async { self.drain() } }
        if arm { armTimer() }
    }

    /// Commits waiting bookkeeping after `bookkeepingDelay` unless a commit took it meanwhile.
    func armTimer() {
        writer.asyncAfter(deadline: .now() + bookkeepingDelay) {
            let start = self.state.withLockedValue { state -> Bool in
                state.timerArmed = false
                guard !state.bookkeeping.isEmpty else { return false }
                return state.startWriting()
            }
            if start { self.drain(force: true) }
        }
    }

    /// Writes what is queued, batch after batch, until nothing is left but less bookkeeping than
    /// a batch (which waits for the timer, unless `force`).
    func drain(force: Bool = false) {
        while true {
            var arm = false
            let (batch, bookkeeping) = state.withLockedValue { state -> ([Pending], BrokerStore.Bookkeeping) in
                let small = state.bookkeeping.isEmpty || (!force && state.bookkeeping.count < bookkeepingBatch)
                if state.queue.isEmpty && small {
                    state.writing = false
                    if !state.bookkeeping.isEmpty { arm = state.arm() }
                    return ([], .init())
                }
                let taken = (state.queue, state.bookkeeping)
                state.queue = []
                state.bookkeeping = .init()
                return taken
            }
            if batch.isEmpty && bookkeeping.isEmpty {
                if arm { armTimer() }
                return
            }
            do {
                let sequences = try store.writeBatch(
                    batch.flatMap(\.items),
                    bookkeeping: bookkeeping,
                    durable: !batch.isEmpty
                )
                state.withLockedValue {
                    $0.commits += 1
                    $0.events += sequences.count
                }
                var offset = 0
                for pending in batch {
                    pending.continuation.resume(returning: Array(sequences[offset..<(offset + pending.items.count)]))
                    offset += pending.items.count
                }
            } catch {
                // Lost bookkeeping only means a redelivery (or a lower delivery count) later.
                for pending in batch { pending.continuation.resume(throwing: error) }
            }
        }
    }
}

extension GroupCommit.State {
    /// Marks the writer busy; true when the caller must start it.
    mutating func startWriting() -> Bool {
        guard !writing else { return false }
        writing = true
        return true
    }

    /// Marks the bookkeeping timer armed; true when the caller must arm it.
    mutating func arm() -> Bool {
        guard !timerArmed else { return false }
        timerArmed = true
        return true
    }
}
