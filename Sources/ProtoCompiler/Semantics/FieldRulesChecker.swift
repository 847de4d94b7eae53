/// Checks that every `(rpc.v1.rules)` and `(rpc.v1.oneof_rules)` option fits its field: the
/// rule kind matches the field's type, bounds are consistent, enum names exist, the allowed
/// characters parse, and no rule would have to be checked through a recursive field (the
/// generated validation follows the schema's static structure, never a depth the input picks).
struct FieldRulesChecker {
    let schema: Schema
    var diagnostics = DiagnosticBag()

    init(schema: Schema) { self.schema = schema }

    mutating func check() {
        let validated = FieldRulesChecker.validatedMessages(schema)
        for file in schema.files where !file.isBuiltin {
            func visit(_ m: MessageType) {
                check(m, validated: validated)
                for nested in m.messages { visit(nested) }
            }
            for m in file.messages { visit(m) }
        }
    }

    /// Messages whose `validate()` checks something: they carry rules, or reach a message that
    /// does through their fields.
    static func validatedMessages(_ schema: Schema) -> Set<String> {
        var result: Set<String> = []
        for m in schema.messages.values
        where m.fields.contains(where: { $0.options.value(FieldRuleSet.option) != nil })
            || m.oneofs.contains(where: { $0.options.value(FieldRuleSet.oneofOption) != nil })
        {
            result.insert(m.fullName)
        }
        var changed = true
        while changed {
            changed = false
            for m in schema.messages.values where !result.contains(m.fullName) {
                if m.fields.contains(where: { f in messageTarget(f.type).map { result.contains($0) } ?? false }) {
                    result.insert(m.fullName)
                    changed = true
                }
            }
        }
        return result
    }

    /// The message type a field holds (directly, in a list, or as a map's value).
    static func messageTarget(_ type: FieldType) -> String? {
        switch type {
        case .message(let name): return name
        case .map(_, let value): return messageTarget(value)
        default: return nil
        }
    }

    private mutating func check(_ m: MessageType, validated: Set<String>) {
        for f in m.fields {
            if let target = FieldRulesChecker.messageTarget(f.type), validated.contains(target),
                reaches(from: target, to: m.fullName)
            {
                diagnostics.error(
                    "field rules cannot be checked through '\(f.name)': \(target) contains \(m.fullName) again, so the depth would be the input's",
                    at: f.location
                )
            }
            guard let rules = FieldRuleSet(field: f) else { continue }
            if let oneof = f.oneofIndex, rules.required {
                diagnostics.error(
                    "'\(f.name)' is in oneof '\(m.oneofs[oneof].name)': use (rpc.v1.oneof_rules) required instead of required",
                    at: f.location
                )
            }
            if f.type.isMap {
                diagnostics.error("field rules on map field '\(f.name)' are not supported", at: f.location)
                continue
            }
            check(rules, field: f, path: f.name, in: m)
        }
    }

    private mutating func check(_ rules: FieldRuleSet, field f: Field, path: String, in m: MessageType) {
        func fail(_ message: String) { diagnostics.error("rules of '\(path)': \(message)", at: f.location) }
        guard let kind = rules.kind else { return }
        if f.isRepeated {
            guard case .repeated(let r) = kind else {
                fail("'\(kind.name)' rules do not fit a repeated field; put the elements' rules in repeated.items")
                return
            }
            if let lo = r.minItems, let hi = r.maxItems, lo > hi {
                fail("min_items \(lo) is more than max_items \(hi)")
            }
            if let items = r.items {
                if case .repeated? = items.kind { fail("repeated.items cannot hold repeated rules") }
                var element = f
                element.label = .singular
                check(items, field: element, path: path + "[]", in: m)
            }
            return
        }
        let typeName: String
        switch f.type {
        case .scalar(let s): typeName = s.rawValue
        case .enumeration(let e): typeName = e
        case .message(let name): typeName = name
        case .map: typeName = "map"
        }
        switch kind {
        case .string(let s):
            guard f.type == .scalar(.string) else { return fail("string rules do not fit a field of type \(typeName)") }
            if let lo = s.minLen, let hi = s.maxLen, lo > hi { fail("min_len \(lo) is more than max_len \(hi)") }
            if let lo = s.minLen, let bytes = s.maxBytes, lo > bytes {
                fail("min_len \(lo) is more than max_bytes \(bytes)")
            }
            if let chars = s.chars {
                if case .failure(let error) = CharacterSpec.ranges(chars) {
                    fail("chars \"\(chars)\" \(error.message)")
                }
                if s.email { fail("chars and email cannot both be set") }
            }
            if s.notBlank, s.maxLen == 0 { fail("not_blank cannot hold with max_len 0") }
        case .int(let r):
            let range: ClosedRange<Int64>
            switch f.type {
            case .scalar(.int32), .scalar(.sint32), .scalar(.sfixed32): range = Int64(Int32.min)...Int64(Int32.max)
            case .scalar(.uint32), .scalar(.fixed32): range = 0...Int64(UInt32.max)
            case .scalar(.int64), .scalar(.sint64), .scalar(.sfixed64): range = Int64.min...Int64.max
            case .scalar(.uint64), .scalar(.fixed64): range = 0...Int64.max
            default: return fail("int rules do not fit a field of type \(typeName)")
            }
            if r.gt != nil, r.gte != nil { fail("gt and gte cannot both be set") }
            if r.lt != nil, r.lte != nil { fail("lt and lte cannot both be set") }
            for (name, bound) in [("gt", r.gt), ("gte", r.gte), ("lt", r.lt), ("lte", r.lte)] {
                if let bound, !range.contains(bound) {
                    fail("\(name) \(bound) does not fit a field of type \(typeName)")
                }
            }
            var lo: Int64? = r.gte ?? range.lowerBound
            var hi: Int64? = r.lte ?? range.upperBound
            if let gt = r.gt { lo = gt == Int64.max ? nil : gt + 1 }
            if let lt = r.lt { hi = lt == Int64.min ? nil : lt - 1 }
            if let lo, let hi, lo <= hi {} else { fail("no value is allowed (the lower bound is above the upper one)") }
        case .double(let r):
            guard f.type == .scalar(.double) || f.type == .scalar(.float) else {
                return fail("double rules do not fit a field of type \(typeName)")
            }
            if r.gt != nil, r.gte != nil { fail("gt and gte cannot both be set") }
            if r.lt != nil, r.lte != nil { fail("lt and lte cannot both be set") }
            for (name, bound) in [("gt", r.gt), ("gte", r.gte), ("lt", r.lt), ("lte", r.lte)] {
                if let bound, !bound.isFinite { fail("\(name) must be a finite number") }
            }
            let lo = r.gt ?? r.gte ?? -Double.infinity
            let hi = r.lt ?? r.lte ?? Double.infinity
            if lo > hi || (lo == hi && (r.gt != nil || r.lt != nil)) {
                fail("no value is allowed (the lower bound is above the upper one)")
            }
        case .enumeration(let r):
            guard case .enumeration(let enumName) = f.type, let e = schema.enums[enumName] else {
                return fail("enum rules do not fit a field of type \(typeName)")
            }
            for name in r.allowed + r.refused where !e.values.contains(where: { $0.name == name }) {
                fail("\(enumName) has no value named '\(name)'")
            }
            if FieldRulesChecker.allowedNumbers(r, in: e)?.isEmpty == true {
                fail("no value of \(enumName) is allowed")
            }
        case .timestamp(let r):
            guard f.type == .message("google.protobuf.Timestamp") else {
                return fail("timestamp rules do not fit a field of type \(typeName)")
            }
            if let lo = r.gteSeconds, let hi = r.ltSeconds, lo >= hi {
                fail("gte_seconds \(lo) is not before lt_seconds \(hi)")
            }
        case .message(let subs):
            guard case .message(let name) = f.type, let target = schema.messages[name] else {
                return fail("message rules do not fit a field of type \(typeName)")
            }
            var seen: Set<String> = []
            for sub in subs {
                guard let subField = target.fields.first(where: { $0.name == sub.name }) else {
                    fail("\(name) has no field named '\(sub.name)'")
                    continue
                }
                if !seen.insert(sub.name).inserted { fail("'\(sub.name)' appears twice") }
                if subField.oneofIndex != nil, sub.rules.required {
                    fail("'\(sub.name)' is in a oneof: required does not fit it")
                }
                if subField.type.isMap {
                    fail("field rules on map field '\(sub.name)' are not supported")
                    continue
                }
                var located = subField
                located.location = f.location
                check(sub.rules, field: located, path: path + "." + sub.name, in: target)
            }
        case .repeated:
            fail("repeated rules need a repeated field")
        }
    }

    /// The numbers an enum rule allows, or `nil` when it only refuses (`not_in` alone).
    static func allowedNumbers(_ r: FieldRuleSet.EnumRules, in e: EnumType) -> [Int32]? {
        let refused = Set(e.values.filter { r.refused.contains($0.name) }.map(\.number))
        var allowed: [Int32]
        if !r.allowed.isEmpty {
            allowed = e.values.filter { r.allowed.contains($0.name) }.map(\.number)
        } else if r.definedOnly {
            allowed = e.values.map(\.number)
        } else {
            return nil
        }
        var seen: Set<Int32> = []
        allowed = allowed.filter { !refused.contains($0) && seen.insert($0).inserted }
        return allowed
    }

    private func reaches(from start: String, to goal: String) -> Bool {
        var stack = [start]
        var seen: Set<String> = []
        while let current = stack.popLast() {
            if current == goal { return true }
            guard seen.insert(current).inserted, let m = schema.messages[current] else { continue }
            for f in m.fields {
                if let next = FieldRulesChecker.messageTarget(f.type) { stack.append(next) }
            }
        }
        return false
    }
}
