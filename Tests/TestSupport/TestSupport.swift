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
