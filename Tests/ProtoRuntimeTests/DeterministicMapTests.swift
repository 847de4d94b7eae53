import Foundation
import ProtoFixtures
import ProtoRuntime
import TestSupport
import Testing

/// Map entries are written in key order, so equal messages give equal bytes in every process:
/// checked across two processes against protobuf's `SerializeToString(deterministic=True)` (its
/// pure-Python implementation, which sorts keys as C++ does; `oracle.py` says why not upb).
@Suite("Deterministic map order across processes, as protobuf's deterministic serialization")
struct DeterministicMapTests {
    let oracle = repositoryRoot.appendingPathComponent("Tests/Conformance/oracle.py").path
    let fixtures = repositoryRoot.appendingPathComponent("Sources/ProtoFixtures/protos").path
    let peer = repositoryRoot.appendingPathComponent(".build/debug/map-encoding-peer").path

    /// An AllTypes with 20+ entries in each map whose key type allows it. The string keys include
    /// ones whose UTF-8 order differs from Swift's Unicode ordering ("Ḍ̇" is not in NFC: Swift
    /// compares it as "Ḍ̇", after "ḋ"; its bytes come before).
    static var input: String {
        func object(_ pairs: [(String, String)]) -> String {
            "{" + pairs.map { "\"\($0.0)\": \($0.1)" }.joined(separator: ", ") + "}"
        }
        let strings =
            (0..<20).map { "k\(($0 * 7) % 20)" } + ["", "Z", "é", "\u{1E0A}\u{0323}", "\u{1E0B}", "中", "😀", "a b"]
        let spread: [Int64] = (0..<20).map { (j: Int) -> Int64 in
            let magnitude = Int64(j * 37 % 41 + 2)
            return j % 2 == 0 ? magnitude : -magnitude
        }
        let int32s: [Int64] = [-2_147_483_648, 2_147_483_647, 0, 1, -1] + spread
        let int64s =
            ["-9223372036854775808", "9223372036854775807", "4294967296", "-4294967296"]
            + (0..<20).map { String(($0 * 13 % 23) - 11) }
        let uint32s = ["4294967295", "2147483648", "2147483647", "0"] + (0..<20).map { String($0 * 17 % 29 + 1) }
        let uint64s =
            ["18446744073709551615", "9223372036854775808", "9223372036854775807", "0"]
            + (0..<20).map { String($0 * 11 % 31 + 1) }
        let fields = [
            ("mStringString", object(strings.map { ($0, "\"v\($0.utf8.count)\"") })),
            ("mInt32Int64", object(int32s.map { (String($0), "\"\($0 * 3)\"") })),
            ("mInt64String", object(int64s.map { ($0, "\"s\($0)\"") })),
            ("mUint32Bool", object(uint32s.map { ($0, $0.count % 2 == 0 ? "true" : "false") })),
            ("mUint64Bytes", object(uint64s.map { ($0, "\"AQI=\"") })),
            ("mSint32Double", object(int32s.map { (String($0), "\(Double($0 % 8) / 4)") })),
            ("mFixed32Enum", object(uint32s.map { ($0, "\"COLOR_GREEN\"") })),
            ("mFixed64Nested", object(uint64s.map { ($0, #"{"a": 7, "b": "n"}"#) })),
            ("mSfixed32Sfixed64", object(int32s.map { (String($0), "\"\(-$0)\"") })),
            ("mBoolString", object([("true", "\"t\""), ("false", "\"f\"")])),
        ]
        return object(fields)
    }

    @Test(
        "two Swift processes (generated code and the dynamic codec) write Python's deterministic bytes; JSON maps in key order"
    )
    func acrossProcesses() async throws {
        let work = try makeTemporaryDirectory("maps")
        defer { try? FileManager.default.removeItem(at: work) }
        let input = work.appendingPathComponent("input.json")
        try Data(Self.input.utf8).write(to: input)
        let module = work.appendingPathComponent("module").path
        let compiled = try await runProcess(
            "python3",
            [oracle, "compile", "--proto-path", fixtures, "--out", module, "test/v1/conformance.proto"]
        )
        try #require(compiled.status == 0, "protoc failed: \(compiled.output)")
        let pythonOut = work.appendingPathComponent("python.bin")
        let python = try await runProcess(
            "python3",
            [oracle, "deterministic", "--module-dir", module, "--json", input.path, "--out", pythonOut.path]
        )
        try #require(python.status == 0, "\(python.output)")
        let expected = try [UInt8](Data(contentsOf: pythonOut))

        var runs: [URL] = []
        for run in 0..<2 {
            let out = work.appendingPathComponent("run\(run)")
            try FileManager.default.createDirectory(at: out, withIntermediateDirectories: true)
            let result = try await runProcess(peer, [input.path, out.path])
            try #require(result.status == 0, "\(result.output)")
            runs.append(out)
        }
        func read(_ run: URL, _ name: String) throws -> [UInt8] {
            try [UInt8](Data(contentsOf: run.appendingPathComponent(name)))
        }
        for run in runs {
            #expect(try read(run, "generated.bin") == expected, "generated code in \(run.lastPathComponent)")
            #expect(try read(run, "dynamic.bin") == expected, "the dynamic codec in \(run.lastPathComponent)")
        }
        #expect(try read(runs[0], "generated.json") == read(runs[1], "generated.json"))
        #expect(try read(runs[0], "dynamic.json") == read(runs[1], "dynamic.json"))
        // And in this process too.
        #expect(try AllTypes(jsonUTF8Bytes: Array(Self.input.utf8)).serializedBytes() == expected)

        // JSON maps in key order: bytewise for strings, numeric for integers (unsigned as unsigned).
        let json = try JSONValue.parse(read(runs[0], "generated.json"))
        func keys(_ field: String) -> [String] {
            if case .object(let members)? = json[field] { return members.map(\.0) }
            return []
        }
        let stringKeys = keys("mStringString")
        #expect(stringKeys.count == 28)
        #expect(stringKeys == stringKeys.sorted { $0.utf8.lexicographicallyPrecedes($1.utf8) })
        #expect(keys("mInt64String").compactMap { Int64($0) } == keys("mInt64String").compactMap { Int64($0) }.sorted())
        #expect(
            keys("mUint64Bytes").compactMap { UInt64($0) } == keys("mUint64Bytes").compactMap { UInt64($0) }.sorted()
        )
        #expect(keys("mBoolString") == ["false", "true"])
        let dynamicJSON = try JSONValue.parse(read(runs[0], "dynamic.json"))
        if case .object(let members)? = dynamicJSON["mStringString"] { #expect(members.map(\.0) == stringKeys) }
    }
}
