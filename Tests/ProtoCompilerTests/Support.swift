import Foundation
import ProtoCompiler
import TestSupport
import Testing

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
