public import Foundation

/// The repository root: tests read fixtures and run scripts from it.
public let repositoryRoot: URL = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
    .deletingLastPathComponent()

/// A fresh, empty temporary directory.
public func makeTemporaryDirectory(_ name: String = "tests") throws -> URL {
    let url = FileManager.default.temporaryDirectory.appendingPathComponent("\(name)-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    return url
}

/// How a finished process ended.
public struct ProcessResult: Sendable {
    public var status: Int32
    /// Standard output and standard error, interleaved.
    public var output: String
}

/// Runs a program (looked up on `PATH`) to completion. The wait happens off Swift's cooperative
/// pool, so servers and other tests keep running meanwhile.
public func runProcess(
    _ executable: String, _ arguments: [String], in directory: URL? = nil, input: String? = nil
) async throws -> ProcessResult {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
    process.arguments = [executable] + arguments
    if let directory { process.currentDirectoryURL = directory }
    let pipe = Pipe()
    process.standardOutput = pipe
    process.standardError = pipe
    let stdin = Pipe()
    process.standardInput = stdin
    try process.run()
    if let input { stdin.fileHandleForWriting.write(Data(input.utf8)) }
    try stdin.fileHandleForWriting.close()
    let reader = pipe.fileHandleForReading
    return await withCheckedContinuation { continuation in
        Thread.detachNewThread {
            let data = reader.readDataToEndOfFile()
            process.waitUntilExit()
            continuation.resume(
                returning: ProcessResult(status: process.terminationStatus, output: String(decoding: data, as: UTF8.self)))
        }
    }
}

/// Polls `condition` every 5 ms until it holds or `timeout` passes; asynchronous effects are
/// awaited this way, never by a fixed delay. Returns whether it held.
@discardableResult
public func eventually(timeout: Duration = .seconds(10), _ condition: () async throws -> Bool) async throws -> Bool {
    let deadline = ContinuousClock.now + timeout
    while try await !condition() {
        if ContinuousClock.now > deadline { return false }
        try await Task.sleep(for: .milliseconds(5))
    }
    return true
}
