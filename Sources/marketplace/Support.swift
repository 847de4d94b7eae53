import ArgumentParser
import AuthService
import Foundation
import Logging
import ServiceLifecycle
import MarketplaceAPI
import RPC

/// `host:port[,host:port…]` lists.
enum Addresses {
    static func parse(_ text: String, option: String) throws -> [Endpoint] {
        let endpoints = try text.split(separator: ",").map { item -> Endpoint in
            let entry = item.trimmingCharacters(in: .whitespaces)
            guard let colon = entry.lastIndex(of: ":"), let port = Int(entry[entry.index(after: colon)...]), (1...65535).contains(port),
                colon != entry.startIndex
            else { throw ValidationError("\(option): '\(entry)' is not host:port") }
            return Endpoint(host: String(entry[..<colon]), port: port)
        }
        guard !endpoints.isEmpty else { throw ValidationError("\(option): no address given") }
        return endpoints
    }
}

/// The first admin of a new installation: from `MARKETPLACE_ADMIN_EMAIL` and
/// `MARKETPLACE_ADMIN_PASSWORD` (and optionally `MARKETPLACE_ADMIN_USERNAME`) when set, otherwise
/// `admin@localhost` with a generated password printed once.
enum FirstAdmin {
    static func ensure(dataDirectory: String) async throws {
        guard try await !AuthService.hasAdmin(dataDirectory: dataDirectory) else { return }
        let environment = ProcessInfo.processInfo.environment
        let email = environment["MARKETPLACE_ADMIN_EMAIL"] ?? "admin@localhost.localdomain"
        let username = environment["MARKETPLACE_ADMIN_USERNAME"] ?? "admin"
        let generated = environment["MARKETPLACE_ADMIN_PASSWORD"] == nil
        let password = environment["MARKETPLACE_ADMIN_PASSWORD"] ?? FirstAdmin.randomPassword()
        do {
            let user = try await AuthService.createAdmin(dataDirectory: dataDirectory, username: username, email: email, password: password)
            print("first admin created: \(user.username) <\(user.email)>")
            if generated { print("  password (shown once, change it): \(password)") }
        } catch let error as RPCError {
            throw ValidationError("cannot create the first admin: \(error.message) (check MARKETPLACE_ADMIN_EMAIL / _PASSWORD / _USERNAME)")
        }
    }

    static func randomPassword() -> String {
        let alphabet = Array("abcdefghijkmnopqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789")
        var generator = SystemRandomNumberGenerator()
        return String((0..<20).map { _ in alphabet[Int.random(in: 0..<alphabet.count, using: &generator)] })
    }
}

/// SIGINT and SIGTERM: a handler (async-signal-safe: one `write` to a pipe) replaces the default
/// action, and a thread of its own reads the pipe. The first signal asks for a graceful
/// shutdown; a second one exits at once.
enum ShutdownSignals {
    /// The pipe the handler writes the signal number to (set once, before the handler).
    nonisolated(unsafe) static var pipeWriteEnd: Int32 = -1

    /// Installs the handler and starts the reader; `graceful` runs on the first signal.
    static func watch(_ graceful: @escaping @Sendable (Int32) -> Void) {
        var fds: [Int32] = [0, 0]
        guard pipe(&fds) == 0 else { return }
        pipeWriteEnd = fds[1]
        let readEnd = fds[0]
        for sig in [SIGINT, SIGTERM] {
            signal(sig) { received in
                var byte = UInt8(truncatingIfNeeded: received)
                _ = write(ShutdownSignals.pipeWriteEnd, &byte, 1)
            }
        }
        let thread = Thread {
            var count = 0
            var byte: UInt8 = 0
            while read(readEnd, &byte, 1) == 1 {
                count += 1
                if count == 1 {
                    graceful(Int32(byte))
                } else {
                    FileHandle.standardError.write(Data("second signal: exiting now\n".utf8))
                    exit(128 + Int32(byte))
                }
            }
        }
        thread.name = "signals"
        thread.start()
    }
}

extension ServiceGroup {
    /// Runs the group until a signal (or a service's end) asks for a graceful shutdown.
    func runUntilSignalled(logger: Logger) async throws {
        ShutdownSignals.watch { signal in
            logger.notice("shutting down gracefully", metadata: ["signal": "\(signal == SIGTERM ? "SIGTERM" : "SIGINT")"])
            Task { await self.triggerGracefulShutdown() }
        }
        try await run()
    }
}
