import Foundation
import GRDB
import ServiceKit
import NIOCore
import NIOPosix
import TestSupport
import Testing

/// Polls `condition` until it holds or `limit` passes.
func waitUntil(_ limit: Duration, _ condition: () -> Bool) async throws -> Bool {
    let deadline = ContinuousClock.now + limit
    while !condition() {
        if ContinuousClock.now > deadline { return false }
        try await Task.sleep(for: .milliseconds(50))
    }
    return true
}

/// Runs a short command and returns its standard output.
func runProcessSync(_ executable: String, _ arguments: [String]) throws -> String {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: executable)
    process.arguments = arguments
    let pipe = Pipe()
    process.standardOutput = pipe
    process.standardError = FileHandle.nullDevice
    try process.run()
    let data = pipe.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    return String(decoding: data, as: UTF8.self)
}

/// Exactly-once delivery through crashes: real processes, SIGKILL.
@Suite("Event bus crash test", .serialized)
struct CrashTests {
    let build = repositoryRoot.appendingPathComponent(".build/debug")

    @Test(
        "10,000 events through the outbox while the bus is SIGKILLed twice and the consumer once: each applied exactly once"
    )
    func exactlyOnce() async throws {
        let dir = try makeTemporaryDirectory("crash")
        defer { try? FileManager.default.removeItem(at: dir) }
        let count = 10_000
        let port = fixedPort()  // the bus restarts on it
        let address = "127.0.0.1:\(port)"
        let log = dir.appendingPathComponent("processes.log")
        // The bus's service key, made before its first start (the peers and rpcctl sign with it).
        let keyFile = ServiceKeys.serviceKeyPath(dataDirectory: dir.appendingPathComponent("bus").path)
        _ = try KeyFile.loadOrCreate(path: keyFile)
        func startBus() throws -> Child {
            try Child(
                build.appendingPathComponent("marketplace").path,
                ["serve", "bus", "--port", "\(port)", "--data-dir", dir.appendingPathComponent("bus").path],
                log: log
            )
        }
        func startConsumer() throws -> Child {
            try Child(
                build.appendingPathComponent("bus-crash-peer").path,
                ["consume", dir.appendingPathComponent("consumer.sqlite").path, address, "crash.orders", keyFile],
                log: log
            )
        }
        var bus = try startBus()
        var consumer = try startConsumer()
        // Events that match no binding are dropped (as in RabbitMQ): publish only once the
        // consumer's queue is declared and bound.
        let bound = try await waitUntil(.seconds(60)) {
            let queues = try? runProcessSync(
                build.appendingPathComponent("rpcctl").path,
                ["events", "queues", "--bus", address, "--key-file", keyFile]
            )
            return queues?.contains("order_events: order.*") == true
        }
        #expect(bound)
        let producer = try Child(
            build.appendingPathComponent("bus-crash-peer").path,
            ["produce", dir.appendingPathComponent("producer.sqlite").path, address, "\(count)", keyFile],
            log: log
        )
        defer {
            producer.terminate()
            consumer.terminate()
            bus.terminate()
        }
        let consumerDB = dir.appendingPathComponent("consumer.sqlite").path
        // One reader for the whole test, opened once the consumer has created its database.
        var reader: DatabaseQueue?
        func applied() -> (total: Int, distinct: Int) {
            if reader == nil {
                var configuration = Configuration()
                configuration.readonly = true
                configuration.busyMode = .timeout(5)
                reader = try? DatabaseQueue(path: consumerDB, configuration: configuration)
            }
            guard let db = reader else { return (0, 0) }
            return
                (try? db.read { db in
                    (
                        try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM applied") ?? 0,
                        try Int.fetchOne(db, sql: "SELECT COUNT(DISTINCT event_id) FROM applied") ?? 0
                    )
                }) ?? (0, 0)
        }

        // Crash the bus once events flow, then the consumer, then the bus again. Each stage's
        // outcome is kept for the failure message.
        var stages: [String] = []
        func stage(_ name: String, above threshold: Int) async throws {
            let start = ContinuousClock.now
            let reached = try await waitUntil(.seconds(60)) { applied().distinct > threshold }
            stages.append(
                "\(name): \(reached ? "reached" : "NOT reached") \(threshold) after \(ContinuousClock.now - start), applied \(applied())"
            )
        }
        try await stage("before the first bus kill", above: 500)
        bus.kill9()
        try await Task.sleep(for: .milliseconds(300))
        bus = try startBus()
        try await stage("before the consumer kill", above: 3_000)
        consumer.kill9()
        try await Task.sleep(for: .milliseconds(300))
        consumer = try startConsumer()
        try await stage("before the second bus kill", above: 6_000)
        bus.kill9()
        try await Task.sleep(for: .milliseconds(300))
        bus = try startBus()

        let finished = try await waitUntil(.seconds(240)) { applied().distinct == count }
        if !finished {
            let logText = (try? String(contentsOf: log, encoding: .utf8)) ?? ""
            let queues = try? await runProcess(
                build.appendingPathComponent("rpcctl").path,
                ["events", "queues", "--bus", address, "--key-file", keyFile]
            )
            let outbox = try? await DatabaseQueue(path: dir.appendingPathComponent("producer.sqlite").path).read { db in
                (
                    try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM outbox") ?? -1,
                    try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM outbox_parked") ?? -1
                )
            }
            Issue.record(
                """
                applied \(applied()) of \(count); outbox (pending, parked): \(outbox.map { "\($0)" } ?? "?")
                stages: \(stages.joined(separator: "; "))
                producer running: \(producer.process.isRunning), consumer running: \(consumer.process.isRunning), bus running: \(bus.process.isRunning)
                bus: \(queues?.output ?? "?")
                log tail: \(logText.suffix(4000))
                """
            )
            return
        }
        let result = applied()
        #expect(result.distinct == count, "every event applied")
        #expect(result.total == count, "no event applied twice")
        let db = try DatabaseQueue(path: consumerDB)
        let ids = try await db.read { try Set(String.fetchAll($0, sql: "SELECT event_id FROM applied")) }
        #expect(ids == Set((0..<count).map { "event-\($0)" }))
    }
}
