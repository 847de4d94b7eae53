import Foundation
import ProtoCompiler
import TestSupport
import Testing

@Suite("Generated code")
struct GoldenTests {
    @Test("the Swift generated for golden.proto matches the checked-in golden.pb.swift")
    func golden() throws {
        let directory = repositoryRoot.appendingPathComponent("Tests/ProtoCompilerTests/Golden")
        let result = try SchemaCompiler(provider: DirectorySourceProvider(roots: [directory.path])).compile([
            "golden.proto"
        ])
        let file = try #require(result.requestedFiles.first)
        let generated = SwiftGenerator().generate(file, schema: result.schema)
        let goldenURL = directory.appendingPathComponent("golden.pb.swift")
        if ProcessInfo.processInfo.environment["UPDATE_GOLDEN"] == "1" {
            try generated.write(to: goldenURL, atomically: true, encoding: .utf8)
        }
        let expected = try String(contentsOf: goldenURL, encoding: .utf8)
        #expect(generated == expected, "golden.pb.swift is stale; rerun with UPDATE_GOLDEN=1 and review the diff")
    }

    @Test("Generated/ is fresh: regenerating Protos/ in memory reproduces every committed file")
    func generatedIsFresh() throws {
        let protos = repositoryRoot.appendingPathComponent("Protos").path
        let result = try SchemaCompiler(provider: DirectorySourceProvider(roots: [protos])).compile(try projectProtos())
        let outputs = GeneratedOutputs.make(result)
        // The MarketplaceAPI module's index, as `make generate` writes it (from Protos/marketplace only).
        let marketplace = try SchemaCompiler(provider: DirectorySourceProvider(roots: [protos])).compile(
            try projectProtos().filter { $0.hasPrefix("marketplace/") }
        )
        let index = GeneratedOutputs.make(marketplace, index: "MarketplaceAPIIndex", onlyIndex: true)
        #expect(index.swiftFiles.map(\.name) == ["MarketplaceAPIIndex.pb.swift"])
        let generated = repositoryRoot.appendingPathComponent("Generated")
        var expectedNames: Set<String> = []
        for (name, text) in outputs.swiftFiles + index.swiftFiles {
            expectedNames.insert(name)
            let url = generated.appendingPathComponent("swift/\(name)")
            let committed = FileManager.default.contents(atPath: url.path).map { String(decoding: $0, as: UTF8.self) }
            #expect(committed == text, "Generated/swift/\(name) is stale; run 'make generate'")
        }
        let listed = try FileManager.default.contentsOfDirectory(atPath: generated.appendingPathComponent("swift").path)
        for name in listed where !expectedNames.contains(name) {
            Issue.record("Generated/swift/\(name) has no .proto in Protos/; run 'make generate' and delete it")
        }
        let descriptors = FileManager.default.contents(
            atPath: generated.appendingPathComponent("descriptors.binpb").path
        )
        #expect(
            descriptors.map(Array.init) == outputs.descriptorSet,
            "Generated/descriptors.binpb is stale; run 'make generate'"
        )
    }

    @Test("swift naming: properties, cases, escaping")
    func naming() {
        #expect(SwiftNaming.propertyName("order_id") == "orderId")
        #expect(SwiftNaming.propertyName("unknown_fields") == "unknownFields_")
        #expect(SwiftNaming.escaped("default") == "`default`")
        #expect(SwiftNaming.caseName("ORDER_STATUS_PENDING_REVIEW", enumName: "OrderStatus") == "pendingReview")
        #expect(SwiftNaming.caseName("STATUS_1X", enumName: "Status") == "_1x")
        #expect(SwiftNaming.caseName("RED", enumName: "Color") == "red")
        #expect(SwiftNaming.typeName("String") == "String_")
        #expect(SwiftNaming.fileNamespace("marketplace/v1/order-events.proto") == "OrderEventsProtoFile")
    }
}

@Suite("protoc as an oracle for the compiler", .serialized)
struct ProtocOracleTests {
    let oracle = repositoryRoot.appendingPathComponent("Tests/Conformance/oracle.py").path

    @Test("our descriptors equal protoc's, byte for byte, for Protos/ and the test schemas")
    func descriptorsMatchProtoc() async throws {
        let roots = [
            repositoryRoot.appendingPathComponent("Protos").path,
            repositoryRoot.appendingPathComponent("Sources/ProtoFixtures/protos").path,
            repositoryRoot.appendingPathComponent("Tests/ProtoCompilerTests/Golden").path,
        ]
        let files = try projectProtos() + ["test/v1/conformance.proto", "test/v1/bench.proto", "golden.proto"]
        let result = try SchemaCompiler(provider: DirectorySourceProvider(roots: roots)).compile(files)
        let set = GeneratedOutputs.make(result).descriptorSet
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("ours-\(UUID().uuidString).binpb")
        try Data(set).write(to: path)
        defer { try? FileManager.default.removeItem(at: path) }
        var arguments = [oracle, "descriptors", "--ours", path.path]
        for root in roots { arguments += ["--proto-path", root] }
        let run = try await runProcess("python3", arguments + files)
        #expect(run.status == 0, "\(run.output)")
        #expect(run.output.contains("differing: 0"), "\(run.output)")
    }
}
