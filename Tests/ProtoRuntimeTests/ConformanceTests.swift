import Foundation
import ProtoFixtures
import ProtoRuntime
import TestSupport
import Testing

/// Checks our codec against protobuf's reference implementation (Python `protobuf`, `protoc` from
/// `grpcio-tools`), in both directions, for binary and JSON.
@Suite("Conformance with the protobuf reference implementation", .serialized)
struct ConformanceTests {
    let oracle = repositoryRoot.appendingPathComponent("Tests/Conformance/oracle.py").path
    let fixtures = repositoryRoot.appendingPathComponent("Sources/ProtoFixtures/protos").path

    func decode(kind: String, binary: [UInt8]) throws -> any Message {
        kind == "Tree" ? try Tree(serializedBytes: binary) : try AllTypes(serializedBytes: binary)
    }

    func decode(kind: String, json: [UInt8]) throws -> any Message {
        kind == "Tree" ? try Tree(jsonUTF8Bytes: json) : try AllTypes(jsonUTF8Bytes: json)
    }

    @Test("Python bytes and JSON decode in Swift to equal values; Swift's output decodes in Python to equal messages")
    func bothDirections() async throws {
        let work = try makeTemporaryDirectory("conformance")
        defer {
            if ProcessInfo.processInfo.environment["KEEP_CONFORMANCE"] == nil {
                try? FileManager.default.removeItem(at: work)
            } else {
                print("conformance work dir: \(work.path)")
            }
        }
        let module = work.appendingPathComponent("module").path
        let compiled = try await runProcess(
            "python3",
            [oracle, "compile", "--proto-path", fixtures, "--out", module, "test/v1/conformance.proto"]
        )
        try #require(compiled.status == 0, "protoc failed: \(compiled.output)")
        let count = 400
        let generated = try await runProcess(
            "python3",
            [oracle, "generate", "--module-dir", module, "--work", work.path, "--count", "\(count)", "--seed", "7"]
        )
        try #require(generated.status == 0, "\(generated.output)")

        // Python-born cases: decode both forms, compare, re-encode for Python to check.
        let py = work.appendingPathComponent("py")
        let swiftOut = work.appendingPathComponent("swift")
        try FileManager.default.createDirectory(at: swiftOut, withIntermediateDirectories: true)
        for i in 0..<count {
            let kind = try String(contentsOf: py.appendingPathComponent("\(i).kind"), encoding: .utf8)
            let binary = try [UInt8](Data(contentsOf: py.appendingPathComponent("\(i).bin")))
            let json = try [UInt8](Data(contentsOf: py.appendingPathComponent("\(i).json")))
            let fromBinary = try decode(kind: kind, binary: binary)
            let fromJSON = try decode(kind: kind, json: json)
            #expect(fromBinary.isEqual(to: fromJSON), "case \(i): JSON and binary decode differently")
            let canonical = try String(contentsOf: py.appendingPathComponent("\(i).canonical"), encoding: .utf8) == "1"
            if canonical {
                #expect(fromBinary.serializedBytes() == binary, "case \(i): re-encoding is not byte-equal")
            }
            try Data(fromBinary.serializedBytes()).write(to: swiftOut.appendingPathComponent("\(i).bin"))
            try Data(fromBinary.jsonUTF8Bytes()).write(to: swiftOut.appendingPathComponent("\(i).json"))
        }

        // Swift-born cases.
        let origin = work.appendingPathComponent("swift_origin")
        try FileManager.default.createDirectory(at: origin, withIntermediateDirectories: true)
        var random = RandomMessages(rng: SplitMix64(seed: 42))
        var originals: [any Message] = []
        for i in 0..<count {
            let kind = i % 5 == 4 ? "Tree" : "AllTypes"
            let message: any Message = kind == "Tree" ? random.tree() : random.allTypes()
            originals.append(message)
            try Data(message.serializedBytes()).write(to: origin.appendingPathComponent("\(i).bin"))
            try Data(message.jsonUTF8Bytes()).write(to: origin.appendingPathComponent("\(i).json"))
            try kind.write(to: origin.appendingPathComponent("\(i).kind"), atomically: true, encoding: .utf8)
        }
        let checked = try await runProcess("python3", [oracle, "check", "--module-dir", module, "--work", work.path])
        #expect(checked.status == 0, "\(checked.output)")

        // Python's re-encodings of Swift-born cases decode back to the originals.
        let roundTrip = work.appendingPathComponent("py_roundtrip")
        for i in 0..<count {
            let kind = i % 5 == 4 ? "Tree" : "AllTypes"
            let binary = try [UInt8](Data(contentsOf: roundTrip.appendingPathComponent("\(i).bin")))
            let json = try [UInt8](Data(contentsOf: roundTrip.appendingPathComponent("\(i).json")))
            #expect(try decode(kind: kind, binary: binary).isEqual(to: originals[i]), "swift case \(i): binary")
            #expect(try decode(kind: kind, json: json).isEqual(to: originals[i]), "swift case \(i): JSON")
        }
    }
}

extension Message {
    func isEqual(to other: any Message) -> Bool {
        guard let other = other as? Self else { return false }
        return self == other
    }
}
