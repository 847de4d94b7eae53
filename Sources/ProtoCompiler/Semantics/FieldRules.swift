/// The typed form of a field's `(rpc.v1.rules)` option (`Protos/rpc/v1/rules.proto`).
///
/// The compiler recognizes the option by name, as it does `(rpc.v1.event)`, so it keeps
/// depending on nothing of ours; the checker (``FieldRulesChecker``) makes sure the rules fit
/// their field, and the Swift validation emitter turns them into a `validate()` method.
public struct FieldRuleSet: Sendable, Hashable {
    /// The field option's name.
    public static let option = "rpc.v1.rules"
    /// The oneof option's name.
    public static let oneofOption = "rpc.v1.oneof_rules"

    public var required = false
    public var errorMessage: String?
    public var kind: Kind?

    public indirect enum Kind: Sendable, Hashable {
        case string(StringRules)
        case int(IntRules)
        case double(DoubleRules)
        case enumeration(EnumRules)
        case repeated(RepeatedRules)
        case message([SubField])
        case timestamp(TimestampRules)

        var name: String {
            switch self {
            case .string: return "string"
            case .int: return "int"
            case .double: return "double"
            case .enumeration: return "enum"
            case .repeated: return "repeated"
            case .message: return "message"
            case .timestamp: return "timestamp"
            }
        }
    }

    public struct StringRules: Sendable, Hashable {
        public var minLen: UInt64?
        public var maxLen: UInt64?
        public var maxBytes: UInt64?
        public var notBlank = false
        public var chars: String?
        public var email = false
        public var allowed: [String] = []

        /// The byte bound stated in messages: `max_bytes`, or 4 × `max_len`.
        public var statedBytes: UInt64? { maxBytes ?? maxLen.map { $0 * 4 } }
    }

    public struct IntRules: Sendable, Hashable {
        public var gt: Int64?
        public var gte: Int64?
        public var lt: Int64?
        public var lte: Int64?
    }

    public struct DoubleRules: Sendable, Hashable {
        public var gt: Double?
        public var gte: Double?
        public var lt: Double?
        public var lte: Double?
        public var finite = false
    }

    public struct EnumRules: Sendable, Hashable {
        public var definedOnly = false
        public var allowed: [String] = []
        public var refused: [String] = []
    }

    public struct RepeatedRules: Sendable, Hashable {
        public var minItems: UInt64?
        public var maxItems: UInt64?
        public var items: FieldRuleSet?
    }

    public struct SubField: Sendable, Hashable {
        public var name: String
        public var rules: FieldRuleSet
    }

    public struct TimestampRules: Sendable, Hashable {
        public var gteSeconds: Int64?
        public var ltSeconds: Int64?
    }

    /// The rules of `field`, if it carries the option.
    public init?(field: Field) {
        guard let value = field.options.value(FieldRuleSet.option) else { return nil }
        self.init(value)
    }

    /// Reads an option value of type `rpc.v1.FieldRules`.
    public init(_ value: OptionValue) {
        let fields = value.fields
        required = fields.bool("required")
        errorMessage = fields.string("error_message")
        if let s = fields.message("string") {
            let f = s.fields
            kind = .string(
                StringRules(
                    minLen: f.uint("min_len"),
                    maxLen: f.uint("max_len"),
                    maxBytes: f.uint("max_bytes"),
                    notBlank: f.bool("not_blank"),
                    chars: f.string("chars"),
                    email: f.bool("email"),
                    allowed: f.strings("in")
                )
            )
        } else if let i = fields.message("int") {
            let f = i.fields
            kind = .int(IntRules(gt: f.int("gt"), gte: f.int("gte"), lt: f.int("lt"), lte: f.int("lte")))
        } else if let d = fields.message("double") {
            let f = d.fields
            kind = .double(
                DoubleRules(
                    gt: f.double("gt"),
                    gte: f.double("gte"),
                    lt: f.double("lt"),
                    lte: f.double("lte"),
                    finite: f.bool("finite")
                )
            )
        } else if let e = fields.message("enum") {
            let f = e.fields
            kind = .enumeration(
                EnumRules(definedOnly: f.bool("defined_only"), allowed: f.strings("in"), refused: f.strings("not_in"))
            )
        } else if let r = fields.message("repeated") {
            let f = r.fields
            kind = .repeated(
                RepeatedRules(
                    minItems: f.uint("min_items"),
                    maxItems: f.uint("max_items"),
                    items: f.message("items").map(FieldRuleSet.init)
                )
            )
        } else if let m = fields.message("message") {
            kind = .message(
                m.fields.filter { $0.name == "fields" }.map { sub in
                    SubField(
                        name: sub.value.fields.string("name") ?? "",
                        rules: sub.value.fields.message("rules").map(FieldRuleSet.init) ?? FieldRuleSet()
                    )
                }
            )
        } else if let t = fields.message("timestamp") {
            let f = t.fields
            kind = .timestamp(TimestampRules(gteSeconds: f.int("gte_seconds"), ltSeconds: f.int("lt_seconds")))
        }
    }

    public init() {}
}

/// The typed form of a oneof's `(rpc.v1.oneof_rules)` option.
public struct OneofRuleSet: Sendable, Hashable {
    public var required: Bool
    public var errorMessage: String?

    public init?(oneof: Oneof) {
        guard let value = oneof.options.value(FieldRuleSet.oneofOption) else { return nil }
        required = value.fields.bool("required")
        errorMessage = value.fields.string("error_message")
    }
}

extension OptionValue {
    fileprivate var fields: [OptionField] {
        if case .message(let fields) = self { return fields }
        return []
    }
}

extension Array where Element == OptionField {
    fileprivate func bool(_ name: String) -> Bool { value(name) == .bool(true) }
    fileprivate func string(_ name: String) -> String? { value(name)?.stringValue }
    fileprivate func strings(_ name: String) -> [String] { filter { $0.name == name }.compactMap(\.value.stringValue) }
    fileprivate func message(_ name: String) -> OptionValue? {
        if case .message? = value(name) { return value(name) }
        return nil
    }
    fileprivate func uint(_ name: String) -> UInt64? {
        switch value(name) {
        case .uint(let v)?: return v
        case .int(let v)? where v >= 0: return UInt64(v)
        default: return nil
        }
    }
    fileprivate func int(_ name: String) -> Int64? {
        switch value(name) {
        case .int(let v)?: return v
        case .uint(let v)?: return Int64(exactly: v)
        default: return nil
        }
    }
    fileprivate func double(_ name: String) -> Double? {
        switch value(name) {
        case .double(let v)?: return v
        case .int(let v)?: return Double(v)
        case .uint(let v)?: return Double(v)
        default: return nil
        }
    }
}

/// The allowed-character rule's spec: literal characters and ranges `a-z`; a `-` first or last
/// is literal; `\` escapes the next character. Basic Multilingual Plane only.
public enum CharacterSpec {
    /// The spec's scalar ranges, sorted and merged, or a description of what is wrong.
    public static func ranges(_ spec: String) -> Result<[ClosedRange<UInt32>], SpecError> {
        var items: [(scalar: UInt32, escaped: Bool)] = []
        var escaping = false
        for s in spec.unicodeScalars {
            if escaping {
                items.append((s.value, true))
                escaping = false
            } else if s == "\\" {
                escaping = true
            } else {
                items.append((s.value, false))
            }
        }
        if escaping { return .failure(SpecError(message: "ends with a lone '\\'")) }
        if items.isEmpty { return .failure(SpecError(message: "is empty")) }
        if let astral = items.first(where: { $0.scalar > 0xFFFF }) {
            return .failure(
                SpecError(
                    message:
                        "holds U+\(String(astral.scalar, radix: 16, uppercase: true)), outside the Basic Multilingual Plane"
                )
            )
        }
        var ranges: [ClosedRange<UInt32>] = []
        var i = 0
        while i < items.count {
            let lo = items[i].scalar
            if i + 2 < items.count, items[i + 1].scalar == 0x2D, !items[i + 1].escaped {
                let hi = items[i + 2].scalar
                guard lo <= hi else {
                    return .failure(
                        SpecError(
                            message:
                                "has the range \(Unicode.Scalar(lo).map(String.init) ?? "?")-\(Unicode.Scalar(hi).map(String.init) ?? "?"), whose start is after its end"
                        )
                    )
                }
                ranges.append(lo...hi)
                i += 3
            } else {
                ranges.append(lo...lo)
                i += 1
            }
        }
        ranges.sort { $0.lowerBound < $1.lowerBound }
        var merged: [ClosedRange<UInt32>] = []
        for r in ranges {
            if let last = merged.last, r.lowerBound <= last.upperBound &+ 1 {
                merged[merged.count - 1] = last.lowerBound...max(last.upperBound, r.upperBound)
            } else {
                merged.append(r)
            }
        }
        return .success(merged)
    }

    public struct SpecError: Error, Sendable {
        public var message: String
    }
}
