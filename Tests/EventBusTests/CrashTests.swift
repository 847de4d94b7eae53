import Foundation
import GRDB
import NIOCore
import NIOPosix
import TestSupport
import Testing

/// A child process we can kill without ceremony.
final class Child: @unchecked Sendable {
    let process = Process()

    init(_ executable: String, _ arguments: [String], log: URL) throws {
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        _ = FileManager.default.createFile(atPath: log.path, contents: nil)
        let handle = try FileHandle(forWritingTo: log)
        handle.seekToEndOfFile()
        process.standardOutput = handle
        process.standardError = handle
        try process.run()
    }

    func kill9() {
        kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
    }

    func terminate() {
        if process.isRunning {
            process.terminate()
            process.waitUntilExit()
        }
    }
}

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

    func freePort() async throws -> Int {
        let channel = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton).bind(host: "127.0.0.1", port: 0).get()
        let port = channel.localAddress?.port ?? 0
        try await channel.close()
        return port
    }

    @Test("10,000 events through the outbox while the bus is SIGKILLed twice and the consumer once: each applied exactly once")
    func exactlyOnce() async throws {
        let dir = try makeTemporaryDirectory("crash")
        defer { try? FileManager.default.removeItem(at: dir) }
        let count = 10_000
        let port = try await freePort()
        let address = "127.0.0.1:\(port)"
        let log = dir.appendingPathComponent("processes.log")
        func startBus() throws -> Child {
            try Child(
                build.appendingPathComponent("marketplace").path,
                ["serve", "bus", "--port", "\(port)", "--data-dir", dir.appendingPathComponent("bus").path], log: log)
        }
        func startConsumer() throws -> Child {
            try Child(
                build.appendingPathComponent("bus-crash-peer").path,
                ["consume", dir.appendingPathComponent("consumer.sqlite").path, address, "crash.orders"], log: log)
        }
        var bus = try startBus()
        var consumer = try startConsumer()
        // Events that match no binding are dropped (as in RabbitMQ): publish only once the
        // consumer's queue is declared and bound.
        let bound = try await waitUntil(.seconds(60)) {
            let queues = try? runProcessSync(build.appendingPathComponent("rpcctl").path, ["events", "queues", "--bus", address])
            return queues?.contains("order_events: order.*") == true
        }
        #expect(bound)
        let producer = try Child(
            build.appendingPathComponent("bus-crash-peer").path,
            ["produce", dir.appendingPathComponent("producer.sqlite").path, address, "\(count)"], log: log)
        defer {
            producer.terminate()
            consumer.terminate()
            bus.terminate()
        }
        let consumerDB = dir.appendingPathComponent("consumer.sqlite").path
        func applied() -> (total: Int, distinct: Int) {
            guard let db = try? DatabaseQueue(path: consumerDB, configuration: { var c = Configuration(); c.readonly = true; return c }()) else {
                return (0, 0)
            }
            return (try? db.read { db in
                (
                    try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM applied") ?? 0,
                    try Int.fetchOne(db, sql: "SELECT COUNT(DISTINCT event_id) FROM applied") ?? 0
                )
            }) ?? (0, 0)
        }

        // Crash the bus once events flow, then the consumer, then the bus again.
        _ = try await waitUntil(.seconds(60)) { applied().distinct > 500 }
        bus.kill9()
        try await Task.sleep(for: .milliseconds(300))
        bus = try startBus()
        _ = try await waitUntil(.seconds(60)) { applied().distinct > 3_000 }
        consumer.kill9()
        try await Task.sleep(for: .milliseconds(300))
        consumer = try startConsumer()
        _ = try await waitUntil(.seconds(60)) { applied().distinct > 6_000 }
        bus.kill9()
        try await Task.sleep(for: .milliseconds(300))
        bus = try startBus()

        let finished = try await waitUntil(.seconds(240)) { applied().distinct == count }
        if !finished {
            let logText = (try? String(contentsOf: log, encoding: .utf8)) ?? ""
            let queues = try? await runProcess(build.appendingPathComponent("rpcctl").path, ["events", "queues", "--bus", address])
            Issue.record("applied \(applied()) of \(count); bus: \(queues?.output ?? "?"); log tail: \(logText.suffix(1500))")
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
