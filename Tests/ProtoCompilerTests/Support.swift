import Foundation
import ProtoCompiler
import Testing

let repositoryRoot: URL = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
    .deletingLastPathComponent()

/// Compiles in-memory files; the first is the one requested.
func compile(_ files: [String: String], main: String = "test.proto") throws -> SchemaCompiler.Result {
    try SchemaCompiler(provider: InMemorySourceProvider(files: files)).compile([main])
}

/// Compiles `source` as `test.proto` and returns every diagnostic as printed (empty on success).
func diagnostics(_ source: String, extra: [String: String] = [:]) -> [String] {
    var files = extra
    files["test.proto"] = source
    do {
        let result = try compile(files)
        return result.warnings.map(\.description)
    } catch let failure as CompilationFailed {
        return failure.diagnostics.map(\.description)
    } catch {
        return ["unexpected: \(error)"]
    }
}

struct ProcessResult {
    var status: Int32
    var output: String
}

func runProcess(_ executable: String, _ arguments: [String]) throws -> ProcessResult {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
    process.arguments = [executable] + arguments
    let pipe = Pipe()
    process.standardOutput = pipe
    process.standardError = pipe
    try process.run()
    let data = pipe.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    return ProcessResult(status: process.terminationStatus, output: String(decoding: data, as: UTF8.self))
}

/// Every `.proto` under `Protos/`, as import paths.
func projectProtos() throws -> [String] {
    let root = repositoryRoot.appendingPathComponent("Protos")
    guard let enumerator = FileManager.default.enumerator(at: root, includingPropertiesForKeys: nil) else { return [] }
    var result: [String] = []
    for case let url as URL in enumerator where url.pathExtension == "proto" {
        result.append(String(url.standardizedFileURL.path.dropFirst(root.standardizedFileURL.path.count + 1)))
    }
    return result.sorted()
}
