/// Emits `validate()` for every message whose fields carry `(rpc.v1.rules)` (or reach a message
/// that does): the checks, in field order, throwing `ProtoRuntime.FieldViolation` naming the
/// field (`structured_address.street`, `certifications[0].name`). Messages without rules keep
/// `Message`'s empty default, so they cost nothing.
///
/// The checks follow the schema's static structure only: the checker refuses rules that would
/// have to be checked through a recursive field, so no input chooses the depth.
public struct ValidationEmitter: SwiftEmitter {
    public init() {}

    public func declarations(for file: ProtoFile, context: SwiftEmitContext) -> [SwiftDecl] {
        let validated = FieldRulesChecker.validatedMessages(context.schema)
        var result: [SwiftDecl] = []
        func visit(_ m: MessageType) {
            if validated.contains(m.fullName) {
                var builder = Builder(context: context, validated: validated)
                let body = builder.messageChecks(m, base: "self", path: "")
                result.append(
                    .type(
                        SwiftTypeDecl(
                            header: "extension \(context.swiftTypeName(m.fullName))",
                            members: builder.statics
                                + [
                                    .function(
                                        doc: [
                                            "Checks the schema's field rules (`rpc.v1.rules`); the first violation is thrown."
                                        ],
                                        signature:
                                            "\(context.access)func validate() throws(\(context.rt)FieldViolation)",
                                        body: body
                                    )
                                ]
                        )
                    )
                )
            }
            for nested in m.messages { visit(nested) }
        }
        for m in file.messages { visit(m) }
        return result
    }

    struct Builder {
        let context: SwiftEmitContext
        let validated: Set<String>
        var statics: [SwiftDecl] = []
        var counter = 0

        var rt: String { context.rt }

        mutating func fresh() -> String {
            counter += 1
            return "v\(counter)"
        }

        /// A path inside a string literal: `prefix.name` (the prefix may interpolate indices).
        static func join(_ prefix: String, _ name: String) -> String { prefix.isEmpty ? name : prefix + "." + name }

        func violation(_ path: String, _ reason: String, custom: String?) -> SwiftStatement {
            let field = "\"\(path)\""
            if let custom {
                return .line(
                    "throw \(rt)FieldViolation(field: \(field), reason: \(SwiftNaming.literal(reason)), message: \(SwiftNaming.literal(custom)))"
                )
            }
            return .line("throw \(rt)FieldViolation(field: \(field), reason: \(SwiftNaming.literal(reason)))")
        }

        func guardThrow(_ failing: String, _ path: String, _ reason: String, custom: String?) -> SwiftStatement {
            .block("if \(failing)", [violation(path, reason, custom: custom)])
        }

        mutating func messageChecks(_ m: MessageType, base: String, path: String) -> [SwiftStatement] {
            var body: [SwiftStatement] = []
            for f in m.fields {
                body += fieldChecks(
                    f,
                    in: m,
                    base: base,
                    rules: FieldRuleSet(field: f),
                    path: Builder.join(path, f.name),
                    custom: nil
                )
            }
            for o in m.oneofs {
                guard let rules = OneofRuleSet(oneof: o), rules.required else { continue }
                let property = SwiftNaming.escaped(SwiftNaming.propertyName(o.name))
                body.append(
                    guardThrow(
                        "\(base).\(property) == nil",
                        Builder.join(path, o.name),
                        "is required",
                        custom: rules.errorMessage
                    )
                )
            }
            return body
        }

        /// The checks of one field of `m`, read from `base`.
        mutating func fieldChecks(
            _ f: Field,
            in m: MessageType,
            base: String,
            rules: FieldRuleSet?,
            path: String,
            custom inherited: String?
        ) -> [SwiftStatement] {
            let custom = rules?.errorMessage ?? inherited
            let property = SwiftNaming.escaped(SwiftNaming.propertyName(f.name))
            let target = FieldRulesChecker.messageTarget(f.type)
            let nested = target.map { validated.contains($0) } ?? false
            guard rules != nil || nested else { return [] }
            let value = "\(base).\(property)"
            if let oneof = f.oneofIndex {
                let v = fresh()
                let oneofProperty = SwiftNaming.escaped(SwiftNaming.propertyName(m.oneofs[oneof].name))
                let inner = valueChecks(v, type: f.type, rules: rules, path: path, custom: custom, nested: nested)
                return inner.isEmpty
                    ? [] : [.block("if case .\(property)(let \(v))? = \(base).\(oneofProperty)", inner)]
            }
            switch f.label {
            case .repeated:
                if f.type.isMap {
                    guard nested else { return [] }
                    let (k, v) = (fresh(), fresh())
                    return [.block("for (\(k), \(v)) in \(value)", [nestedCall(v, path: "\(path)[\\(\(k))]")])]
                }
                var out: [SwiftStatement] = []
                if rules?.required == true {
                    out.append(guardThrow("\(value).isEmpty", path, "is required", custom: custom))
                }
                var items: FieldRuleSet?
                if case .repeated(let r)? = rules?.kind {
                    if let lo = r.minItems, lo > 0 {
                        out.append(
                            guardThrow(
                                "\(value).count < \(lo)",
                                path,
                                "must hold at least \(lo) entries",
                                custom: custom
                            )
                        )
                    }
                    if let hi = r.maxItems {
                        out.append(
                            guardThrow("\(value).count > \(hi)", path, "may hold at most \(hi) entries", custom: custom)
                        )
                    }
                    items = r.items
                }
                if items != nil || nested {
                    let (i, v) = (fresh(), fresh())
                    var element = items
                    if element?.errorMessage == nil { element?.errorMessage = custom }
                    let inner =
                        (element?.required == true
                            ? [
                                guardThrow(
                                    zeroTest(v, f.type),
                                    "\(path)[\\(\(i))]",
                                    "is required",
                                    custom: element?.errorMessage
                                )
                            ] : [])
                        + valueChecks(
                            v,
                            type: f.type,
                            rules: element,
                            path: "\(path)[\\(\(i))]",
                            custom: element?.errorMessage,
                            nested: nested
                        )
                    if !inner.isEmpty { out.append(.block("for (\(i), \(v)) in \(value).enumerated()", inner)) }
                }
                return out
            case .singular where !f.type.isMessage:
                var out: [SwiftStatement] = []
                if rules?.required == true {
                    out.append(guardThrow(zeroTest(value, f.type), path, "is required", custom: custom))
                }
                return out + valueChecks(value, type: f.type, rules: rules, path: path, custom: custom, nested: nested)
            case .optional, .singular:
                var out: [SwiftStatement] = []
                if rules?.required == true {
                    out.append(guardThrow("\(value) == nil", path, "is required", custom: custom))
                }
                let v = fresh()
                let inner = valueChecks(v, type: f.type, rules: rules, path: path, custom: custom, nested: nested)
                if !inner.isEmpty { out.append(.block("if let \(v) = \(value)", inner)) }
                return out
            }
        }

        func zeroTest(_ value: String, _ type: FieldType) -> String {
            switch type {
            case .scalar(.string), .scalar(.bytes): return "\(value).isEmpty"
            case .scalar(.bool): return "!\(value)"
            case .scalar: return "\(value) == 0"
            case .enumeration: return "\(value).protoValue == 0"
            case .message, .map: return "false"
            }
        }

        func nestedCall(_ value: String, path: String) -> SwiftStatement {
            .block(
                "do throws(\(rt)FieldViolation)",
                [.line("try \(value).validate()")],
                footer: "} catch { throw error.under(\"\(path)\") }"
            )
        }

        /// The checks of one value (a field's, an element's or a oneof member's).
        mutating func valueChecks(
            _ v: String,
            type: FieldType,
            rules: FieldRuleSet?,
            path: String,
            custom: String?,
            nested: Bool
        )
            -> [SwiftStatement]
        {
            var out: [SwiftStatement] = []
            switch rules?.kind {
            case .string(let s)?: out = stringChecks(v, s, path: path, custom: custom)
            case .int(let r)?:
                out = rangeChecks(
                    v,
                    code: (r.gt.map { "\($0)" }, r.gte.map { "\($0)" }, r.lt.map { "\($0)" }, r.lte.map { "\($0)" }),
                    text: (
                        r.gt.map(String.init), r.gte.map(String.init), r.lt.map(String.init), r.lte.map(String.init)
                    ),
                    path: path,
                    custom: custom
                )
            case .double(let r)?:
                out = rangeChecks(
                    v,
                    code: (r.gt.map { "\($0)" }, r.gte.map { "\($0)" }, r.lt.map { "\($0)" }, r.lte.map { "\($0)" }),
                    text: (
                        r.gt.map(Builder.number), r.gte.map(Builder.number), r.lt.map(Builder.number),
                        r.lte.map(Builder.number)
                    ),
                    path: path,
                    custom: custom
                )
                if r.finite {
                    out.append(guardThrow("!\(v).isFinite", path, "must be a finite number", custom: custom))
                }
            case .enumeration(let r)?: out = enumChecks(v, r, type: type, path: path, custom: custom)
            case .timestamp(let r)?: out = [timestampCheck(v, r, path: path, custom: custom)]
            case .message(let subs)?: out = messageChecks(v, subs, type: type, path: path, custom: custom)
            case .repeated?, nil: break
            }
            if nested { out.append(nestedCall(v, path: path)) }
            return out
        }

        /// A string's lengths, blankness, characters, e-mail form and allowed values.
        mutating func stringChecks(_ v: String, _ s: FieldRuleSet.StringRules, path: String, custom: String?)
            -> [SwiftStatement]
        {
            var out: [SwiftStatement] = []
            let statedBytes = s.statedBytes
            if s.minLen != nil || s.maxLen != nil || s.maxBytes != nil {
                // Set whenever a length is (max_bytes, else four bytes per character of max_len).
                let bytes = statedBytes.map(String.init) ?? "?"
                let lo = s.minLen ?? 0
                var reason: String
                switch (s.minLen, s.maxLen) {
                case (let lo?, let hi?) where lo > 0:
                    reason = "must be \(lo)-\(hi) characters and at most \(bytes) bytes"
                case (_, let hi?): reason = "must be at most \(hi) characters and \(bytes) bytes"
                case (let lo?, nil):
                    reason =
                        "must be at least \(lo) characters" + (s.maxBytes.map { " and at most \($0) bytes" } ?? "")
                case (nil, nil): reason = "must be at most \(bytes) bytes"
                }
                let maxLen = s.maxLen.map(String.init) ?? "Int.max"
                let maxBytes = s.maxBytes.map(String.init) ?? "Int.max"
                out.append(
                    guardThrow(
                        "!\(rt)FieldCheck.length(\(v), min: \(lo), max: \(maxLen), maxBytes: \(maxBytes))",
                        path,
                        reason,
                        custom: custom
                    )
                )
            }
            if s.notBlank {
                out.append(guardThrow("\(rt)FieldCheck.isBlank(\(v))", path, "must not be blank", custom: custom))
            }
            if let chars = s.chars, case .success(let ranges) = CharacterSpec.ranges(chars) {
                let name = "_chars\(statics.count)"
                let literal = ranges.map {
                    "0x\(String($0.lowerBound, radix: 16, uppercase: true))...0x\(String($0.upperBound, radix: 16, uppercase: true))"
                }
                statics.append(
                    .line(
                        doc: ["Allowed: \(chars)"],
                        text:
                            "private static let \(name): [ClosedRange<UInt32>] = [\(literal.joined(separator: ", "))]"
                    )
                )
                out.append(
                    guardThrow(
                        "!\(rt)FieldCheck.onlyAllowed(\(v), Self.\(name))",
                        path,
                        "must hold only the characters \(chars)",
                        custom: custom
                    )
                )
            }
            if s.email {
                out.append(
                    guardThrow(
                        "!\(rt)FieldCheck.isEmailAddress(\(v))",
                        path,
                        "is not a valid e-mail address",
                        custom: custom
                    )
                )
            }
            if !s.allowed.isEmpty {
                out.append(
                    .block(
                        "switch \(v)",
                        [
                            .caseLabel(
                                "case \(s.allowed.map(SwiftNaming.literal).joined(separator: ", ")):",
                                [.line("break")]
                            ),
                            .caseLabel(
                                "default:",
                                [
                                    violation(
                                        path,
                                        "must be one of \(s.allowed.joined(separator: ", "))",
                                        custom: custom
                                    )
                                ]
                            ),
                        ]
                    )
                )
            }
            return out
        }

        /// A number's bounds: `code` as Swift literals for the condition, `text` for the message
        /// (gt, gte, lt, lte).
        func rangeChecks(
            _ v: String,
            code: (String?, String?, String?, String?),
            text: (String?, String?, String?, String?),
            path: String,
            custom: String?
        ) -> [SwiftStatement] {
            var conditions: [String] = []
            if let gt = code.0 { conditions.append("\(v) > \(gt)") }
            if let gte = code.1 { conditions.append("\(v) >= \(gte)") }
            if let lt = code.2 { conditions.append("\(v) < \(lt)") }
            if let lte = code.3 { conditions.append("\(v) <= \(lte)") }
            guard !conditions.isEmpty else { return [] }
            let reason = Builder.rangeText(gt: text.0, gte: text.1, lt: text.2, lte: text.3)
            return [guardThrow("!(\(conditions.joined(separator: " && ")))", path, reason, custom: custom)]
        }

        /// An enum value among the allowed ones, or not among the refused ones.
        func enumChecks(_ v: String, _ r: FieldRuleSet.EnumRules, type: FieldType, path: String, custom: String?)
            -> [SwiftStatement]
        {
            var out: [SwiftStatement] = []
            guard case .enumeration(let enumName) = type, let e = context.schema.enums[enumName] else { return [] }
            func names(_ numbers: [Int32]) -> String {
                numbers.compactMap { n in
                    e.values.first { $0.number == n }.map {
                        ProtoNaming.strippingEnumPrefix($0.name, enumName: e.name)
                    }
                }
                .joined(separator: ", ")
            }
            if let allowed = FieldRulesChecker.allowedNumbers(r, in: e) {
                out.append(
                    .block(
                        "switch \(v).protoValue",
                        [
                            .caseLabel(
                                "case \(allowed.map(String.init).joined(separator: ", ")):",
                                [.line("break")]
                            ),
                            .caseLabel(
                                "default:",
                                [violation(path, "must be one of \(names(allowed))", custom: custom)]
                            ),
                        ]
                    )
                )
            } else {
                var seen: Set<Int32> = []
                let refused = e.values.filter { r.refused.contains($0.name) && seen.insert($0.number).inserted }
                    .map(\.number)
                if !refused.isEmpty {
                    out.append(
                        .block(
                            "switch \(v).protoValue",
                            [
                                .caseLabel(
                                    "case \(refused.map(String.init).joined(separator: ", ")):",
                                    [violation(path, "must not be \(names(refused))", custom: custom)]
                                ),
                                .caseLabel("default:", [.line("break")]),
                            ]
                        )
                    )
                }
            }
            return out
        }

        /// A time's nanos, and its bounds in seconds.
        func timestampCheck(_ v: String, _ r: FieldRuleSet.TimestampRules, path: String, custom: String?)
            -> SwiftStatement
        {
            var conditions = ["\(v).nanos >= 0", "\(v).nanos < 1_000_000_000"]
            var reason = "must be a valid time"
            if let lo = r.gteSeconds { conditions.append("\(v).seconds >= \(lo)") }
            if let hi = r.ltSeconds { conditions.append("\(v).seconds < \(hi)") }
            switch (r.gteSeconds, r.ltSeconds) {
            case (let lo?, let hi?):
                reason = "must be at or after \(Builder.date(lo)) and before \(Builder.date(hi))"
            case (let lo?, nil): reason = "must be at or after \(Builder.date(lo))"
            case (nil, let hi?): reason = "must be before \(Builder.date(hi))"
            case (nil, nil): break
            }
            return guardThrow("!(\(conditions.joined(separator: " && ")))", path, reason, custom: custom)
        }

        /// The rules of sub-fields of a message-typed value, for this use only.
        mutating func messageChecks(
            _ v: String,
            _ subs: [FieldRuleSet.SubField],
            type: FieldType,
            path: String,
            custom: String?
        ) -> [SwiftStatement] {
            var out: [SwiftStatement] = []
            guard case .message(let name) = type, let target = context.schema.messages[name] else { return [] }
            for sub in subs {
                guard let subField = target.fields.first(where: { $0.name == sub.name }) else { continue }
                out += fieldChecks(
                    subField,
                    in: target,
                    base: v,
                    rules: sub.rules,
                    path: Builder.join(path, sub.name),
                    custom: custom
                )
            }
            return out
        }

        static func number(_ d: Double) -> String {
            if d == d.rounded(), abs(d) < 1e15 { return String(Int64(d)) }
            return String(d)
        }

        static func rangeText(gt: String?, gte: String?, lt: String?, lte: String?) -> String {
            let lower = gt.map { "more than \($0)" } ?? gte.map { "at least \($0)" }
            let upper = lt.map { "less than \($0)" } ?? lte.map { "at most \($0)" }
            switch (lower, upper) {
            case (_, _) where gte != nil && lte != nil: return "must be between \(gte ?? "") and \(lte ?? "")"
            case (let l?, let u?): return "must be \(l) and \(u)"
            case (_, _) where gte == "0" && upper == nil: return "must not be negative"
            case (let l?, nil): return "must be \(l)"
            case (nil, let u?): return "must be \(u)"
            case (nil, nil): return "is out of range"
            }
        }

        /// Unix seconds as an ISO 8601 date (time of day when not midnight), for messages.
        static func date(_ seconds: Int64) -> String {
            let days = seconds >= 0 ? seconds / 86_400 : (seconds - 86_399) / 86_400
            let rest = seconds - days * 86_400
            // Howard Hinnant's civil_from_days.
            let z = days + 719_468
            let era = (z >= 0 ? z : z - 146_096) / 146_097
            let doe = z - era * 146_097
            let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146_096) / 365
            let doy = doe - (365 * yoe + yoe / 4 - yoe / 100)
            let mp = (5 * doy + 2) / 153
            let d = doy - (153 * mp + 2) / 5 + 1
            let m = mp < 10 ? mp + 3 : mp - 9
            let y = yoe + era * 400 + (m <= 2 ? 1 : 0)
            func pad(_ n: Int64, _ width: Int) -> String {
                let s = String(n)
                return String(repeating: "0", count: max(0, width - s.count)) + s
            }
            var text = "\(pad(y, 4))-\(pad(m, 2))-\(pad(d, 2))"
            if rest != 0 { text += "T\(pad(rest / 3600, 2)):\(pad(rest / 60 % 60, 2)):\(pad(rest % 60, 2))Z" }
            return text
        }
    }
}
