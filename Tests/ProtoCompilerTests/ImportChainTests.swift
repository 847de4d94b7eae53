import ProtoCompiler
import Testing

@Suite("Import chains")
struct ImportChainTests {
    @Test(
        "a chain of 20,000 imports loads without growing the call stack, imports first; a cycle at its end is reported"
    )
    func longChain() throws {
        let length = 20_000
        var files: [String: String] = [:]
        for i in 0..<length {
            let next = i + 1 < length ? "import \"f\(i + 1).proto\";\n" : ""
            files["f\(i).proto"] = "syntax = \"proto3\";\npackage p;\n\(next)message M\(i) {}\n"
        }
        let result = try compile(files, main: "f0.proto")
        let paths = result.schema.files.map(\.path).filter { $0.hasPrefix("f") }
        #expect(paths.count == length)
        #expect(paths.first == "f\(length - 1).proto", "the deepest import comes first")
        #expect(paths.last == "f0.proto")

        files["f\(length - 1).proto"] =
            "syntax = \"proto3\";\npackage p;\nimport \"f0.proto\";\nmessage M\(length - 1) {}\n"
        do {
            _ = try compile(files, main: "f0.proto")
            Issue.record("a cycle compiled")
        } catch let failure as CompilationFailed {
            #expect(failure.diagnostics.contains { $0.description.contains("import cycle: f0.proto -> f1.proto") })
        }
    }
}
