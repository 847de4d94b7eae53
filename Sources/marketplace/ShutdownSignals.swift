import Foundation
import Logging
import ServiceLifecycle

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
            logger.notice(
                "shutting down gracefully",
                metadata: ["signal": "\(signal == SIGTERM ? "SIGTERM" : "SIGINT")"]
            )
            Task { await self.triggerGracefulShutdown() }
        }
        try await run()
    }
}
