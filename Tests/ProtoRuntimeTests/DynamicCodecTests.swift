import Foundation
import ProtoFixtures
import ProtoRuntime
import RPC
import Testing

/// The schema-driven codec (rpcctl, the gateway's generic endpoint) must agree with generated code.
@Suite("Dynamic codec against generated code")
struct DynamicCodecTests {
    let codec: DynamicCodec

    init() throws {
        codec = DynamicCodec(pool: try DescriptorPool(serializedFiles: ConformanceProtoFile.files.map(\.serialized)))
    }

    func json(_ bytes: [UInt8]) -> String { String(decoding: bytes, as: UTF8.self) }

    @Test("binary → JSON matches the generated JSON, with and without defaults")
    func toJSON() throws {
        var random = RandomMessages(rng: SplitMix64(seed: 99))
        for i in 0..<300 {
            let (message, name): (any ProtoRuntime.Message, String) =
                i % 4 == 3 ? (random.tree(), "test.v1.Tree") : (random.allTypes(), "test.v1.AllTypes")
            for options in [
                JSONEncodingOptions(), JSONEncodingOptions(emitDefaults: true, preserveProtoFieldNames: true),
            ] {
                let dynamic = try codec.json(from: message.serializedBytes(), as: name, options: options)
                let generated = message.jsonUTF8Bytes(options: options)
                // Same document, compared as parsed JSON (map key order may differ).
                #expect(
                    try JSONValue.parse(dynamic).normalized == JSONValue.parse(generated).normalized,
                    "case \(i): \(json(dynamic))"
                )
            }
        }
    }

    @Test("binary → JSON tree is exactly the parsed JSON text (member order and number spelling included)")
    func toJSONTree() throws {
        var random = RandomMessages(rng: SplitMix64(seed: 41))
        for i in 0..<300 {
            let (message, name): (any ProtoRuntime.Message, String) =
                i % 4 == 3 ? (random.tree(), "test.v1.Tree") : (random.allTypes(), "test.v1.AllTypes")
            for options in [
                JSONEncodingOptions(), JSONEncodingOptions(emitDefaults: true, preserveProtoFieldNames: true),
                JSONEncodingOptions(enumsAsIntegers: true),
            ] {
                let bytes = message.serializedBytes()
                let text = try codec.json(from: bytes, as: name, options: options)
                #expect(
                    try codec.jsonValue(from: bytes, as: name, options: options) == JSONValue.parse(text),
                    "case \(i): \(json(text))"
                )
            }
        }
        #expect(throws: ProtoDecodingError.self) { try codec.jsonValue(from: [0xFF], as: "test.v1.AllTypes") }
    }

    @Test("JSON → binary decodes to the same message the generated JSON reader produces")
    func fromJSON() throws {
        var random = RandomMessages(rng: SplitMix64(seed: 7))
        for i in 0..<300 {
            let message = random.allTypes()
            let text = message.jsonUTF8Bytes()
            let bytes = try codec.encode(json: text, as: "test.v1.AllTypes")
            #expect(try AllTypes(serializedBytes: bytes) == AllTypes(jsonUTF8Bytes: text), "case \(i)")
        }
    }

    @Test("errors name the path; unknown fields are refused unless ignored")
    func errors() throws {
        #expect(throws: JSONDecodingError.self) {
            try codec.encode(json: Array(#"{"nope":1}"#.utf8), as: "test.v1.AllTypes")
        }
        let ignored = try codec.encode(
            json: Array(#"{"nope":1,"fInt32":5}"#.utf8),
            as: "test.v1.AllTypes",
            ignoreUnknownFields: true
        )
        #expect(try AllTypes(serializedBytes: ignored).fInt32 == 5)
        do {
            _ = try codec.encode(json: Array(#"{"rNested":[{},{"a":"x"}]}"#.utf8), as: "test.v1.AllTypes")
            Issue.record("accepted a string for an int32")
        } catch let error as JSONDecodingError {
            #expect(error.description == "$.rNested[1].a: expected an integer")
        }
    }
}

extension JSONValue {
    /// Objects with members sorted by key, numbers compared by value (for equality of documents).
    var normalized: JSONValue {
        switch self {
        case .object(let members): return .object(members.map { ($0.0, $0.1.normalized) }.sorted { $0.0 < $1.0 })
        case .array(let elements): return .array(elements.map(\.normalized))
        case .number(let text): return .number(Double(text).map { "\($0)" } ?? text)
        default: return self
        }
    }
}
