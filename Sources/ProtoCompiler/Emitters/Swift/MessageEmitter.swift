/// Emits Swift value types for messages and enums, with their binary and JSON coding.
public struct MessageEmitter: SwiftEmitter {
    public init() {}

    public func declarations(for file: ProtoFile, context: SwiftEmitContext) -> [SwiftDecl] {
        file.enums.map { .type(enumDecl($0, context: context)) }
            + file.messages.map { .type(messageDecl($0, context: context)) }
            + file.messages.flatMap { eventConformances($0, context: context) }
    }

    /// The option that ties an event message to its exchange and routing key.
    public static let eventOption = "rpc.v1.event"

    /// Whether any of `messages` (nested ones included) carries the `(rpc.v1.event)` option.
    static func hasEvents(_ messages: [MessageType]) -> Bool {
        messages.contains { $0.options.value(eventOption) != nil || hasEvents($0.messages) }
    }

    /// `extension OrderCreated: RPCSchema.EventMessage { … }` for every message (nested ones
    /// included) that carries the `(rpc.v1.event)` option.
    func eventConformances(_ m: MessageType, context: SwiftEmitContext) -> [SwiftDecl] {
        var result: [SwiftDecl] = []
        if let route = m.options.value(MessageEmitter.eventOption),
            let exchange = route[field: "exchange"]?.stringValue,
            let key = route[field: "routing_key"]?.stringValue
        {
            let a = context.access
            result.append(
                .type(
                    SwiftTypeDecl(
                        doc: ["Published on `\(exchange)` with routing key `\(key)`."],
                        header: "extension \(context.swiftTypeName(m.fullName)): EventMessage",
                        members: [
                            .line(doc: [], text: "\(a)static let eventExchange = \(SwiftNaming.literal(exchange))"),
                            .line(doc: [], text: "\(a)static let eventRoutingKey = \(SwiftNaming.literal(key))"),
                        ]
                    )
                )
            )
        }
        return result + m.messages.flatMap { eventConformances($0, context: context) }
    }

    // MARK: Docs

    static func docLines(_ doc: String?, deprecated: Bool = false) -> [String] {
        var lines = doc.map { $0.split(separator: "\n", omittingEmptySubsequences: false).map(String.init) } ?? []
        if deprecated {
            if !lines.isEmpty { lines.append("") }
            lines.append("- Note: deprecated in the schema.")
        }
        return lines
    }

    // MARK: Enums

    func enumDecl(_ e: EnumType, context: SwiftEmitContext) -> SwiftTypeDecl {
        let a = context.access
        let typeName = SwiftNaming.typeName(e.name)
        var members: [SwiftDecl] = []
        var primary: [(case: String, value: EnumValue)] = []
        var aliases: [(name: String, target: String, value: EnumValue)] = []
        var byNumber: [Int32: String] = [:]
        for v in e.values {
            let name = SwiftNaming.caseName(v.name, enumName: e.name)
            if let target = byNumber[v.number] {
                aliases.append((name, target, v))
            } else {
                byNumber[v.number] = name
                primary.append((name, v))
            }
        }
        for (name, v) in primary {
            members.append(
                .line(
                    doc: MessageEmitter.docLines(v.doc, deprecated: v.isDeprecated),
                    text: "case \(SwiftNaming.escaped(name))  // \(v.name) = \(v.number)"
                )
            )
        }
        members.append(
            .line(doc: ["A value this version of the schema does not know."], text: "case unrecognized(Int32)")
        )
        if !aliases.isEmpty { members.append(.blank) }
        for (name, target, v) in aliases {
            members.append(
                .line(
                    doc: ["Alias of `\(target)` (\(v.name))."],
                    text: "\(a)static let \(SwiftNaming.escaped(name)): \(typeName) = .\(SwiftNaming.escaped(target))"
                )
            )
        }
        members.append(.blank)
        members.append(
            .line(
                doc: [],
                text:
                    "\(a)static let allCases: [\(typeName)] = [\(primary.map { "." + SwiftNaming.escaped($0.case) }.joined(separator: ", "))]"
            )
        )
        members.append(.blank)
        let defaultCase = byNumber[0].map { "." + SwiftNaming.escaped($0) } ?? ".unrecognized(0)"
        members.append(.function(doc: [], signature: "\(a)init()", body: [.line("self = \(defaultCase)")]))
        members.append(.blank)
        members.append(
            .function(
                doc: [],
                signature: "\(a)init(protoValue: Int32)",
                body: [
                    .block(
                        "switch protoValue",
                        primary.map {
                            .caseLabel("case \($0.value.number):", [.line("self = .\(SwiftNaming.escaped($0.case))")])
                        }
                            + [.caseLabel("default:", [.line("self = .unrecognized(protoValue)")])],
                        footer: "}"
                    )
                ]
            )
        )
        members.append(.blank)
        members.append(
            .function(
                doc: [],
                signature: "\(a)var protoValue: Int32",
                body: [
                    .block(
                        "switch self",
                        primary.map {
                            .caseLabel("case .\(SwiftNaming.escaped($0.case)):", [.line("return \($0.value.number)")])
                        }
                            + [.caseLabel("case .unrecognized(let value):", [.line("return value")])]
                    )
                ]
            )
        )
        members.append(.blank)
        members.append(
            .function(
                doc: [],
                signature: "\(a)var protoName: String?",
                body: [
                    .block(
                        "switch self",
                        primary.map {
                            .caseLabel(
                                "case .\(SwiftNaming.escaped($0.case)):",
                                [.line("return \(SwiftNaming.literal($0.value.name))")]
                            )
                        }
                            + [.caseLabel("case .unrecognized:", [.line("return nil")])]
                    )
                ]
            )
        )
        members.append(.blank)
        let nameCases: [SwiftStatement] =
            primary.map {
                .caseLabel(
                    "case \(SwiftNaming.literal($0.value.name)):",
                    [.line("self = .\(SwiftNaming.escaped($0.case))")]
                )
            }
            + aliases.map {
                .caseLabel(
                    "case \(SwiftNaming.literal($0.value.name)):",
                    [.line("self = .\(SwiftNaming.escaped($0.target))")]
                )
            }
        members.append(
            .function(
                doc: [],
                signature: "\(a)init?(protoName: String)",
                body: [.block("switch protoName", nameCases + [.caseLabel("default:", [.line("return nil")])])]
            )
        )
        return SwiftTypeDecl(
            doc: MessageEmitter.docLines(e.doc, deprecated: e.isDeprecated),
            header: "\(a)enum \(typeName): \(context.rt)ProtoEnum",
            members: members
        )
    }

    // MARK: Messages

    /// How one field is stored and coded.
    struct FieldPlan {
        var field: Field
        var property: String
        var storage: String
        var boxed: Bool
        var valueType: String
        var declaredType: String
        var defaultValue: String
    }

    func plan(_ f: Field, in m: MessageType, context: SwiftEmitContext) -> FieldPlan {
        let property = SwiftNaming.escaped(SwiftNaming.propertyName(f.name))
        let valueType = context.swiftValueType(f.type)
        let boxed = context.needsBox(field: f, in: m)
        var declared: String
        var defaultValue: String
        switch f.label {
        case .repeated:
            if f.type.isMap {
                declared = valueType
                defaultValue = "[:]"
            } else {
                declared = "[\(valueType)]"
                defaultValue = "[]"
            }
        case .optional:
            declared = valueType + "?"
            defaultValue = "nil"
        case .singular:
            if f.type.isMessage {
                declared = valueType + "?"
                defaultValue = "nil"
            } else {
                declared = valueType
                defaultValue = MessageEmitter.defaultLiteral(f.type)
                if case .enumeration(let enumName) = f.type, let e = context.schema.enums[enumName],
                    let zero = e.values.first(where: { $0.number == 0 })
                {
                    defaultValue = "." + SwiftNaming.escaped(SwiftNaming.caseName(zero.name, enumName: e.name))
                }
            }
        }
        let storage = boxed ? "_" + SwiftNaming.propertyName(f.name) : property
        return FieldPlan(
            field: f,
            property: property,
            storage: storage,
            boxed: boxed,
            valueType: valueType,
            declaredType: declared,
            defaultValue: defaultValue
        )
    }

    static func defaultLiteral(_ type: FieldType) -> String {
        switch type {
        case .scalar(let s):
            switch s {
            case .bool: return "false"
            case .string: return "\"\""
            case .bytes: return "[]"
            default: return "0"
            }
        case .enumeration: return ".init()"
        case .message: return "nil"
        case .map: return "[:]"
        }
    }

    func messageDecl(_ m: MessageType, context: SwiftEmitContext) -> SwiftTypeDecl {
        let a = context.access
        let typeName = SwiftNaming.typeName(m.name)
        let plans = m.fields.map { plan($0, in: m, context: context) }
        let oneofNames = oneofTypeNames(m)
        var members: [SwiftDecl] = []
        members.append(.line(doc: [], text: "\(a)static let protoMessageName = \(SwiftNaming.literal(m.fullName))"))
        members.append(.blank)
        // Stored properties.
        for p in plans where p.field.oneofIndex == nil {
            let doc = MessageEmitter.docLines(p.field.doc, deprecated: p.field.isDeprecated)
            if p.boxed {
                members.append(.line(doc: [], text: "private var \(p.storage): \(context.rt)ProtoBox<\(p.valueType)>?"))
                members.append(
                    .function(
                        doc: doc,
                        signature: "\(a)var \(p.property): \(p.declaredType)",
                        body: [
                            .line("get { \(p.storage)?.value }"),
                            .line("set { \(p.storage) = newValue.map { \(context.rt)ProtoBox($0) } }"),
                        ]
                    )
                )
            } else {
                members.append(.line(doc: doc, text: "\(a)var \(p.property): \(p.declaredType) = \(p.defaultValue)"))
            }
        }
        for (i, o) in m.oneofs.enumerated() {
            members.append(
                .line(
                    doc: MessageEmitter.docLines(o.doc),
                    text: "\(a)var \(SwiftNaming.escaped(SwiftNaming.propertyName(o.name))): \(oneofNames[i])? = nil"
                )
            )
        }
        members.append(.line(doc: [], text: "\(a)var unknownFields = \(context.rt)UnknownFields()"))
        members.append(.blank)
        // Initializers.
        members.append(.function(doc: [], signature: "\(a)init()", body: []))
        var params: [String] = []
        var assigns: [SwiftStatement] = []
        // Parameters in declaration order; a oneof stands where its first member was declared.
        var oneofDone: Set<Int> = []
        for p in plans {
            if let i = p.field.oneofIndex {
                guard oneofDone.insert(i).inserted else { continue }
                let name = SwiftNaming.escaped(SwiftNaming.propertyName(m.oneofs[i].name))
                params.append("\(name): \(oneofNames[i])? = nil")
                assigns.append(.line("self.\(name) = \(name)"))
            } else {
                params.append("\(p.property): \(p.declaredType) = \(p.defaultValue)")
                assigns.append(.line("self.\(p.property) = \(p.property)"))
            }
        }
        if !params.isEmpty {
            members.append(.blank)
            members.append(
                .function(
                    doc: ["A message with the given field values; the rest keep their defaults."],
                    signature: "\(a)init(\n    " + params.joined(separator: ",\n    ") + "\n)",
                    body: assigns
                )
            )
        }
        // Nested types.
        for (i, o) in m.oneofs.enumerated() {
            members.append(.blank)
            members.append(
                .type(oneofDecl(o, index: i, name: oneofNames[i], plans: plans, message: m, context: context))
            )
        }
        for e in m.enums {
            members.append(.blank)
            members.append(.type(enumDecl(e, context: context)))
        }
        for nested in m.messages {
            members.append(.blank)
            members.append(.type(messageDecl(nested, context: context)))
        }
        members.append(.blank)
        members += binaryCoding(m, plans: plans, context: context)
        members.append(.blank)
        members += jsonCoding(m, plans: plans, oneofNames: oneofNames, context: context)
        return SwiftTypeDecl(
            doc: MessageEmitter.docLines(m.doc, deprecated: m.isDeprecated),
            header: "\(a)struct \(typeName): \(context.rt)Message",
            members: members
        )
    }

    func oneofTypeNames(_ m: MessageType) -> [String] {
        let nestedNames = Set(m.messages.map(\.name) + m.enums.map(\.name))
        return m.oneofs.map { o in
            let base = SwiftNaming.oneofTypeName(o.name)
            return nestedNames.contains(base) ? "OneOf_" + base : base
        }
    }

    func oneofDecl(
        _ o: Oneof,
        index: Int,
        name: String,
        plans: [FieldPlan],
        message: MessageType,
        context: SwiftEmitContext
    ) -> SwiftTypeDecl {
        var members: [SwiftDecl] = []
        var recursive = false
        for i in o.fieldIndices {
            let p = plans[i]
            if case .message(let target) = p.field.type,
                context.needsBox(
                    field: Field(
                        name: p.field.name,
                        number: p.field.number,
                        label: .singular,
                        type: .message(target),
                        jsonName: "",
                        hasCustomJSONName: false,
                        oneofIndex: nil,
                        options: [],
                        isPacked: false,
                        isDeprecated: false,
                        doc: nil,
                        location: p.field.location
                    ),
                    in: message
                )
            {
                recursive = true
            }
            members.append(
                .line(
                    doc: MessageEmitter.docLines(p.field.doc, deprecated: p.field.isDeprecated),
                    text: "case \(p.property)(\(p.valueType))"
                )
            )
        }
        return SwiftTypeDecl(
            doc: MessageEmitter.docLines(o.doc).isEmpty
                ? ["The fields of oneof `\(o.name)`; at most one is set."] : MessageEmitter.docLines(o.doc),
            header: "\(context.access)\(recursive ? "indirect " : "")enum \(name): Hashable, Sendable",
            members: members
        )
    }

    // MARK: Binary

    static func tag(_ number: Int, _ wireType: Int) -> UInt32 { UInt32(number) << 3 | UInt32(wireType) }

    static func hex(_ tag: UInt32) -> String { "0x" + String(tag, radix: 16, uppercase: true) }

    static func tagSize(_ tag: UInt32) -> Int {
        var n = 1
        var v = tag >> 7
        while v > 0 {
            n += 1
            v >>= 7
        }
        return n
    }

    static func scalarMethod(_ s: ScalarType) -> String {
        switch s {
        case .double: return "Double"
        case .float: return "Float"
        case .int64: return "Int64"
        case .uint64: return "UInt64"
        case .int32: return "Int32"
        case .fixed64: return "Fixed64"
        case .fixed32: return "Fixed32"
        case .bool: return "Bool"
        case .string: return "String"
        case .bytes: return "Bytes"
        case .uint32: return "UInt32"
        case .sfixed32: return "SFixed32"
        case .sfixed64: return "SFixed64"
        case .sint32: return "SInt32"
        case .sint64: return "SInt64"
        }
    }

    /// The size of one value `v` of `type`, without tag.
    func sizeExpr(_ type: FieldType, _ v: String, context: SwiftEmitContext) -> String {
        let ws = context.rt + "WireSize."
        switch type {
        case .scalar(let s):
            switch s {
            case .int32: return "\(ws)int32(\(v))"
            case .int64: return "\(ws)int64(\(v))"
            case .uint32: return "\(ws)uint32(\(v))"
            case .uint64: return "\(ws)varint(\(v))"
            case .sint32: return "\(ws)sint32(\(v))"
            case .sint64: return "\(ws)sint64(\(v))"
            case .bool: return "1"
            case .fixed32, .sfixed32, .float: return "4"
            case .fixed64, .sfixed64, .double: return "8"
            case .string: return "\(ws)string(\(v))"
            case .bytes: return "\(ws)lengthDelimited(\(v).count)"
            }
        case .enumeration: return "\(ws)int32(\(v).protoValue)"
        case .message: return "\(ws)lengthDelimited(\(v).serializedSize())"
        case .map: return "0"
        }
    }

    /// A statement writing one value `v` of `type` (no tag).
    func writeExpr(_ type: FieldType, _ v: String) -> String {
        switch type {
        case .scalar(let s): return "writer.write\(MessageEmitter.scalarMethod(s))(\(v))"
        case .enumeration: return "writer.writeInt32(\(v).protoValue)"
        case .message: return "writer.writeMessage(\(v))"
        case .map: return ""
        }
    }

    /// An expression reading one value of `type` from `reader`.
    func readExpr(_ type: FieldType, reader: String, context: SwiftEmitContext) -> String {
        switch type {
        case .scalar(let s): return "try \(reader).read\(MessageEmitter.scalarMethod(s))()"
        case .enumeration(let name): return "try \(reader).readEnum(\(context.swiftTypeName(name)).self)"
        case .message(let name): return "try \(reader).readMessage(\(context.swiftTypeName(name)).self)"
        case .map: return ""
        }
    }

    /// A condition that is true when a proto3 singular field differs from its default.
    func nonDefault(_ type: FieldType, _ v: String) -> String {
        switch type {
        case .scalar(let s):
            switch s {
            case .bool: return v
            case .string, .bytes: return "!\(v).isEmpty"
            case .float, .double: return "\(v).bitPattern != 0"
            default: return "\(v) != 0"
            }
        case .enumeration: return "\(v).protoValue != 0"
        default: return "true"
        }
    }

    static func fixedWidth(_ type: FieldType) -> Int? {
        if case .scalar(let s) = type {
            switch s {
            case .fixed32, .sfixed32, .float: return 4
            case .fixed64, .sfixed64, .double: return 8
            case .bool: return 1
            default: return nil
            }
        }
        return nil
    }

    /// The map's entries in protobuf's deterministic order (the runtime's `ProtoMapKey`): the
    /// same bytes in every process, whatever order the dictionary iterates in.
    func mapSorted(_ v: String) -> String { "\(v).protoOrderedEntries" }

    func binaryCoding(_ m: MessageType, plans: [FieldPlan], context: SwiftEmitContext) -> [SwiftDecl] {
        let a = context.access
        var size: [SwiftStatement] = [.line("var size = unknownFields.count")]
        var encode: [SwiftStatement] = []
        var decodeCases: [SwiftStatement] = []
        // Fields in number order, as protobuf serializes them.
        let ordered = plans.sorted { $0.field.number < $1.field.number }
        for p in ordered {
            let f = p.field
            let name = "self.\(p.property)"
            let wireTag = MessageEmitter.tag(f.number, f.type.wireType)
            let t = MessageEmitter.hex(wireTag)
            let ts = MessageEmitter.tagSize(wireTag)
            if let oneof = f.oneofIndex {
                let oneofProp = "self." + SwiftNaming.escaped(SwiftNaming.propertyName(m.oneofs[oneof].name))
                let caseName = p.property
                let sizeBinding = MessageEmitter.fixedWidth(f.type) == nil ? "(let v)" : ""
                size.append(
                    .block(
                        "if case .\(caseName)\(sizeBinding)? = \(oneofProp)",
                        [.line("size += \(ts) + \(sizeExpr(f.type, "v", context: context))")]
                    )
                )
                encode.append(
                    .block(
                        "if case .\(caseName)(let v)? = \(oneofProp)",
                        [.line("writer.writeTag(\(t))"), .line(writeExpr(f.type, "v"))]
                    )
                )
                if f.type.isMessage {
                    decodeCases.append(
                        .caseLabel(
                            "case \(t):",
                            [
                                .block(
                                    "if case .\(caseName)(var v)? = \(oneofProp)",
                                    [
                                        .line("try reader.readMessage(into: &v)"),
                                        .line("\(oneofProp) = .\(caseName)(v)"),
                                    ],
                                    footer: "} else {"
                                ),
                                .line(
                                    "    \(oneofProp) = .\(caseName)(\(readExpr(f.type, reader: "reader", context: context)))"
                                ),
                                .line("}"),
                            ]
                        )
                    )
                } else {
                    decodeCases.append(
                        .caseLabel(
                            "case \(t):",
                            [
                                .line(
                                    "\(oneofProp) = .\(caseName)(\(readExpr(f.type, reader: "reader", context: context)))"
                                )
                            ]
                        )
                    )
                }
                continue
            }
            switch f.label {
            case .repeated:
                if case .map(let key, let value) = f.type {
                    let keyTag = MessageEmitter.hex(MessageEmitter.tag(1, key.wireType))
                    let valueTag = MessageEmitter.hex(MessageEmitter.tag(2, value.wireType))
                    let entrySize =
                        "1 + \(sizeExpr(.scalar(key), "k", context: context)) + 1 + \(sizeExpr(value, "v", context: context))"
                    let kName = MessageEmitter.fixedWidth(.scalar(key)) == nil ? "k" : "_"
                    let vName = MessageEmitter.fixedWidth(value) == nil ? "v" : "_"
                    size.append(
                        .block(
                            "for (\(kName), \(vName)) in \(name)",
                            [.line("size += \(ts) + \(context.rt)WireSize.lengthDelimited(\(entrySize))")]
                        )
                    )
                    encode.append(
                        .block(
                            "for (k, v) in \(mapSorted(name))",
                            [
                                .line("writer.writeTag(\(t))"),
                                .line("writer.writeVarint(UInt64(\(entrySize)))"),
                                .line("writer.writeTag(\(keyTag))"),
                                .line(writeExpr(.scalar(key), "k")),
                                .line("writer.writeTag(\(valueTag))"),
                                .line(writeExpr(value, "v")),
                            ]
                        )
                    )
                    let valueDefault: String
                    switch value {
                    case .message, .enumeration: valueDefault = "\(context.swiftValueType(value))()"
                    default: valueDefault = MessageEmitter.defaultLiteral(value)
                    }
                    decodeCases.append(
                        .caseLabel(
                            "case \(t):",
                            [
                                .line("try reader.readMapEntry("),
                                .line(
                                    "    into: &\(name), key: \(MessageEmitter.defaultLiteral(.scalar(key))), value: \(valueDefault),"
                                ),
                                .line("    keyTag: \(keyTag), valueTag: \(valueTag),"),
                                .line("    readKey: { \(readExpr(.scalar(key), reader: "$0", context: context)) },"),
                                .line("    readValue: { \(readExpr(value, reader: "$0", context: context)) })"),
                            ]
                        )
                    )
                } else if f.isPacked {
                    let packedTag = MessageEmitter.tag(f.number, 2)
                    let pt = MessageEmitter.hex(packedTag)
                    let pts = MessageEmitter.tagSize(packedTag)
                    let lengthExpr: String
                    if let width = MessageEmitter.fixedWidth(f.type) {
                        lengthExpr = "\(name).count * \(width)"
                    } else {
                        lengthExpr = "\(name).reduce(0) { $0 + \(sizeExpr(f.type, "$1", context: context)) }"
                    }
                    size.append(
                        .block(
                            "if !\(name).isEmpty",
                            [.line("size += \(pts) + \(context.rt)WireSize.lengthDelimited(\(lengthExpr))")]
                        )
                    )
                    encode.append(
                        .block(
                            "if !\(name).isEmpty",
                            [
                                .line("writer.writeTag(\(pt))"),
                                .line("writer.writeVarint(UInt64(\(lengthExpr)))"),
                                .block("for v in \(name)", [.line(writeExpr(f.type, "v"))]),
                            ]
                        )
                    )
                    decodeCases.append(
                        .caseLabel(
                            "case \(pt):",
                            [
                                .line(
                                    "try reader.readPacked(into: &\(name)) { \(readExpr(f.type, reader: "$0", context: context)) }"
                                )
                            ]
                        )
                    )
                    decodeCases.append(
                        .caseLabel(
                            "case \(t):",
                            [.line("\(name).append(\(readExpr(f.type, reader: "reader", context: context)))")]
                        )
                    )
                } else {
                    if let width = MessageEmitter.fixedWidth(f.type) {
                        size.append(.line("size += \(name).count * \(ts + width)"))
                    } else {
                        size.append(
                            .block(
                                "for v in \(name)",
                                [.line("size += \(ts) + \(sizeExpr(f.type, "v", context: context))")]
                            )
                        )
                    }
                    encode.append(
                        .block("for v in \(name)", [.line("writer.writeTag(\(t))"), .line(writeExpr(f.type, "v"))])
                    )
                    decodeCases.append(
                        .caseLabel(
                            "case \(t):",
                            [.line("\(name).append(\(readExpr(f.type, reader: "reader", context: context)))")]
                        )
                    )
                    if case .scalar(let s) = f.type, s.isPackable {
                        // Accept the packed form too, as protobuf requires of every parser.
                        let pt = MessageEmitter.hex(MessageEmitter.tag(f.number, 2))
                        decodeCases.append(
                            .caseLabel(
                                "case \(pt):",
                                [
                                    .line(
                                        "try reader.readPacked(into: &\(name)) { \(readExpr(f.type, reader: "$0", context: context)) }"
                                    )
                                ]
                            )
                        )
                    } else if case .enumeration = f.type {
                        let pt = MessageEmitter.hex(MessageEmitter.tag(f.number, 2))
                        decodeCases.append(
                            .caseLabel(
                                "case \(pt):",
                                [
                                    .line(
                                        "try reader.readPacked(into: &\(name)) { \(readExpr(f.type, reader: "$0", context: context)) }"
                                    )
                                ]
                            )
                        )
                    }
                }
            case .optional, .singular:
                let condition: String
                let value: String
                if f.label == .optional || f.type.isMessage {
                    condition = "let v = \(name)"
                    value = "v"
                } else {
                    condition = nonDefault(f.type, name)
                    value = name
                }
                let sizeCondition =
                    value == "v" && MessageEmitter.fixedWidth(f.type) != nil ? "\(name) != nil" : condition
                size.append(
                    .block(
                        "if \(sizeCondition)",
                        [.line("size += \(ts) + \(sizeExpr(f.type, value, context: context))")]
                    )
                )
                encode.append(
                    .block("if \(condition)", [.line("writer.writeTag(\(t))"), .line(writeExpr(f.type, value))])
                )
                if f.type.isMessage {
                    if p.boxed {
                        decodeCases.append(
                            .caseLabel(
                                "case \(t):",
                                [
                                    .line("var v = \(name)"), .line("try reader.readMessage(into: &v)"),
                                    .line("\(name) = v"),
                                ]
                            )
                        )
                    } else {
                        decodeCases.append(.caseLabel("case \(t):", [.line("try reader.readMessage(into: &\(name))")]))
                    }
                } else {
                    decodeCases.append(
                        .caseLabel(
                            "case \(t):",
                            [.line("\(name) = \(readExpr(f.type, reader: "reader", context: context))")]
                        )
                    )
                }
            }
        }
        if size.count == 1 {
            size = [.line("unknownFields.count")]
        } else {
            size.append(.line("return size"))
        }
        encode.append(.line("unknownFields.encode(to: &writer)"))
        decodeCases.append(.caseLabel("default:", [.line("try reader.skipField(into: &unknownFields)")]))
        return [
            .function(doc: [], signature: "\(a)func serializedSize() -> Int", body: size),
            .blank,
            .function(doc: [], signature: "\(a)func encode(to writer: inout \(context.rt)WireWriter)", body: encode),
            .blank,
            .function(
                doc: [],
                signature: "\(a)mutating func decodeMessage(from reader: inout \(context.rt)WireReader) throws",
                body: [.block("while let tag = try reader.nextTag()", [.block("switch tag", decodeCases)])]
            ),
        ]
    }

    // MARK: JSON

    /// JSON cares about the value type only: `sfixed32` reads and writes like `int32`.
    static func jsonScalarMethod(_ s: ScalarType) -> String {
        switch s {
        case .sint32, .sfixed32: return "Int32"
        case .sint64, .sfixed64: return "Int64"
        case .fixed32: return "UInt32"
        case .fixed64: return "UInt64"
        default: return scalarMethod(s)
        }
    }

    func jsonWrite(_ type: FieldType, _ v: String) -> String {
        switch type {
        case .scalar(let s): return "writer.write\(MessageEmitter.jsonScalarMethod(s))(\(v))"
        case .enumeration: return "writer.writeEnum(\(v))"
        case .message: return "writer.writeMessage(\(v))"
        case .map: return ""
        }
    }

    func jsonRead(_ type: FieldType, reader: String, context: SwiftEmitContext) -> String {
        switch type {
        case .scalar(let s): return "try \(reader).read\(MessageEmitter.jsonScalarMethod(s))()"
        case .enumeration(let name): return "try \(reader).readEnum(\(context.swiftTypeName(name)).self)"
        case .message(let name): return "try \(reader).readMessage(\(context.swiftTypeName(name)).self)"
        case .map: return ""
        }
    }

    func mapKeyExpr(_ key: ScalarType, context: SwiftEmitContext) -> String {
        switch key {
        case .string: return "key"
        case .bool: return "try \(context.rt)JSONReader.mapKey(key, as: Bool.self)"
        default: return "try \(context.rt)JSONReader.mapKey(key, as: \(SwiftEmitContext.swiftScalarType(key)).self)"
        }
    }

    func jsonCoding(_ m: MessageType, plans: [FieldPlan], oneofNames: [String], context: SwiftEmitContext)
        -> [SwiftDecl]
    {
        let a = context.access
        var encode: [SwiftStatement] = [.line("writer.beginObject()")]
        var cases: [SwiftStatement] = []
        let fieldCount = plans.count
        for (index, p) in plans.enumerated() {
            let f = p.field
            let name = "self.\(p.property)"
            let key = "writer.writeKey(json: \(SwiftNaming.literal(f.jsonName)), proto: \(SwiftNaming.literal(f.name)))"
            let labels = Array(Set([f.jsonName, f.name])).sorted().map(SwiftNaming.literal).joined(separator: ", ")
            var body: [SwiftStatement] = [.line("try seen.insert(\(index), key: key)")]
            if let oneof = f.oneofIndex {
                let oneofProp = "self." + SwiftNaming.escaped(SwiftNaming.propertyName(m.oneofs[oneof].name))
                encode.append(
                    .block(
                        "if case .\(p.property)(let v)? = \(oneofProp)",
                        [.line(key), .line(jsonWrite(f.type, "v"))]
                    )
                )
                body.append(
                    .block(
                        "if !(try reader.readNull())",
                        [
                            .line(
                                "try seen.insert(\(fieldCount + oneof), key: key, oneof: \(SwiftNaming.literal(m.oneofs[oneof].name)))"
                            )
                        ] + oneofAssign(f, p: p, oneofProp: oneofProp, context: context)
                    )
                )
                cases.append(.caseLabel("case \(labels):", body))
                continue
            }
            switch f.label {
            case .repeated:
                if case .map(let keyType, let value) = f.type {
                    let sortedPairs = mapSorted(name)
                    encode.append(
                        .block(
                            "if !\(name).isEmpty || writer.options.emitDefaults",
                            [
                                .line(key),
                                .line("writer.beginObject()"),
                                .block(
                                    "for (k, v) in \(sortedPairs)",
                                    [.line("writer.writeKey(k)"), .line(jsonWrite(value, "v"))]
                                ),
                                .line("writer.endObject()"),
                            ]
                        )
                    )
                    var entry: [SwiftStatement] = [.line("let k = \(mapKeyExpr(keyType, context: context))")]
                    if case .enumeration = value {
                        entry.append(
                            .block(
                                "if let v = \(jsonRead(value, reader: "reader", context: context))",
                                [.line("\(name)[k] = v")]
                            )
                        )
                    } else {
                        entry.append(.line("\(name)[k] = \(jsonRead(value, reader: "reader", context: context))"))
                    }
                    body.append(.block("try reader.readMap { reader, key in", entry))
                } else {
                    encode.append(
                        .block(
                            "if !\(name).isEmpty || writer.options.emitDefaults",
                            [
                                .line(key),
                                .line("writer.beginArray()"),
                                .block(
                                    "for v in \(name)",
                                    [.line("writer.beginElement()"), .line(jsonWrite(f.type, "v"))]
                                ),
                                .line("writer.endArray()"),
                            ]
                        )
                    )
                    if case .enumeration = f.type {
                        body.append(
                            .block(
                                "try reader.readArray { reader in",
                                [
                                    .block(
                                        "if let v = \(jsonRead(f.type, reader: "reader", context: context))",
                                        [.line("\(name).append(v)")]
                                    )
                                ]
                            )
                        )
                    } else {
                        body.append(
                            .line(
                                "try reader.readArray { \(name).append(\(jsonRead(f.type, reader: "$0", context: context))) }"
                            )
                        )
                    }
                }
            case .optional, .singular:
                if f.label == .optional || f.type.isMessage {
                    encode.append(.block("if let v = \(name)", [.line(key), .line(jsonWrite(f.type, "v"))]))
                } else {
                    encode.append(
                        .block(
                            "if \(nonDefault(f.type, name)) || writer.options.emitDefaults",
                            [.line(key), .line(jsonWrite(f.type, name))]
                        )
                    )
                }
                if case .enumeration = f.type {
                    body.append(
                        .block(
                            "if !(try reader.readNull()), let v = \(jsonRead(f.type, reader: "reader", context: context))",
                            [.line("\(name) = v")]
                        )
                    )
                } else {
                    body.append(
                        .block(
                            "if !(try reader.readNull())",
                            [.line("\(name) = \(jsonRead(f.type, reader: "reader", context: context))")]
                        )
                    )
                }
            }
            cases.append(.caseLabel("case \(labels):", body))
        }
        encode.append(.line("writer.endObject()"))
        cases.append(.caseLabel("default:", [.line("try reader.unknownField(key)")]))
        let loopBody: [SwiftStatement] = [
            .block(
                "do",
                [.block("switch key", cases)],
                footer: "} catch let error as \(context.rt)JSONDecodingError {"
            ),
            .line("    throw error.prefixed(.key(key))"),
            .line("}"),
        ]
        var decode: [SwiftStatement] = [.line("try reader.beginObject()")]
        if !plans.isEmpty { decode.append(.line("var seen = \(context.rt)JSONFieldSet()")) }
        decode.append(
            .block(
                "while let key = try reader.nextKey()",
                plans.isEmpty ? [.line("try reader.unknownField(key)")] : loopBody
            )
        )
        return [
            .function(
                doc: [],
                signature: "\(a)func encodeJSON(to writer: inout \(context.rt)JSONWriter)",
                body: encode
            ),
            .blank,
            .function(
                doc: [],
                signature: "\(a)mutating func decodeJSON(from reader: inout \(context.rt)JSONReader) throws",
                body: decode
            ),
        ]
    }

    func oneofAssign(_ f: Field, p: FieldPlan, oneofProp: String, context: SwiftEmitContext) -> [SwiftStatement] {
        if case .enumeration = f.type {
            return [
                .block(
                    "if let v = \(jsonRead(f.type, reader: "reader", context: context))",
                    [.line("\(oneofProp) = .\(p.property)(v)")]
                )
            ]
        }
        return [.line("\(oneofProp) = .\(p.property)(\(jsonRead(f.type, reader: "reader", context: context)))")]
    }
}
