import ProtoRuntime
import RPC
import RPCSchema

/// The schema's field rules (`rpc.v1.rules`, docs/PROTOCOL.md "Field rules") as JSON Schema
/// constraints in the OpenAPI document. The document never allows more than the service's
/// `validate()` accepts: where a rule has no exact JSON Schema form, the document states a
/// narrower one (a length bound from a byte bound, years instead of instants).
extension OpenAPI {
    /// The scalars the not-blank rule counts as white space (`FieldCheck.whitespace`), as a
    /// pattern that finds one scalar outside them: the same to ECMA-262 and Python's `re`.
    static let notBlankPattern =
        "[^\\t\\n\\u000b\\f\\r \\u0085\\u00a0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000\\ufeff]"

    /// The end of a whole-value pattern: `$`, and not before a final line feed (where Python's `$`
    /// also matches, and Hypothesis generates one).
    static let end = "$(?!\\n)"

    /// `FieldCheck.isEmailAddress` as a pattern, the same to ECMA-262 and Python's `re`: a dot-atom
    /// local part of at most 64 characters, a domain of at most 253 in two or more LDH labels of at
    /// most 63, the last all letters (two or more) or an `xn--` label. The length bounds are
    /// negative lookaheads, which generators (Hypothesis) skip and then check, so generated values
    /// still match. The whole is at most 254 (`maxLength`).
    static let emailPattern: String = {
        let atom = "[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+"
        let label = "[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
        let top = "([A-Za-z]{2,63}|[Xx][Nn]--[A-Za-z0-9-]{0,58}[A-Za-z0-9])"
        return "^(?![^@]{65})\(atom)(\\.\(atom))*@(?![^@]{254})(\(label)\\.)+\(top)\(end)"
    }()

    /// 64-bit integers: proto3 JSON takes a number or a decimal string. The string form is held
    /// to 18 digits and the number form to the type's range, so every value the document allows
    /// fits (a bare `format: int64` constrains nothing on strings).
    static func int64Schema(unsigned: Bool) -> [String: Any] {
        [
            "type": ["string", "integer"], "format": unsigned ? "uint64" : "int64",
            "pattern": unsigned ? "^(0|[1-9][0-9]{0,17})" + end : "^-?(0|[1-9][0-9]{0,17})" + end,
            "minimum": unsigned ? 0 : -999_999_999_999_999_999, "maximum": 999_999_999_999_999_999,
        ]
    }

    /// `schema` (the field's plain schema) with the field's rules.
    static func constrained(
        _ schema: [String: Any],
        field: DescriptorPool.Field,
        pool: DescriptorPool,
        used: inout Set<String>
    ) -> [String: Any] {
        guard let rules = field.rules else { return schema }
        guard field.isRepeated else { return apply(rules, to: schema, kind: field.kind, pool: pool, used: &used) }
        var result = schema
        var minItems: UInt32 = rules.required ? 1 : 0
        if case .repeated(let r)? = rules.kind {
            if let lo = r.minItems { minItems = max(minItems, lo) }
            if let hi = r.maxItems { result["maxItems"] = Int(hi) }
            if let items = r.items, let element = result["items"] as? [String: Any] {
                result["items"] = apply(items, to: element, kind: field.kind, pool: pool, used: &used)
            }
        }
        if minItems > 0 { result["minItems"] = Int(minItems) }
        return result
    }

    /// One value's schema with `rules` (the kind's constraints).
    static func apply(
        _ rules: FieldRules,
        to schema: [String: Any],
        kind: DescriptorPool.FieldKind,
        pool: DescriptorPool,
        used: inout Set<String>
    )
        -> [String: Any]
    {
        var result = schema
        switch rules.kind {
        case .string(let r)?:
            var minLength = Int(r.minLen ?? 0)
            if rules.required || r.email { minLength = max(minLength, 1) }
            // Scalars, as the check counts them; a byte bound B allows any B/4 scalars.
            var maxLength = r.maxLen.map(Int.init)
            if let bytes = r.maxBytes { maxLength = min(maxLength ?? Int.max, Int(bytes) / 4) }
            if r.email { maxLength = min(maxLength ?? Int.max, 254) }
            if minLength > 0 { result["minLength"] = minLength }
            if let maxLength { result["maxLength"] = maxLength }
            var patterns: [String] = []
            if r.notBlank { patterns.append(notBlankPattern) }
            if r.email { patterns.append(emailPattern) }
            if !r.chars.isEmpty, let ranges = FieldCheck.characterRanges(r.chars) {
                patterns.append("^[" + ranges.map(classItem).joined() + "]*" + end)
            }
            if patterns.count == 1 {
                result["pattern"] = patterns[0]
            } else if patterns.count > 1 {
                result["allOf"] = patterns.map { ["pattern": $0] }
            }
            if r.email { result["format"] = "email" }
            if !r.in.isEmpty { result["enum"] = r.in }
        case .int(let r)?:
            // Integers: exclusive bounds become inclusive ones.
            let lower = r.gte ?? r.gt.map { $0 + 1 }
            let upper = r.lte ?? r.lt.map { $0 - 1 }
            if result["type"] as? String != "integer" {
                // 64-bit kinds: a bounded number, not the string form (JSON Schema's bounds hold
                // only for numbers).
                result = ["type": "integer", "format": result["format"] ?? "int64"]
                result["minimum"] = lower ?? (kind == .uint64 || kind == .fixed64 ? 0 : -999_999_999_999_999_999)
                result["maximum"] = upper ?? 999_999_999_999_999_999
            } else {
                if let lower { result["minimum"] = lower }
                if let upper { result["maximum"] = upper }
            }
        case .double(let r)?:
            if let v = r.gte { result["minimum"] = v }
            if let v = r.gt { result["exclusiveMinimum"] = v }
            if let v = r.lte { result["maximum"] = v }
            if let v = r.lt { result["exclusiveMaximum"] = v }
        case .enum(let r)?:
            if case .enumeration(let name) = kind, let e = pool.enums[name] {
                result["enum"] = allowedValues(r, of: e).map(\.name)
            }
        case .message(let r)?:
            // An inline copy of the message's schema with the sub-fields constrained (not allOf
            // with the component: the component's int64 is a string, the rule's an integer).
            if case .message(let name) = kind, let message = pool.messages[name] {
                var inline = messageSchema(name, pool: pool, used: &used)
                var properties = inline["properties"] as? [String: Any] ?? [:]
                var required = Set(inline["required"] as? [String] ?? [])
                for sub in r.fields {
                    guard let field = message.field(named: sub.name), let rules = sub.rules else { continue }
                    let plain = properties[field.jsonName] as? [String: Any] ?? [:]
                    properties[field.jsonName] = apply(rules, to: plain, kind: field.kind, pool: pool, used: &used)
                    if !field.hasPresence, !field.isRepeated, zeroFails(rules, kind: field.kind, pool: pool) {
                        required.insert(field.jsonName)
                    }
                }
                inline["properties"] = properties
                if !required.isEmpty { inline["required"] = required.sorted() }
                result = inline
            }
        case .timestamp(let r)?:
            // RFC 3339 text with an offset of up to a day: the years strictly inside the bounds'
            // are what the document can promise. 1970 ..< 10000 (the usual bounds) → 1971-9998.
            if r.gteSeconds == 0, r.ltSeconds == 253_402_300_800 {
                result = [
                    "type": "string", "format": "date-time",
                    "pattern": "^(197[1-9]|19[89][0-9]|[2-8][0-9]{3}|9[0-8][0-9]{2}|99[0-8][0-9]|999[0-8])-",
                ]
            } else if r.gteSeconds != nil || r.ltSeconds != nil {
                result["description"] =
                    "Unix seconds in [\(r.gteSeconds.map(String.init) ?? "…"), \(r.ltSeconds.map(String.init) ?? "…"))"
            }
        case .repeated?, nil:
            break
        }
        return result
    }

    /// `message`'s object schema with `required` (fields whose zero value the rules refuse, or
    /// marked required) and `oneOf` for required oneofs.
    static func requirements(_ schema: [String: Any], message: DescriptorPool.MessageInfo, pool: DescriptorPool)
        -> [String: Any]
    {
        var result = schema
        var required: [String] = []
        for field in message.fields {
            guard let rules = field.rules else { continue }
            if rules.required
                || (!field.hasPresence && zeroFails(rules, kind: field.kind, pool: pool, repeated: field.isRepeated))
            {
                required.append(field.jsonName)
            }
        }
        if !required.isEmpty { result["required"] = required.sorted() }
        var alternatives: [[[String: Any]]] = []
        for (index, rules) in message.oneofRules.enumerated() where rules?.required == true {
            alternatives.append(message.fields.filter { $0.oneof == index }.map { ["required": [$0.jsonName]] })
        }
        if alternatives.count == 1 {
            result["oneOf"] = alternatives[0]
        } else if alternatives.count > 1 {
            result["allOf"] = alternatives.map { ["oneOf": $0] }
        }
        return result
    }

    /// Whether the rules refuse the field's zero value (what an absent proto3 JSON field means),
    /// so the field must be sent.
    static func zeroFails(
        _ rules: FieldRules,
        kind: DescriptorPool.FieldKind,
        pool: DescriptorPool,
        repeated: Bool = false
    ) -> Bool {
        if rules.required { return true }
        if repeated {
            if case .repeated(let r)? = rules.kind { return (r.minItems ?? 0) > 0 }
            return false
        }
        switch rules.kind {
        case .string(let r)?:
            return (r.minLen ?? 0) > 0 || r.notBlank || r.email || (!r.in.isEmpty && !r.in.contains(""))
        case .int(let r)?:
            return (r.gt.map { 0 <= $0 } ?? false) || (r.gte.map { 0 < $0 } ?? false) || (r.lt.map { 0 >= $0 } ?? false)
                || (r.lte.map { 0 > $0 } ?? false)
        case .double(let r)?:
            return (r.gt.map { 0 <= $0 } ?? false) || (r.gte.map { 0 < $0 } ?? false) || (r.lt.map { 0 >= $0 } ?? false)
                || (r.lte.map { 0 > $0 } ?? false)
        case .enum(let r)?:
            guard case .enumeration(let name) = kind, let e = pool.enums[name] else { return false }
            return !allowedValues(r, of: e).contains { $0.number == 0 }
        default: return false
        }
    }

    /// The enum values a rule allows (all declared values when it only refuses some).
    static func allowedValues(_ r: EnumRules, of e: DescriptorPool.EnumInfo) -> [(name: String, number: Int32)] {
        let refused = Set(e.values.filter { r.notIn.contains($0.name) }.map(\.number))
        let allowed = r.in.isEmpty ? e.values : e.values.filter { r.in.contains($0.name) }
        return allowed.filter { !refused.contains($0.number) }
    }

    /// A scalar range inside a regex character class: ASCII letters and digits as they are,
    /// everything else `\uXXXX` (the allowed-character rule is BMP-only), so ECMA-262 and
    /// Python read it alike.
    static func classItem(_ range: ClosedRange<UInt32>) -> String {
        func item(_ v: UInt32) -> String {
            if let s = Unicode.Scalar(v), s.isASCII, s.properties.isAlphabetic || ("0"..."9").contains(s) {
                return String(Character(s))
            }
            let hex = String(v, radix: 16)
            return "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
        }
        return range.lowerBound == range.upperBound
            ? item(range.lowerBound) : item(range.lowerBound) + "-" + item(range.upperBound)
    }
}
