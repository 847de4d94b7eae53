public import Foundation

/// A child process a test can kill without ceremony (SIGKILL) and start again.
public final class Child: @unchecked Sendable {
    public let process = Process()

    /// Starts `executable` with `arguments`, its output in `log` (emptied first unless `append`).
    public init(_ executable: String, _ arguments: [String], log: URL, append: Bool = false) throws {
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        if !append || !FileManager.default.fileExists(atPath: log.path) {
            _ = FileManager.default.createFile(atPath: log.path, contents: nil)
        }
        let handle = try FileHandle(forWritingTo: log)
        handle.seekToEndOfFile()
        process.standardOutput = handle
        process.standardError = handle
        try process.run()
    }

    /// SIGKILL, and waits for it to be gone.
    public func kill9() {
        kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
    }

    /// SIGTERM if it still runs, and waits.
    public func terminate() {
        if process.isRunning {
            process.terminate()
            process.waitUntilExit()
        }
    }
}
