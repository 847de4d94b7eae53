import NIOCore
import ProtoFixtures
import ProtoRuntime
import TestSupport
import Testing

@Suite("Binary wire format")
struct BinaryCodingTests {
    @Test(
        "scalars at their boundaries encode to protobuf's exact bytes",
        arguments: [
            // A negative int32 is a 10-byte varint.
            (AllTypes(fInt32: -1), [0x08, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x01]),
            (AllTypes(fInt32: .max), [0x08, 0xFF, 0xFF, 0xFF, 0xFF, 0x07]),
            (AllTypes(fInt64: .min), [0x10, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x01]),
            (AllTypes(fUint32: .max), [0x18, 0xFF, 0xFF, 0xFF, 0xFF, 0x0F]),
            (AllTypes(fUint64: .max), [0x20, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x01]),
            (AllTypes(fSint32: -1), [0x28, 0x01]),
            (AllTypes(fSint32: .min), [0x28, 0xFF, 0xFF, 0xFF, 0xFF, 0x0F]),
            (AllTypes(fSint64: 1), [0x30, 0x02]),
            (AllTypes(fFixed32: 1), [0x3D, 0x01, 0x00, 0x00, 0x00]),
            (AllTypes(fFixed64: 1), [0x41, 0x01, 0, 0, 0, 0, 0, 0, 0]),
            (AllTypes(fSfixed32: -2), [0x4D, 0xFE, 0xFF, 0xFF, 0xFF]),
            (AllTypes(fFloat: 1.5), [0x5D, 0x00, 0x00, 0xC0, 0x3F]),
            (AllTypes(fFloat: -0.0), [0x5D, 0x00, 0x00, 0x00, 0x80]),  // -0.0 differs from the default
            (AllTypes(fDouble: .infinity), [0x61, 0, 0, 0, 0, 0, 0, 0xF0, 0x7F]),
            (AllTypes(fBool: true), [0x68, 0x01]),
            (AllTypes(fString: "é"), [0x72, 0x02, 0xC3, 0xA9]),
            (AllTypes(fBytes: [0, 255]), [0x7A, 0x02, 0x00, 0xFF]),
            (AllTypes(fEnum: .negative), [0x80, 0x01, 0xFB, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x01]),
            (AllTypes(oString: ""), [0xBA, 0x01, 0x00]),  // present but empty: written
            (AllTypes(oInt32: 0), [0xA8, 0x01, 0x00]),
            (AllTypes(rInt32: [1, 2, 300]), [0xFA, 0x01, 0x04, 0x01, 0x02, 0xAC, 0x02]),  // packed
            (AllTypes(rUnpackedInt32: [1, 2]), [0x80, 0x03, 0x01, 0x80, 0x03, 0x02]),
            (AllTypes(choice: .cInt32(0)), [0xB8, 0x04, 0x00]),  // a set oneof member is written even at 0
            (AllTypes(fString: ""), []),  // defaults are not written
        ] as [(AllTypes, [UInt8])]
    )
    func exactBytes(message: AllTypes, bytes: [UInt8]) throws {
        #expect(message.serializedBytes() == bytes)
        #expect(message.serializedSize() == bytes.count)
        #expect(try AllTypes(serializedBytes: bytes) == message)
    }

    @Test("NaN survives a round trip")
    func nan() throws {
        let decoded = try AllTypes(serializedBytes: AllTypes(fDouble: .nan).serializedBytes())
        #expect(decoded.fDouble.isNaN)
    }

    @Test("unknown fields are kept and re-emitted after the known ones")
    func unknownFields() throws {
        let full = Edges(one: 1, maxField: 7, beforeReserved: 8, afterReserved: 9)
        let bytes = full.serializedBytes()
        let old = try EdgesV1(serializedBytes: bytes)
        #expect(old.one == 1)
        #expect(!old.unknownFields.isEmpty)
        #expect(old.serializedBytes() == bytes)
        #expect(try Edges(serializedBytes: old.serializedBytes()) == full)
    }

    @Test("a known field with an unexpected wire type is kept as unknown")
    func wrongWireType() throws {
        // Field 1 (int32) sent as fixed32.
        let message = try EdgesV1(serializedBytes: [0x0D, 1, 2, 3, 4])
        #expect(message.one == 0)
        #expect(message.unknownFields.bytes == [0x0D, 1, 2, 3, 4])
    }

    @Test("repeated scalars decode packed and unpacked alike, and mixed")
    func packedAndUnpacked() throws {
        let packed: [UInt8] = [0xFA, 0x01, 0x02, 0x05, 0x06]
        let unpacked: [UInt8] = [0xF8, 0x01, 0x05, 0xF8, 0x01, 0x06]
        #expect(try AllTypes(serializedBytes: packed).rInt32 == [5, 6])
        #expect(try AllTypes(serializedBytes: unpacked).rInt32 == [5, 6])
        #expect(try AllTypes(serializedBytes: unpacked + packed).rInt32 == [5, 6, 5, 6])
        // A field declared [packed = false] still accepts the packed form.
        #expect(try AllTypes(serializedBytes: [0x82, 0x03, 0x02, 0x07, 0x08]).rUnpackedInt32 == [7, 8])
    }

    @Test("fields in any order; the last value of a singular field wins; messages merge")
    func anyOrderAndMerge() throws {
        let a = AllTypes(fInt32: 1, fNested: AllTypes.Nested(a: 5)).serializedBytes()
        let b = AllTypes(fInt32: 2, fNested: AllTypes.Nested(b: "x")).serializedBytes()
        let merged = try AllTypes(serializedBytes: b + a)
        #expect(merged.fInt32 == 1)
        #expect(merged.fNested == AllTypes.Nested(a: 5, b: "x"))
    }

    @Test("map entries: the last value for a key wins; missing key or value take defaults")
    func maps() throws {
        let first = AllTypes(mStringString: ["k": "one"]).serializedBytes()
        let second = AllTypes(mStringString: ["k": "two"]).serializedBytes()
        #expect(try AllTypes(serializedBytes: first + second).mStringString == ["k": "two"])
        // An entry with only a value (key defaults to "") and one with only a key.
        let onlyValue: [UInt8] = [0x9A, 0x03, 0x03, 0x12, 0x01, 0x61]
        let onlyKey: [UInt8] = [0x9A, 0x03, 0x03, 0x0A, 0x01, 0x62]
        #expect(try AllTypes(serializedBytes: onlyValue + onlyKey).mStringString == ["": "a", "b": ""])
        // Deterministic output: keys in order.
        let m = AllTypes(mInt32Int64: [3: 1, -1: 2, 2: 3])
        #expect(try AllTypes(serializedBytes: m.serializedBytes()) == m)
        #expect(m.serializedBytes() == AllTypes(mInt32Int64: [2: 3, 3: 1, -1: 2]).serializedBytes())
    }

    @Test("oneof: the last member on the wire wins; a repeated message member merges")
    func oneofs() throws {
        let text = AllTypes(choice: .cString("hi")).serializedBytes()
        let number = AllTypes(choice: .cInt32(5)).serializedBytes()
        #expect(try AllTypes(serializedBytes: text + number).choice == .cInt32(5))
        #expect(try AllTypes(serializedBytes: number + text).choice == .cString("hi"))
        let n1 = AllTypes(choice: .cNested(.init(a: 1))).serializedBytes()
        let n2 = AllTypes(choice: .cNested(.init(b: "b"))).serializedBytes()
        #expect(try AllTypes(serializedBytes: n1 + n2).choice == .cNested(.init(a: 1, b: "b")))
    }

    @Test("self-referencing messages round trip (boxed, repeated, map, oneof)")
    func recursion() throws {
        var tree = Tree(label: "root")
        tree.left = Tree(label: "l", left: Tree(label: "ll"))
        tree.children = [Tree(label: "c")]
        tree.named = ["n": Tree(label: "named")]
        tree.extra = .alternate(Tree(label: "alt"))
        #expect(try Tree(serializedBytes: tree.serializedBytes()) == tree)
        var copy = tree
        copy.left?.label = "changed"
        #expect(tree.left?.label == "l", "value semantics through the box")
    }

    @Test("nesting up to the limit decodes; one level deeper is an error")
    func nestingLimit() throws {
        func nested(_ depth: Int) -> [UInt8] {
            var bytes: [UInt8] = []
            for _ in 0..<depth { bytes = Tree(left: nil).serializedBytes() + [0x12] + varint(bytes.count) + bytes }
            return bytes
        }
        #expect(throws: Never.self) { try Tree(serializedBytes: nested(WireReader.maximumDepth)) }
        #expect(throws: ProtoDecodingError.nestingTooDeep(limit: WireReader.maximumDepth)) {
            try Tree(serializedBytes: nested(WireReader.maximumDepth + 1))
        }
    }

    @Test(
        "malformed input gives a typed error, never a crash",
        arguments: [
            ([0x08], ProtoDecodingError.truncated),
            ([0x08, 0x80], .truncated),
            ([0x08, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x01], .malformedVarint),
            ([0x72, 0x05, 0x61], .lengthPastEnd(length: 5, available: 1)),
            ([0x72, 0xFF, 0xFF, 0xFF, 0xFF, 0x0F], .lengthPastEnd(length: 4_294_967_295, available: 0)),
            ([0x0B], .groupsNotSupported(fieldNumber: 1)),
            ([0x0C], .groupsNotSupported(fieldNumber: 1)),
            ([0x0E, 0x00], .invalidTag(0x0E)),
            ([0x0F, 0x00], .invalidTag(0x0F)),
            ([0x00], .invalidTag(0)),
            ([0x72, 0x02, 0xC3, 0x28], .invalidUTF8(fieldNumber: 14)),
            ([0x72, 0x03, 0xED, 0xA0, 0x80], .invalidUTF8(fieldNumber: 14)),  // a UTF-16 surrogate in UTF-8
            ([0x5D, 0x00, 0x00], .truncated),
            ([0x41, 0x00], .truncated),
            ([0x8A, 0x01, 0x01, 0x08], .truncated),  // nested message truncated inside its length
            ([0xFA, 0x01, 0x01, 0x80], .truncated),  // packed run ends mid-varint
            ([0x9A, 0x03, 0x02, 0x0A, 0x05], .lengthPastEnd(length: 5, available: 0)),  // map entry key past its end
        ] as [([UInt8], ProtoDecodingError)]
    )
    func malformed(bytes: [UInt8], error: ProtoDecodingError) {
        #expect(throws: error) { try AllTypes(serializedBytes: bytes) }
    }

    @Test("an unknown enum number survives a round trip")
    func openEnums() throws {
        let message = try AllTypes(serializedBytes: [0x80, 0x01, 0x63])
        #expect(message.fEnum == .unrecognized(99))
        #expect(message.serializedBytes() == [0x80, 0x01, 0x63])
        #expect(Color(protoName: "COLOR_CRIMSON") == .red)
        #expect(Color.crimson == .red)
    }

    @Test("encodes into and decodes from a ByteBuffer without copies of its own")
    func byteBuffer() throws {
        let message = BenchOrder(id: 7, title: "Fix the sink", tags: ["a", "b"], address: BenchAddress(city: "Oslo"))
        var buffer = ByteBufferAllocator().buffer(capacity: 0)
        buffer.writeInteger(UInt32(0xCAFE))
        let written = message.encode(into: &buffer)
        #expect(written == message.serializedSize())
        #expect(buffer.readInteger(as: UInt32.self) == 0xCAFE)
        #expect(try BenchOrder(buffer: buffer) == message)
    }
}

func varint(_ value: Int) -> [UInt8] {
    var v = UInt64(value)
    var out: [UInt8] = []
    while v >= 0x80 {
        out.append(UInt8(v & 0x7F) | 0x80)
        v >>= 7
    }
    out.append(UInt8(v))
    return out
}
