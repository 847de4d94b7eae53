import Foundation
import TestSupport
import Testing

/// `protogen` as a built binary: what the build plugin and `make generate` run.
@Suite("protogen command line")
struct ProtogenCLITests {
    var protogen: String { repositoryRoot.appendingPathComponent(".build/debug/protogen").path }

    @Test("errors are printed compiler-style and the exit code is 1")
    func errors() async throws {
        let dir = try makeTemporaryDirectory("protogen")
        defer { try? FileManager.default.removeItem(at: dir) }
        try "syntax = \"proto3\";\nmessage M {\n    Ordr o = 1;\n}\n".write(
            to: dir.appendingPathComponent("bad.proto"),
            atomically: true,
            encoding: .utf8
        )
        let run = try await runProcess(protogen, ["-I", dir.path, "--out", dir.path, "bad.proto"])
        #expect(run.status == 1)
        #expect(run.output.contains("\(dir.path)/bad.proto:3:5: error: unknown type 'Ordr'"))
        #expect(run.output.contains("1 error generated."))
    }

    @Test("generates one file per .proto, and --check reports a stale one")
    func generateAndCheck() async throws {
        let dir = try makeTemporaryDirectory("protogen")
        defer { try? FileManager.default.removeItem(at: dir) }
        let proto = dir.appendingPathComponent("a/v1/thing.proto")
        try FileManager.default.createDirectory(
            at: proto.deletingLastPathComponent(),
            withIntermediateDirectories: true
        )
        try "syntax = \"proto3\";\npackage a.v1;\nmessage Thing { string name = 1; }\n".write(
            to: proto,
            atomically: true,
            encoding: .utf8
        )
        let out = dir.appendingPathComponent("out")
        let generated = try await runProcess(protogen, ["-I", dir.path, "--out", out.path, proto.path])
        #expect(generated.status == 0, "\(generated.output)")
        let swift = try String(contentsOf: out.appendingPathComponent("a_v1_thing.pb.swift"), encoding: .utf8)
        #expect(swift.contains("public struct Thing: ProtoRuntime.Message"))
        let fresh = try await runProcess(protogen, ["-I", dir.path, "--out", out.path, "--check", "a/v1/thing.proto"])
        #expect(fresh.status == 0)
        try "syntax = \"proto3\";\npackage a.v1;\nmessage Thing { string name = 1; int32 n = 2; }\n".write(
            to: proto,
            atomically: true,
            encoding: .utf8
        )
        let stale = try await runProcess(protogen, ["-I", dir.path, "--out", out.path, "--check", "a/v1/thing.proto"])
        #expect(stale.status == 1)
        #expect(stale.output.contains("a_v1_thing.pb.swift: stale"))
    }

    @Test("--index --only-index writes only the module's index: every file, the files with services, their names")
    func index() async throws {
        let dir = try makeTemporaryDirectory("protogen")
        defer { try? FileManager.default.removeItem(at: dir) }
        let files = [
            "a/v1/things.proto": "syntax = \"proto3\";\npackage a.v1;\nmessage Thing { string name = 1; }\n",
            "a/v1/shop.proto": """
            syntax = "proto3";
            package a.v1;
            import "a/v1/things.proto";
            service Shop { rpc Get(Thing) returns (Thing); }
            service Till { rpc Ring(Thing) returns (Thing); }
            """,
            "a/v1/depot.proto": """
            syntax = "proto3";
            package a.v1;
            import "a/v1/things.proto";
            service Depot { rpc Put(Thing) returns (Thing); }
            """,
        ]
        for (path, text) in files {
            let url = dir.appendingPathComponent(path)
            try FileManager.default.createDirectory(
                at: url.deletingLastPathComponent(),
                withIntermediateDirectories: true
            )
            try text.write(to: url, atomically: true, encoding: .utf8)
        }
        let out = dir.appendingPathComponent("out")
        let run = try await runProcess(
            protogen,
            ["-I", dir.path, "--out", out.path, "--index", "AIndex", "--only-index"] + files.keys.sorted()
        )
        #expect(run.status == 0, "\(run.output)")
        let made = try FileManager.default.contentsOfDirectory(atPath: out.path)
        #expect(made == ["AIndex.pb.swift"])
        let swift = try String(contentsOf: out.appendingPathComponent("AIndex.pb.swift"), encoding: .utf8)
        #expect(swift.contains("public enum AIndex {"))
        #expect(
            swift.contains(
                "static let files: [[ProtoRuntime.EmbeddedFileDescriptor]] = [\n        DepotProtoFile.files,\n"
                    + "        ShopProtoFile.files,\n        ThingsProtoFile.files,\n    ]"
            )
        )
        #expect(
            swift.contains(
                "static let serviceFiles: [[ProtoRuntime.EmbeddedFileDescriptor]] = [\n        DepotProtoFile.files,\n"
                    + "        ShopProtoFile.files,\n    ]"
            )
        )
        #expect(swift.contains("static let serviceNames: [String] = [\"a.v1.Depot\", \"a.v1.Shop\", \"a.v1.Till\"]"))
        for bad in [["--index", "A-Index"], ["--only-index"]] {
            let refused = try await runProcess(
                protogen,
                ["-I", dir.path, "--out", out.path] + bad + ["a/v1/shop.proto"]
            )
            #expect(refused.status != 0, "\(bad)")
        }
    }
}
