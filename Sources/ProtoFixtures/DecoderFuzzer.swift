import ProtoRuntime

/// A seeded mutation fuzzer for the binary decoder and the JSON parser.
///
/// Each input is decoded as several message types. Crashes end the process (that is what the
/// fuzzer looks for); beyond that it checks an invariant: whatever decodes must re-encode to bytes
/// that decode to the same message, so a decoder that accepts garbage inconsistently is caught too.
public struct DecoderFuzzer {
    /// What one run found.
    public struct Report: Sendable, CustomStringConvertible {
        public var inputs = 0
        public var decoded = 0
        public var rejected = 0
        public var violations: [String] = []

        public var description: String {
            "\(inputs) inputs: \(decoded) decoded, \(rejected) rejected with an error, \(violations.count) invariant violations"
        }
    }

    var rng: SplitMix64
    let binarySeeds: [[UInt8]]
    let jsonSeeds: [[UInt8]]

    /// - Parameter seed: the random seed; the same seed replays the same inputs.
    public init(seed: UInt64) {
        rng = SplitMix64(seed: seed)
        var seeds: [[UInt8]] = []
        var json: [[UInt8]] = []
        let samples: [any Message] = DecoderFuzzer.sampleMessages()
        for message in samples {
            seeds.append(message.serializedBytes())
            json.append(message.jsonUTF8Bytes())
        }
        binarySeeds = seeds
        jsonSeeds = json + [Array(#"{"fString":"\ud83d\ude00\n","rInt32":[1,-2,"3"],"mBoolString":{"true":"x"}}"#.utf8)]
    }

    static func sampleMessages() -> [any Message] {
        var order = BenchOrder(
            id: 42,
            customerId: 7,
            providerId: 9,
            title: "Fix the kitchen sink",
            description: "Leaks under pressure.",
            status: .pending,
            serviceType: .repair,
            location: .mid,
            priceCents: 12_500,
            createdAt: ProtoTimestamp(seconds: 1_700_000_000, nanos: 5),
            tags: ["urgent", "water"]
        )
        order.address = BenchAddress(street: "Main St 1", city: "Oslo", postalCode: "0150")
        let all = AllTypes(
            fInt32: -1,
            fInt64: .min,
            fUint32: .max,
            fUint64: 1 << 63,
            fSint32: -5,
            fSint64: 5,
            fFixed32: 1,
            fFixed64: 2,
            fSfixed32: -3,
            fSfixed64: -4,
            fFloat: 1.5,
            fDouble: -2.25,
            fBool: true,
            fString: "héllo 😀",
            fBytes: [0, 1, 255],
            fEnum: .negative,
            fNested: .init(a: 1, b: "b", inner: .init(values: [1, -1], color: .blue)),
            oInt32: 0,
            oString: "",
            rInt32: [1, 300, -1],
            rFloat: [0.5],
            rString: ["a", "b"],
            rEnum: [.red, .unrecognized(77)],
            rNested: [.init(a: 2)],
            rUnpackedInt32: [4, 5],
            mStringString: ["k": "v"],
            mInt32Int64: [-1: 1],
            mFixed64Nested: [9: .init(b: "n")],
            mBoolString: [true: "t"],
            choice: .cNested(.init(a: 3)),
            fTimestamp: ProtoTimestamp(seconds: -1, nanos: 999),
            fDuration: ProtoDuration(seconds: -1, nanos: -5),
            customJson: "c"
        )
        var tree = Tree(label: "root", left: Tree(label: "l"), children: [Tree(label: "c")])
        tree.named = ["n": Tree(label: "m")]
        tree.extra = .weight(3)
        return [order, all, tree, Edges(one: 1, maxField: 2, beforeReserved: 3, afterReserved: 4), AllTypes()]
    }

    /// Feeds `iterations` mutated byte strings to the binary decoder.
    public mutating func fuzzBinary(iterations: Int) -> Report {
        var report = Report()
        for _ in 0..<iterations {
            let input = mutate(pick(binarySeeds), from: binarySeeds)
            report.inputs += 1
            check(input, as: AllTypes.self, &report)
            check(input, as: Tree.self, &report)
            check(input, as: BenchOrder.self, &report)
        }
        return report
    }

    /// Feeds `iterations` mutated JSON documents to the JSON parser.
    public mutating func fuzzJSON(iterations: Int) -> Report {
        var report = Report()
        for _ in 0..<iterations {
            let input = mutateJSON(pick(jsonSeeds))
            report.inputs += 1
            checkJSON(input, as: AllTypes.self, &report)
            checkJSON(input, as: Tree.self, &report)
        }
        return report
    }

    func check<M: Message>(_ input: [UInt8], as _: M.Type, _ report: inout Report) {
        do {
            let message = try M(serializedBytes: input)
            report.decoded += 1
            let again = try M(serializedBytes: message.serializedBytes())
            // NaN != NaN; compare encodings, which are stable.
            if again.serializedBytes() != message.serializedBytes() {
                report.violations.append("\(M.self): re-encoding of \(input) is unstable")
            }
        } catch is ProtoDecodingError {
            report.rejected += 1
        } catch {
            report.violations.append("\(M.self): unexpected error type \(error) for \(input)")
        }
    }

    func checkJSON<M: Message>(_ input: [UInt8], as _: M.Type, _ report: inout Report) {
        do {
            let message = try M(jsonUTF8Bytes: input)
            report.decoded += 1
            let text = message.jsonUTF8Bytes()
            let again = try M(jsonUTF8Bytes: text)
            if again.jsonUTF8Bytes() != text {
                report.violations.append(
                    "\(M.self): JSON re-encoding of \(String(decoding: input, as: UTF8.self)) is unstable"
                )
            }
        } catch is JSONDecodingError {
            report.rejected += 1
        } catch {
            report.violations.append(
                "\(M.self): unexpected error \(error) for \(String(decoding: input, as: UTF8.self))"
            )
        }
    }

    // MARK: Mutation

    mutating func pick(_ seeds: [[UInt8]]) -> [UInt8] {
        seeds[Int(rng.next() % UInt64(seeds.count))]
    }

    mutating func below(_ n: Int) -> Int { n <= 0 ? 0 : Int(rng.next() % UInt64(n)) }

    static let interestingBytes: [UInt8] = [0x00, 0x01, 0x7F, 0x80, 0xFF, 0x08, 0x0A, 0x12, 0x0B, 0x0C, 0x0F, 0xC0]

    mutating func mutate(_ seed: [UInt8], from seeds: [[UInt8]]) -> [UInt8] {
        var data = seed
        for _ in 0...below(4) {
            switch below(9) {
            case 0 where !data.isEmpty: data[below(data.count)] ^= UInt8(1 << below(8))
            case 1 where !data.isEmpty:
                data[below(data.count)] = DecoderFuzzer.interestingBytes[below(DecoderFuzzer.interestingBytes.count)]
            case 2: data.insert(UInt8(truncatingIfNeeded: rng.next()), at: below(data.count + 1))
            case 3 where !data.isEmpty:
                let start = below(data.count)
                data.removeSubrange(start..<min(data.count, start + 1 + below(8)))
            case 4 where !data.isEmpty: data = Array(data.prefix(below(data.count)))
            case 5 where !data.isEmpty:
                let start = below(data.count)
                let chunk = data[start..<min(data.count, start + 1 + below(16))]
                data.insert(contentsOf: chunk, at: below(data.count + 1))
            case 6:
                let other = pick(seeds)
                let cut = below(other.count + 1)
                data = Array(data.prefix(below(data.count + 1))) + other[cut...]
            case 7:
                // An overlong or maximal varint somewhere.
                let varint: [UInt8] =
                    below(2) == 0
                    ? Array(repeating: 0xFF, count: 1 + below(12)) + [0x01] : [0xFF, 0xFF, 0xFF, 0xFF, 0x0F]
                data.insert(contentsOf: varint, at: below(data.count + 1))
            default:
                // A nested length prefix that lies.
                data.insert(contentsOf: [0x8A, 0x01, UInt8(truncatingIfNeeded: rng.next())], at: below(data.count + 1))
            }
        }
        return data
    }

    static let jsonTokens: [String] = [
        "{", "}", "[", "]", ",", ":", "\"", "\\", "\\u", "\\ud800", "null", "true", "false", "-", "0", "1e999", "-0",
        "\"fNested\":", "\"rInt32\":", "\"mInt32Int64\":", "\"fTimestamp\":", "\"9999-12-31T23:59:59Z\"", "1.5",
        "\u{0}",
        "\"NaN\"", "\"Infinity\"", "18446744073709551616", "\"AAA=\"", "\"left\":", "\"children\":", "\u{FF}",
    ]

    mutating func mutateJSON(_ seed: [UInt8]) -> [UInt8] {
        var data = seed
        for _ in 0...below(3) {
            switch below(6) {
            case 0 where !data.isEmpty: data[below(data.count)] = UInt8(truncatingIfNeeded: rng.next())
            case 1:
                let token = Array(DecoderFuzzer.jsonTokens[below(DecoderFuzzer.jsonTokens.count)].utf8)
                data.insert(contentsOf: token, at: below(data.count + 1))
            case 2 where !data.isEmpty:
                let start = below(data.count)
                data.removeSubrange(start..<min(data.count, start + 1 + below(10)))
            case 3 where !data.isEmpty: data = Array(data.prefix(below(data.count)))
            case 4:
                let depth = 1 + below(150)
                let open = Array(String(repeating: "{\"left\":", count: depth).utf8)
                data = open + data + Array(String(repeating: "}", count: depth).utf8)
            default:
                if !data.isEmpty {
                    let start = below(data.count)
                    let chunk = data[start..<min(data.count, start + 1 + below(20))]
                    data.insert(contentsOf: chunk, at: below(data.count + 1))
                }
            }
        }
        return data
    }
}

/// SplitMix64: a small seedable generator, so fuzz runs and random tests can be replayed.
public struct SplitMix64: RandomNumberGenerator, Sendable {
    var state: UInt64
    /// A generator whose sequence is determined by `seed`.
    public init(seed: UInt64) { state = seed }
    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
