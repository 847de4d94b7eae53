import Foundation
import ProtoFixtures
import ProtoRuntime
import RPC
import TestSupport
import Testing

@Suite("Input nested as deep as an attacker likes: a typed error, never a stack overflow")
struct DeepInputTests {
    static let depth = 100_000
    let codec: DynamicCodec

    init() throws {
        codec = DynamicCodec(pool: try DescriptorPool(serializedFiles: ConformanceProtoFile.files.map(\.serialized)))
    }

    /// A Tree nested through `left` (field 2).
    static let deepBinary = nestedBytes([0x0A, 0x01, UInt8(ascii: "x")], tag: 0x12, depth: depth)
    /// A Tree nested through the map `named` (field 5): each entry is {key "k", value Tree}.
    static let deepThroughMaps = nestedBytes([], depth: depth) { size in
        let entry = [0x0A, 0x01, UInt8(ascii: "k"), 0x12] + varintBytes(size)
        return [0x2A] + varintBytes(entry.count + size) + entry
    }
    static let deepJSON = Array(
        (String(repeating: #"{"left":"#, count: depth) + "{}" + String(repeating: "}", count: depth)).utf8
    )
    static let deepArrays = Array((String(repeating: "[", count: depth) + String(repeating: "]", count: depth)).utf8)

    @Test("generated code: binary through fields and maps, JSON through objects and skipped arrays")
    func generated() {
        #expect(throws: ProtoDecodingError.nestingTooDeep(limit: WireReader.maximumDepth)) {
            try Tree(serializedBytes: Self.deepBinary)
        }
        #expect(throws: ProtoDecodingError.nestingTooDeep(limit: WireReader.maximumDepth)) {
            try Tree(serializedBytes: Self.deepThroughMaps)
        }
        #expect(throws: JSONDecodingError.self) { try Tree(jsonUTF8Bytes: Self.deepJSON) }
        let unknownDeep = Array(#"{"nope":"#.utf8) + Self.deepArrays + Array("}".utf8)
        #expect(throws: JSONDecodingError.self) {
            try Tree(jsonUTF8Bytes: unknownDeep, options: JSONDecodingOptions(ignoreUnknownFields: true))
        }
    }

    @Test("JSONValue.parse: objects and arrays 100,000 deep are an error naming the limit")
    func jsonValue() {
        for document in [Self.deepJSON, Self.deepArrays] {
            do {
                _ = try JSONValue.parse(document)
                Issue.record("a document nested 100,000 deep parsed")
            } catch {
                #expect("\(error)".contains("nesting deeper than 100 levels"), "\(error)")
            }
        }
    }

    @Test(
        "the dynamic codec: binary → JSON and JSON → binary, nested through fields and maps, and a value built deep in code"
    )
    func dynamicCodec() throws {
        #expect(throws: ProtoDecodingError.nestingTooDeep(limit: WireReader.maximumDepth)) {
            try codec.json(from: Self.deepBinary, as: "test.v1.Tree")
        }
        #expect(throws: ProtoDecodingError.nestingTooDeep(limit: WireReader.maximumDepth)) {
            try codec.json(from: Self.deepThroughMaps, as: "test.v1.Tree")
        }
        #expect(throws: JSONDecodingError.self) { try codec.encode(json: Self.deepJSON, as: "test.v1.Tree") }
        var value = JSONValue.object([])
        for _ in 0..<150 { value = .object([("named", .object([("k", value)]))]) }
        #expect(throws: JSONDecodingError.self) { try codec.encode(value, as: "test.v1.Tree") }
        // Within the limit both directions work.
        let shallow = nestedBytes([0x0A, 0x01, UInt8(ascii: "x")], tag: 0x12, depth: 50)
        let json = try codec.json(from: shallow, as: "test.v1.Tree")
        #expect(try codec.encode(json: json, as: "test.v1.Tree") == shallow)
    }

    @Test("a descriptor whose nested types go 100,000 deep does not load (the decoder's limit bounds the pool's walk)")
    func descriptorPool() {
        // FileDescriptorProto.message_type (4) holding DescriptorProto.nested_type (3) chains.
        let message = nestedBytes(
            [0x0A, 0x01, UInt8(ascii: "M")],
            tag: 0x1A,
            depth: Self.depth,
            prefix: [0x0A, 0x01, UInt8(ascii: "N")]
        )
        let file = [0x0A, 0x06] + Array("t.prot".utf8) + [0x22] + varintBytes(message.count) + message
        #expect(throws: ProtoDecodingError.nestingTooDeep(limit: WireReader.maximumDepth)) {
            try DescriptorPool(serializedFiles: [file])
        }
    }
}
