import ProtoFixtures
import ProtoRuntime
import TestSupport
import Testing

/// Random messages of the conformance schema, with edge values weighted in.
struct RandomMessages {
    var rng: SplitMix64

    mutating func chance(_ p: Double) -> Bool { Double.random(in: 0..<1, using: &rng) < p }

    mutating func int32() -> Int32 {
        chance(0.5)
            ? [0, 1, -1, 127, 128, .max, .min, -300].randomElement(using: &rng) ?? 0
            : Int32.random(in: .min ... .max, using: &rng)
    }
    mutating func int64() -> Int64 {
        chance(0.5)
            ? [0, 1, -1, .max, .min, 1 << 32, -(1 << 40)].randomElement(using: &rng) ?? 0
            : Int64.random(in: .min ... .max, using: &rng)
    }
    mutating func uint32() -> UInt32 {
        chance(0.5)
            ? [0, 1, 127, 128, .max].randomElement(using: &rng) ?? 0 : UInt32.random(in: 0 ... .max, using: &rng)
    }
    mutating func uint64() -> UInt64 {
        chance(0.5)
            ? [0, 1, .max, 1 << 63].randomElement(using: &rng) ?? 0 : UInt64.random(in: 0 ... .max, using: &rng)
    }
    mutating func float() -> Float {
        if chance(0.4) {
            return [0, -0.0, 1, -1.5, .greatestFiniteMagnitude, .leastNonzeroMagnitude, .infinity, -.infinity, 0.1]
                .randomElement(using: &rng) ?? 0
        }
        while true {
            let v = Float(bitPattern: UInt32.random(in: 0 ... .max, using: &rng))
            if !v.isNaN { return v }
        }
    }
    mutating func double() -> Double {
        if chance(0.4) {
            return [
                0, -0.0, 1, -2.5, .greatestFiniteMagnitude, .leastNonzeroMagnitude, .infinity, -.infinity, 0.1, 1e21,
            ]
            .randomElement(using: &rng) ?? 0
        }
        while true {
            let v = Double(bitPattern: UInt64.random(in: 0 ... .max, using: &rng))
            if !v.isNaN { return v }
        }
    }
    mutating func string() -> String {
        if chance(0.5) {
            return ["", "a", "ünïcödé", "emoji 😀", "quote \" \\ /", "ctl \n\t\u{01}\u{1f}", "中文", "\u{2028}"]
                .randomElement(using: &rng) ?? ""
        }
        var s = ""
        for _ in 0..<Int.random(in: 0...16, using: &rng) {
            let pick = Double.random(in: 0..<1, using: &rng)
            let value: UInt32 =
                pick < 0.6
                ? UInt32.random(in: 0x20...0x7E, using: &rng)
                : pick < 0.8
                    ? UInt32.random(in: 0xA0...0xD7FF, using: &rng) : UInt32.random(in: 0x10000...0x10FFFF, using: &rng)
            if let scalar = Unicode.Scalar(value) { s.unicodeScalars.append(scalar) }
        }
        return s
    }
    mutating func bytes() -> [UInt8] {
        (0..<Int.random(in: 0...12, using: &rng)).map { _ in UInt8.random(in: 0 ... .max, using: &rng) }
    }
    mutating func color() -> Color {
        Color(protoValue: [0, 1, 2, 3, -5, 99, -7].randomElement(using: &rng) ?? 0)
    }
    mutating func timestamp() -> ProtoTimestamp {
        ProtoTimestamp(
            seconds: Int64.random(in: ProtoTimestamp.minimumSeconds...ProtoTimestamp.maximumSeconds, using: &rng),
            nanos: chance(0.5) ? 0 : Int32.random(in: 0...999_999_999, using: &rng)
        )
    }
    mutating func duration() -> ProtoDuration {
        let seconds = Int64.random(in: -ProtoDuration.maximumSeconds...ProtoDuration.maximumSeconds, using: &rng)
        let nanos = chance(0.5) ? 0 : Int32.random(in: 0...999_999_999, using: &rng)
        return ProtoDuration(seconds: seconds, nanos: seconds < 0 ? -nanos : nanos)
    }
    mutating func list<T>(_ make: (inout RandomMessages) -> T) -> [T] {
        guard chance(0.6) else { return [] }
        return (0..<Int.random(in: 0...4, using: &rng)).map { _ in make(&self) }
    }
    mutating func map<K: Hashable, V>(_ key: (inout RandomMessages) -> K, _ value: (inout RandomMessages) -> V) -> [K:
        V]
    {
        guard chance(0.5) else { return [:] }
        var result: [K: V] = [:]
        for _ in 0..<Int.random(in: 0...3, using: &rng) { result[key(&self)] = value(&self) }
        return result
    }

    mutating func nested(depth: Int = 0) -> AllTypes.Nested {
        var n = AllTypes.Nested()
        if chance(0.5) { n.a = int32() }
        if chance(0.5) { n.b = string() }
        if chance(0.5) { n.inner = AllTypes.Nested.Inner(values: list { $0.int64() }, color: color()) }
        return n
    }

    mutating func allTypes() -> AllTypes {
        var m = AllTypes()
        if chance(0.6) { m.fInt32 = int32() }
        if chance(0.6) { m.fInt64 = int64() }
        if chance(0.6) { m.fUint32 = uint32() }
        if chance(0.6) { m.fUint64 = uint64() }
        if chance(0.6) { m.fSint32 = int32() }
        if chance(0.6) { m.fSint64 = int64() }
        if chance(0.6) { m.fFixed32 = uint32() }
        if chance(0.6) { m.fFixed64 = uint64() }
        if chance(0.6) { m.fSfixed32 = int32() }
        if chance(0.6) { m.fSfixed64 = int64() }
        if chance(0.6) { m.fFloat = float() }
        if chance(0.6) { m.fDouble = double() }
        if chance(0.6) { m.fBool = chance(0.5) }
        if chance(0.6) { m.fString = string() }
        if chance(0.6) { m.fBytes = bytes() }
        if chance(0.6) { m.fEnum = color() }
        if chance(0.6) { m.fNested = nested() }
        if chance(0.5) { m.oInt32 = int32() }
        if chance(0.5) { m.oInt64 = int64() }
        if chance(0.5) { m.oString = string() }
        if chance(0.5) { m.oBool = chance(0.5) }
        if chance(0.5) { m.oDouble = double() }
        if chance(0.5) { m.oEnum = color() }
        if chance(0.5) { m.oBytes = bytes() }
        m.rInt32 = list { $0.int32() }
        m.rInt64 = list { $0.int64() }
        m.rUint32 = list { $0.uint32() }
        m.rUint64 = list { $0.uint64() }
        m.rSint32 = list { $0.int32() }
        m.rSint64 = list { $0.int64() }
        m.rFixed32 = list { $0.uint32() }
        m.rFixed64 = list { $0.uint64() }
        m.rSfixed32 = list { $0.int32() }
        m.rSfixed64 = list { $0.int64() }
        m.rFloat = list { $0.float() }
        m.rDouble = list { $0.double() }
        m.rBool = list { $0.chance(0.5) }
        m.rString = list { $0.string() }
        m.rBytes = list { $0.bytes() }
        m.rEnum = list { $0.color() }
        m.rNested = list { $0.nested() }
        m.rUnpackedInt32 = list { $0.int32() }
        m.rUnpackedDouble = list { $0.double() }
        m.mStringString = map({ $0.string() }, { $0.string() })
        m.mInt32Int64 = map({ $0.int32() }, { $0.int64() })
        m.mInt64String = map({ $0.int64() }, { $0.string() })
        m.mUint32Bool = map({ $0.uint32() }, { $0.chance(0.5) })
        m.mUint64Bytes = map({ $0.uint64() }, { $0.bytes() })
        m.mSint32Double = map({ $0.int32() }, { $0.double() })
        m.mSint64Float = map({ $0.int64() }, { $0.float() })
        m.mFixed32Enum = map({ $0.uint32() }, { $0.color() })
        m.mFixed64Nested = map({ $0.uint64() }, { $0.nested() })
        m.mSfixed32Sfixed64 = map({ $0.int32() }, { $0.int64() })
        m.mBoolString = map({ $0.chance(0.5) }, { $0.string() })
        switch Int.random(in: 0...6, using: &rng) {
        case 0: m.choice = .cInt32(int32())
        case 1: m.choice = .cString(string())
        case 2: m.choice = .cBytes(bytes())
        case 3: m.choice = .cEnum(color())
        case 4: m.choice = .cNested(nested())
        case 5: m.choice = .cEmpty(ProtoEmpty())
        default: m.choice = nil
        }
        if chance(0.5) { m.fTimestamp = timestamp() }
        if chance(0.5) { m.fDuration = duration() }
        m.rTimestamp = list { $0.timestamp() }
        if chance(0.5) { m.customJson = string() }
        if chance(0.3) { m.deprecatedField = int32() }
        return m
    }

    mutating func tree(depth: Int = 0) -> Tree {
        var t = Tree()
        t.label = string()
        guard depth < 3 else { return t }
        if chance(0.4) { t.left = tree(depth: depth + 1) }
        if chance(0.4) { t.right = tree(depth: depth + 1) }
        t.children = list { $0.tree(depth: depth + 2) }
        t.named = map({ $0.string() }, { $0.tree(depth: depth + 2) })
        switch Int.random(in: 0...2, using: &rng) {
        case 0: t.extra = .alternate(tree(depth: depth + 1))
        case 1: t.extra = .weight(int32())
        default: break
        }
        return t
    }
}
