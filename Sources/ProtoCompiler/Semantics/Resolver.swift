/// Links names to declarations with protobuf's scoping rules and checks every semantic rule.
struct Resolver {
    enum SymbolKind: Equatable {
        case package, message, enumType, enumValue, service, method, field, oneof, extensionField

        var isType: Bool { self == .message || self == .enumType }
        var isAggregate: Bool { self == .package || self == .message }
        var noun: String {
            switch self {
            case .package: return "a package"
            case .message: return "a message"
            case .enumType: return "an enum"
            case .enumValue: return "an enum value"
            case .service: return "a service"
            case .method: return "a method"
            case .field: return "a field"
            case .oneof: return "a oneof"
            case .extensionField: return "an extension"
            }
        }
    }

    struct Symbol {
        var kind: SymbolKind
        var file: String
        var location: SourceLocation?
    }

    var diagnostics = DiagnosticBag()
    private var symbols: [String: Symbol] = [:]
    private var syntaxByPath: [String: FileSyntax] = [:]
    private var visibleFiles: [String: Set<String>] = [:]
    private var messageTable: [String: MessageType] = [:]
    private var enumTable: [String: EnumType] = [:]
    private var extensionsByName: [String: ExtensionField] = [:]
    private var extensionNumbers: [String: [Int: String]] = [:]
    private var builtin: Set<String>
    private var displayPaths: [String: String]

    init(builtin: Set<String>, displayPaths: [String: String]) {
        self.builtin = builtin
        self.displayPaths = displayPaths
    }

    // MARK: Entry

    mutating func resolve(_ files: [FileSyntax]) -> Schema {
        for file in files {
            syntaxByPath[file.path] = file
            registerSymbols(of: file)
        }
        for file in files { visibleFiles[file.path] = computeVisible(file.path) }
        var resolved: [ProtoFile] = []
        for file in files { resolved.append(resolveFile(file)) }
        return Schema(files: resolved, messages: messageTable, enums: enumTable)
    }

    private func computeVisible(_ path: String) -> Set<String> {
        var result: Set<String> = [path]
        var queue: [String] = []
        for imp in syntaxByPath[path]?.imports ?? [] { queue.append(imp.path) }
        var index = 0
        // Direct imports, then the public imports of every visible file, transitively.
        while index < queue.count {
            let p = queue[index]
            index += 1
            guard result.insert(p).inserted else { continue }
            for imp in syntaxByPath[p]?.imports ?? [] where imp.kind == .public { queue.append(imp.path) }
        }
        return result
    }

    // MARK: Symbols

    private mutating func define(_ name: String, _ kind: SymbolKind, file: String, at location: SourceLocation?) {
        if let existing = symbols[name] {
            if existing.kind == .package && kind == .package { return }
            let (scope, simple) = Resolver.split(name)
            let whereText = scope.isEmpty ? "the root scope" : "'\(scope)'"
            var message = "'\(simple)' is already defined in \(whereText)"
            if existing.file != file { message += " (in '\(existing.file)')" }
            if kind == .enumValue || existing.kind == .enumValue {
                message +=
                    "; note that enum values use C++ scoping rules: they are siblings of their enum, not children"
            }
            diagnostics.error(message, at: location)
            return
        }
        symbols[name] = Symbol(kind: kind, file: file, location: location)
    }

    static func split(_ fullName: String) -> (scope: String, name: String) {
        guard let dot = fullName.lastIndex(of: ".") else { return ("", fullName) }
        return (String(fullName[..<dot]), String(fullName[fullName.index(after: dot)...]))
    }

    static func join(_ scope: String, _ name: String) -> String { scope.isEmpty ? name : scope + "." + name }

    private mutating func registerSymbols(of file: FileSyntax) {
        var scope = ""
        for part in file.package.split(separator: ".") where !file.package.isEmpty {
            scope = Resolver.join(scope, String(part))
            define(scope, .package, file: file.path, at: file.packageLocation)
        }
        let package = file.package
        for message in file.messages { registerMessage(message, scope: package, file: file.path) }
        for e in file.enums { registerEnum(e, scope: package, file: file.path) }
        for service in file.services {
            let name = Resolver.join(package, service.name)
            define(name, .service, file: file.path, at: service.location)
            for method in service.methods {
                define(Resolver.join(name, method.name), .method, file: file.path, at: method.location)
            }
        }
        for extend in file.extends {
            for field in extend.fields {
                define(Resolver.join(package, field.name), .extensionField, file: file.path, at: field.location)
            }
        }
    }

    private mutating func registerMessage(_ message: MessageSyntax, scope: String, file: String) {
        let name = Resolver.join(scope, message.name)
        define(name, .message, file: file, at: message.location)
        for nested in message.messages { registerMessage(nested, scope: name, file: file) }
        for e in message.enums { registerEnum(e, scope: name, file: file) }
        for member in message.members {
            switch member {
            case .field(let field):
                define(Resolver.join(name, field.name), .field, file: file, at: field.location)
                if field.mapKeyType != nil {
                    define(
                        Resolver.join(name, ProtoNaming.mapEntryName(field.name)),
                        .message,
                        file: file,
                        at: field.location
                    )
                }
            case .oneof(let oneof):
                define(Resolver.join(name, oneof.name), .oneof, file: file, at: oneof.location)
                for field in oneof.fields {
                    define(Resolver.join(name, field.name), .field, file: file, at: field.location)
                }
            }
        }
        for extend in message.extends {
            for field in extend.fields {
                define(Resolver.join(name, field.name), .extensionField, file: file, at: field.location)
            }
        }
    }

    private mutating func registerEnum(_ e: EnumSyntax, scope: String, file: String) {
        define(Resolver.join(scope, e.name), .enumType, file: file, at: e.location)
        for value in e.values {
            define(Resolver.join(scope, value.name), .enumValue, file: file, at: value.location)
        }
    }

    // MARK: Lookup

    /// protoc's lookup: search outward from `scope` for the first component, then resolve the
    /// rest inside what was found.
    private func lookup(_ name: String, scope: String, from file: String, wantType: Bool) -> (String, Symbol)? {
        if name.hasPrefix(".") {
            let full = String(name.dropFirst())
            return symbols[full].map { (full, $0) }
        }
        let firstPart = name.split(separator: ".", maxSplits: 1).first.map(String.init) ?? name
        let isCompound = firstPart != name
        var currentScope = scope
        while true {
            let candidate = Resolver.join(currentScope, firstPart)
            if let symbol = symbols[candidate] {
                if isCompound {
                    if symbol.kind.isAggregate {
                        let full = Resolver.join(currentScope, name)
                        return symbols[full].map { (full, $0) }
                    }
                } else if !wantType || symbol.kind.isType {
                    return (candidate, symbol)
                }
            }
            if currentScope.isEmpty { return nil }
            currentScope = Resolver.split(currentScope).scope
        }
    }

    /// Resolves a type reference, reporting unknown, invisible and non-type names.
    private mutating func resolveTypeName(_ name: String, scope: String, file: String, at location: SourceLocation)
        -> (String, SymbolKind)?
    {
        guard let (full, symbol) = lookup(name, scope: scope, from: file, wantType: true) else {
            if let (_, other) = lookup(name, scope: scope, from: file, wantType: false) {
                diagnostics.error("'\(name)' is not a type (it is \(other.kind.noun))", at: location)
            } else {
                diagnostics.error("unknown type '\(name)'", at: location)
            }
            return nil
        }
        guard symbol.kind.isType else {
            diagnostics.error("'\(name)' is not a type (it is \(symbol.kind.noun))", at: location)
            return nil
        }
        if !(visibleFiles[file]?.contains(symbol.file) ?? false) {
            diagnostics.error(
                "'\(name)' is defined in '\(symbol.file)', which is not imported by '\(file)'",
                at: location
            )
            return nil
        }
        return (full, symbol.kind)
    }

    // MARK: Files

    private mutating func resolveFile(_ file: FileSyntax) -> ProtoFile {
        let isProto3 = file.syntax == "proto3"
        // Types first (so options in this file may use messages declared in it).
        var messages = file.messages.map { resolveMessage($0, scope: file.package, file: file, isProto3: isProto3) }
        var enums = file.enums.map { resolveEnum($0, scope: file.package, file: file, isProto3: isProto3) }
        for m in messages { registerTables(m) }
        for e in enums { enumTable[e.fullName] = e }
        var extensions: [ExtensionField] = []
        for extend in file.extends {
            extensions += resolveExtend(extend, scope: file.package, file: file, isProto3: isProto3)
        }
        func collectNestedExtensions(_ m: MessageType) {
            for ext in m.extensions { registerExtension(ext, location: ext.field.location) }
            for nested in m.messages { collectNestedExtensions(nested) }
        }
        for ext in extensions { registerExtension(ext, location: ext.field.location) }
        for m in messages { collectNestedExtensions(m) }

        // Options.
        let fileOptions = resolveOptions(
            file.options,
            kind: "google.protobuf.FileOptions",
            scope: file.package,
            file: file.path
        )
        for i in messages.indices {
            applyOptions(to: &messages[i], syntax: file.messages[i], file: file.path)
        }
        for i in enums.indices {
            applyOptions(to: &enums[i], syntax: file.enums[i], scope: file.package, file: file.path)
        }
        var services: [Service] = []
        for service in file.services {
            services.append(resolveService(service, scope: file.package, file: file))
        }
        for i in extensions.indices {
            extensions[i].field.options = resolveFieldOptions(
                extensions[i].field,
                syntaxOptions: file.extends.flatMap(\.fields).first {
                    $0.name == extensions[i].field.name
                }?.options ?? [],
                scope: file.package,
                file: file.path
            )
        }
        for m in messages { registerTables(m) }
        for e in enums { enumTable[e.fullName] = e }

        let dependencies = file.imports.map(\.path)
        let publicDependencies = file.imports.enumerated().filter { $0.element.kind == .public }.map(\.offset)
        return ProtoFile(
            path: file.path,
            displayPath: displayPaths[file.path] ?? file.path,
            package: file.package,
            syntax: file.syntax,
            dependencies: dependencies,
            publicDependencies: publicDependencies,
            messages: messages,
            enums: enums,
            services: services,
            extensions: extensions,
            options: fileOptions,
            isBuiltin: builtin.contains(file.path)
        )
    }

    private mutating func registerTables(_ message: MessageType) {
        messageTable[message.fullName] = message
        for nested in message.messages { registerTables(nested) }
        for e in message.enums { enumTable[e.fullName] = e }
    }

    private mutating func registerExtension(_ ext: ExtensionField, location: SourceLocation) {
        extensionsByName[ext.fullName] = ext
        if let other = extensionNumbers[ext.extendee]?[ext.field.number], other != ext.fullName {
            diagnostics.error(
                "extension number \(ext.field.number) of '\(ext.extendee)' is already used by '\(other)'",
                at: location
            )
        } else {
            extensionNumbers[ext.extendee, default: [:]][ext.field.number] = ext.fullName
        }
    }

    // MARK: Messages

    private mutating func resolveMessage(_ syntax: MessageSyntax, scope: String, file: FileSyntax, isProto3: Bool)
        -> MessageType
    {
        let fullName = Resolver.join(scope, syntax.name)
        var fields: [Field] = []
        var oneofs: [Oneof] = []
        for member in syntax.members {
            switch member {
            case .field(let f):
                if let field = resolveField(f, messageScope: fullName, file: file, isProto3: isProto3, oneofIndex: nil)
                {
                    fields.append(field)
                }
            case .oneof(let o):
                if o.fields.isEmpty {
                    diagnostics.error("oneof '\(o.name)' must have at least one field", at: o.location)
                }
                var indices: [Int] = []
                for f in o.fields {
                    if let field = resolveField(
                        f,
                        messageScope: fullName,
                        file: file,
                        isProto3: isProto3,
                        oneofIndex: oneofs.count
                    ) {
                        indices.append(fields.count)
                        fields.append(field)
                    }
                }
                oneofs.append(Oneof(name: o.name, fieldIndices: indices, options: [], doc: o.doc))
            }
        }
        let nested = syntax.messages.map { resolveMessage($0, scope: fullName, file: file, isProto3: isProto3) }
        let enums = syntax.enums.map { resolveEnum($0, scope: fullName, file: file, isProto3: isProto3) }
        var extensions: [ExtensionField] = []
        for extend in syntax.extends {
            extensions += resolveExtend(extend, scope: fullName, file: file, isProto3: isProto3)
        }
        let reservedRanges = syntax.reserved.flatMap(\.ranges).map { $0.start...($0.end ?? 536_870_911) }
        let reservedNames = syntax.reserved.flatMap(\.names)
        var message = MessageType(
            name: syntax.name,
            fullName: fullName,
            fields: fields,
            oneofs: oneofs,
            messages: nested,
            enums: enums,
            extensions: extensions,
            options: [],
            reservedRanges: reservedRanges,
            reservedNames: reservedNames.map(\.0),
            extensionRanges: syntax.extensionRanges.map { $0.start...($0.end ?? 536_870_911) },
            nestedOrder: syntax.nestedOrder,
            isDeprecated: false,
            doc: syntax.doc,
            location: syntax.location
        )
        validate(&message, syntax: syntax, isProto3: isProto3)
        return message
    }

    private mutating func resolveField(
        _ f: FieldSyntax,
        messageScope: String,
        file: FileSyntax,
        isProto3: Bool,
        oneofIndex: Int?
    ) -> Field? {
        let type: FieldType
        if let keyName = f.mapKeyType, let valueName = f.mapValueType {
            guard let key = ScalarType(rawValue: keyName), key.isValidMapKey else {
                if ScalarType(rawValue: keyName) != nil {
                    diagnostics.error("map keys cannot be float, double or bytes", at: f.typeLocation)
                } else if resolveTypeName(keyName, scope: messageScope, file: file.path, at: f.typeLocation) != nil {
                    diagnostics.error(
                        "map keys must be integral, bool or string types, not '\(keyName)'",
                        at: f.typeLocation
                    )
                }
                return nil
            }
            guard let value = resolveValueType(valueName, scope: messageScope, file: file, at: f.typeLocation) else {
                return nil
            }
            type = .map(key: key, value: value)
        } else {
            guard let resolved = resolveValueType(f.typeName, scope: messageScope, file: file, at: f.typeLocation)
            else {
                return nil
            }
            type = resolved
        }
        if isProto3, case .enumeration(let enumName) = type, let e = enumTable[enumName], !e.isOpen {
            diagnostics.error(
                "enum '\(enumName)' is a proto2 (closed) enum and cannot be used in a proto3 message",
                at: f.typeLocation
            )
        }
        guard let number64 = f.number else { return nil }
        let label: Field.Label
        switch f.label {
        case .repeated: label = .repeated
        case .optional: label = .optional
        case .required: label = .optional
        case .none: label = type.isMap ? .repeated : (isProto3 ? .singular : .optional)
        }
        var jsonName = ProtoNaming.jsonName(f.name)
        var hasCustomJSONName = false
        for option in f.options where option.name.parts.count == 1 && !option.name.parts[0].isExtension {
            let n = option.name.parts[0].name
            if n == "json_name" {
                if case .string(let bytes, _) = option.value {
                    jsonName = String(decoding: bytes, as: UTF8.self)
                    hasCustomJSONName = true
                } else {
                    diagnostics.error("json_name must be a string", at: option.location)
                }
            } else if n == "default" && isProto3 {
                diagnostics.error("explicit default values are not allowed in proto3", at: option.location)
            }
        }
        let number = Int(clamping: number64)
        var packed = false
        if label == .repeated {
            switch type {
            case .scalar(let s): packed = s.isPackable && isProto3
            case .enumeration: packed = isProto3
            default: packed = false
            }
        }
        return Field(
            name: f.name,
            number: number,
            label: label,
            type: type,
            jsonName: jsonName,
            hasCustomJSONName: hasCustomJSONName,
            oneofIndex: oneofIndex,
            options: [],
            isPacked: packed,
            isDeprecated: false,
            doc: f.doc,
            location: f.location
        )
    }

    private mutating func resolveValueType(_ name: String, scope: String, file: FileSyntax, at location: SourceLocation)
        -> FieldType?
    {
        if let scalar = ScalarType(rawValue: name) { return .scalar(scalar) }
        guard let (full, kind) = resolveTypeName(name, scope: scope, file: file.path, at: location) else { return nil }
        return kind == .message ? .message(full) : .enumeration(full)
    }

    private mutating func validate(_ message: inout MessageType, syntax: MessageSyntax, isProto3: Bool) {
        var byNumber: [Int: String] = [:]
        var byJSON: [String: String] = [:]
        let allFields: [FieldSyntax] = syntax.members.flatMap { member -> [FieldSyntax] in
            switch member {
            case .field(let f): return [f]
            case .oneof(let o): return o.fields
            }
        }
        let locations = Dictionary(allFields.map { ($0.name, $0) }, uniquingKeysWith: { a, _ in a })
        for field in message.fields {
            let numberLocation = locations[field.name]?.numberLocation ?? field.location
            if field.number < 1 || field.number > 536_870_911 {
                diagnostics.error(
                    "field number \(field.number) is out of range (1 to 536,870,911)",
                    at: numberLocation
                )
            } else if (19000...19999).contains(field.number) {
                diagnostics.error(
                    "field number \(field.number) is reserved for the protobuf implementation (19000 to 19999)",
                    at: numberLocation
                )
            }
            if let other = byNumber[field.number] {
                diagnostics.error(
                    "field number \(field.number) is already used by '\(other)' in '\(message.fullName)'",
                    at: numberLocation
                )
            } else {
                byNumber[field.number] = field.name
            }
            if message.reservedRanges.contains(where: { $0.contains(Int64(field.number)) }) {
                diagnostics.error(
                    "field '\(field.name)' uses reserved number \(field.number)",
                    at: numberLocation
                )
            }
            if message.reservedNames.contains(field.name) {
                diagnostics.error("field name '\(field.name)' is reserved", at: field.location)
            }
            if isProto3 {
                let key = field.jsonName
                if let other = byJSON[key] {
                    diagnostics.error(
                        "the JSON name '\(key)' of field '\(field.name)' conflicts with field '\(other)'",
                        at: field.location
                    )
                } else {
                    byJSON[key] = field.name
                }
            }
            if case .map = field.type {
                let entryName = ProtoNaming.mapEntryName(field.name)
                if syntax.messages.contains(where: { $0.name == entryName }) {
                    diagnostics.error(
                        "map field '\(field.name)' needs the name '\(entryName)', which a nested message already uses",
                        at: field.location
                    )
                }
            }
        }
        let ranges = message.reservedRanges.sorted { $0.lowerBound < $1.lowerBound }
        for (a, b) in zip(ranges, ranges.dropFirst()) where a.overlaps(b) {
            diagnostics.error(
                "reserved ranges \(a.lowerBound) to \(a.upperBound) and \(b.lowerBound) to \(b.upperBound) overlap",
                at: message.location
            )
        }
        for r in message.reservedRanges where r.lowerBound < 1 {
            diagnostics.error("reserved field numbers must be positive", at: message.location)
        }
        var seenNames: Set<String> = []
        for (name, location) in syntax.reserved.flatMap(\.names) where !seenNames.insert(name).inserted {
            diagnostics.error("name '\(name)' is reserved more than once", at: location)
        }
    }

    // MARK: Enums

    private mutating func resolveEnum(_ syntax: EnumSyntax, scope: String, file: FileSyntax, isProto3: Bool) -> EnumType
    {
        let fullName = Resolver.join(scope, syntax.name)
        var values: [EnumValue] = []
        for v in syntax.values {
            guard let number = Int32(exactly: v.number) else {
                diagnostics.error("enum value \(v.number) is out of range for int32", at: v.location)
                continue
            }
            values.append(EnumValue(name: v.name, number: number, options: [], isDeprecated: false, doc: v.doc))
        }
        let reservedRanges = syntax.reserved.flatMap(\.ranges).map { $0.start...($0.end ?? Int64(Int32.max)) }
        let reservedNames = syntax.reserved.flatMap(\.names).map(\.0)
        if syntax.values.isEmpty {
            diagnostics.error("enum '\(syntax.name)' must have at least one value", at: syntax.location)
        } else if isProto3, syntax.values[0].number != 0 {
            diagnostics.error(
                "the first value of a proto3 enum must be zero ('\(syntax.values[0].name)' is \(syntax.values[0].number))",
                at: syntax.values[0].location
            )
        }
        var strippedNames: [String: String] = [:]
        for (v, s) in zip(values, syntax.values) {
            if reservedRanges.contains(where: { $0.contains(Int64(v.number)) }) {
                diagnostics.error("enum value '\(v.name)' uses reserved number \(v.number)", at: s.location)
            }
            if reservedNames.contains(v.name) {
                diagnostics.error("enum value name '\(v.name)' is reserved", at: s.location)
            }
            if isProto3 {
                let key = ProtoNaming.strippingEnumPrefix(v.name, enumName: syntax.name).lowercased()
                    .replacingUnderscores()
                if let other = strippedNames[key] {
                    diagnostics.error(
                        "enum value '\(v.name)' has the same name as '\(other)' once the prefix and case are ignored",
                        at: s.location
                    )
                } else {
                    strippedNames[key] = v.name
                }
            }
        }
        return EnumType(
            name: syntax.name,
            fullName: fullName,
            values: values,
            options: [],
            reservedRanges: reservedRanges,
            reservedNames: reservedNames,
            isOpen: isProto3,
            isDeprecated: false,
            doc: syntax.doc
        )
    }

    private mutating func applyOptions(to e: inout EnumType, syntax: EnumSyntax, scope: String, file: String) {
        e.options = resolveOptions(syntax.options, kind: "google.protobuf.EnumOptions", scope: scope, file: file)
        e.isDeprecated = e.options.isTrue("deprecated")
        let allowAlias = e.options.isTrue("allow_alias")
        var byNumber: [Int32: String] = [:]
        var aliasFound = false
        var index = 0
        for s in syntax.values {
            guard index < e.values.count, e.values[index].name == s.name else { continue }
            e.values[index].options = resolveOptions(
                s.options,
                kind: "google.protobuf.EnumValueOptions",
                scope: scope,
                file: file
            )
            e.values[index].isDeprecated = e.values[index].options.isTrue("deprecated")
            let number = e.values[index].number
            if let other = byNumber[number] {
                aliasFound = true
                if !allowAlias {
                    diagnostics.error(
                        "'\(s.name)' uses number \(number), already used by '\(other)' (set 'option allow_alias = true;' to allow aliases)",
                        at: s.location
                    )
                }
            } else {
                byNumber[number] = s.name
            }
            index += 1
        }
        if allowAlias && !aliasFound {
            diagnostics.error(
                "enum '\(e.name)' sets allow_alias but has no aliases; remove the option",
                at: syntax.location
            )
        }
    }

    private mutating func applyOptions(to message: inout MessageType, syntax: MessageSyntax, file: String) {
        let scope = message.fullName
        message.options = resolveOptions(
            syntax.options,
            kind: "google.protobuf.MessageOptions",
            scope: scope,
            file: file
        )
        message.isDeprecated = message.options.isTrue("deprecated")
        if message.options.value("map_entry") != nil {
            diagnostics.error("map_entry must not be set explicitly; use map<K, V> fields", at: message.location)
        }
        let fieldSyntaxes: [FieldSyntax] = syntax.members.flatMap { member -> [FieldSyntax] in
            switch member {
            case .field(let f): return [f]
            case .oneof(let o): return o.fields
            }
        }
        for i in message.fields.indices {
            guard let s = fieldSyntaxes.first(where: { $0.name == message.fields[i].name }) else { continue }
            message.fields[i].options = resolveFieldOptions(
                message.fields[i],
                syntaxOptions: s.options,
                scope: scope,
                file: file
            )
            message.fields[i].isDeprecated = message.fields[i].options.isTrue("deprecated")
            if let packed = message.fields[i].options.value("packed") {
                if message.fields[i].isRepeated, !message.fields[i].type.isMap,
                    message.fields[i].type.wireType != 2
                {
                    message.fields[i].isPacked = packed == .bool(true)
                } else {
                    diagnostics.error("[packed] applies only to repeated scalar fields", at: s.location)
                }
            }
        }
        let oneofSyntaxes: [OneofSyntax] = syntax.members.compactMap {
            if case .oneof(let o) = $0 { return o } else { return nil }
        }
        for (i, o) in oneofSyntaxes.enumerated() where i < message.oneofs.count {
            message.oneofs[i].options = resolveOptions(
                o.options,
                kind: "google.protobuf.OneofOptions",
                scope: scope,
                file: file
            )
        }
        for i in message.messages.indices {
            if let s = syntax.messages.first(where: { $0.name == message.messages[i].name }) {
                applyOptions(to: &message.messages[i], syntax: s, file: file)
            }
        }
        for i in message.enums.indices {
            if let s = syntax.enums.first(where: { $0.name == message.enums[i].name }) {
                applyOptions(to: &message.enums[i], syntax: s, scope: scope, file: file)
            }
        }
        for i in message.extensions.indices {
            let s = syntax.extends.flatMap(\.fields).first { $0.name == message.extensions[i].field.name }
            message.extensions[i].field.options = resolveFieldOptions(
                message.extensions[i].field,
                syntaxOptions: s?.options ?? [],
                scope: scope,
                file: file
            )
        }
    }

    private mutating func resolveFieldOptions(
        _ field: Field,
        syntaxOptions: [OptionSyntax],
        scope: String,
        file: String
    )
        -> [OptionField]
    {
        let options = syntaxOptions.filter {
            !($0.name.parts.count == 1 && !$0.name.parts[0].isExtension
                && ($0.name.parts[0].name == "json_name" || $0.name.parts[0].name == "default"))
        }
        return resolveOptions(options, kind: "google.protobuf.FieldOptions", scope: scope, file: file)
    }

    // MARK: Services

    private mutating func resolveService(_ syntax: ServiceSyntax, scope: String, file: FileSyntax) -> Service {
        let fullName = Resolver.join(scope, syntax.name)
        var methods: [Method] = []
        for m in syntax.methods {
            let input = resolveTypeName(m.inputType, scope: fullName, file: file.path, at: m.inputLocation)
            let output = resolveTypeName(m.outputType, scope: fullName, file: file.path, at: m.outputLocation)
            if let input, input.1 != .message {
                diagnostics.error("method input type '\(m.inputType)' must be a message", at: m.inputLocation)
            }
            if let output, output.1 != .message {
                diagnostics.error("method output type '\(m.outputType)' must be a message", at: m.outputLocation)
            }
            let options = resolveOptions(
                m.options,
                kind: "google.protobuf.MethodOptions",
                scope: fullName,
                file: file.path
            )
            methods.append(
                Method(
                    name: m.name,
                    inputType: input?.0 ?? m.inputType,
                    outputType: output?.0 ?? m.outputType,
                    clientStreaming: m.clientStreaming,
                    serverStreaming: m.serverStreaming,
                    options: options,
                    isDeprecated: options.isTrue("deprecated"),
                    doc: m.doc
                )
            )
        }
        let options = resolveOptions(
            syntax.options,
            kind: "google.protobuf.ServiceOptions",
            scope: fullName,
            file: file.path
        )
        return Service(
            name: syntax.name,
            fullName: fullName,
            methods: methods,
            options: options,
            isDeprecated: options.isTrue("deprecated"),
            doc: syntax.doc
        )
    }

    // MARK: Extensions

    private mutating func resolveExtend(_ extend: ExtendSyntax, scope: String, file: FileSyntax, isProto3: Bool)
        -> [ExtensionField]
    {
        guard
            let (extendee, kind) = resolveTypeName(
                extend.extendee,
                scope: scope,
                file: file.path,
                at: extend.extendeeLocation
            )
        else { return [] }
        guard kind == .message, let target = messageTable[extendee] else {
            diagnostics.error("'\(extend.extendee)' is not a message", at: extend.extendeeLocation)
            return []
        }
        if isProto3 && !extendee.hasPrefix("google.protobuf.") {
            diagnostics.error(
                "proto3 files may only extend the google.protobuf option messages, not '\(extendee)'",
                at: extend.extendeeLocation
            )
        }
        var result: [ExtensionField] = []
        for f in extend.fields {
            guard
                var field = resolveField(f, messageScope: scope, file: file, isProto3: false, oneofIndex: nil)
            else { continue }
            if case .map = field.type {
                diagnostics.error("extensions cannot be map fields", at: f.location)
                continue
            }
            if f.label == .none { field.label = .optional }
            if !target.extensionRanges.contains(where: { $0.contains(Int64(field.number)) }) {
                diagnostics.error(
                    "'\(extendee)' does not declare \(field.number) as an extension number",
                    at: f.numberLocation
                )
            }
            field.jsonName = ProtoNaming.jsonName(field.name)
            result.append(ExtensionField(fullName: Resolver.join(scope, f.name), extendee: extendee, field: field))
        }
        return result
    }

    // MARK: Options

    private mutating func resolveOptions(_ syntax: [OptionSyntax], kind: String, scope: String, file: String)
        -> [OptionField]
    {
        var result: [OptionField] = []
        for option in syntax {
            guard let built = resolveOption(option, kind: kind, scope: scope, file: file) else { continue }
            merge(built, into: &result, at: option.location, name: option.name.description)
        }
        return result
    }

    private mutating func merge(
        _ option: OptionField,
        into list: inout [OptionField],
        at location: SourceLocation,
        name: String
    ) {
        if let index = list.firstIndex(where: { $0.number == option.number && $0.name == option.name }) {
            if case .message(let existing) = list[index].value, case .message(let added) = option.value,
                !isRepeatedOption(option)
            {
                var merged = existing
                for sub in added { merge(sub, into: &merged, at: location, name: name) }
                list[index].value = .message(merged)
                return
            }
            if !isRepeatedOption(option) {
                diagnostics.error("option '\(name)' is set more than once", at: location)
                return
            }
        }
        list.append(option)
    }

    private var repeatedOptions: Set<String> = []

    private func isRepeatedOption(_ option: OptionField) -> Bool { repeatedOptions.contains(option.name) }

    private mutating func field(named name: String, in messageName: String) -> Field? {
        messageTable[messageName]?.fields.first { $0.name == name }
    }

    private mutating func resolveOption(_ option: OptionSyntax, kind: String, scope: String, file: String)
        -> OptionField?
    {
        var parts = option.name.parts
        guard !parts.isEmpty else { return nil }
        // Walk the name to the leaf field.
        var chain: [(name: String, isExtension: Bool, field: Field)] = []
        var container = kind
        for (i, part) in parts.enumerated() {
            let f: Field
            var name = part.name
            if part.isExtension {
                guard let (full, symbol) = lookup(part.name, scope: scope, from: file, wantType: false),
                    symbol.kind == .extensionField, let ext = extensionsByName[full]
                else {
                    diagnostics.error(
                        "unknown option '(\(part.name))'; import the file that declares it",
                        at: option.location
                    )
                    return nil
                }
                if !(visibleFiles[file]?.contains(symbol.file) ?? false) {
                    diagnostics.error(
                        "option '(\(part.name))' is declared in '\(symbol.file)', which is not imported",
                        at: option.location
                    )
                    return nil
                }
                guard ext.extendee == container else {
                    diagnostics.error(
                        "option '(\(part.name))' extends '\(ext.extendee)', so it cannot be used where '\(container)' applies",
                        at: option.location
                    )
                    return nil
                }
                f = ext.field
                name = full
            } else {
                guard let found = field(named: part.name, in: container) else {
                    if i == 0 {
                        diagnostics.error("unknown option '\(part.name)'", at: option.location)
                    } else {
                        diagnostics.error(
                            "option '\(option.name)': '\(container)' has no field '\(part.name)'",
                            at: option.location
                        )
                    }
                    return nil
                }
                f = found
            }
            if f.isRepeated { repeatedOptions.insert(name) }
            chain.append((name, part.isExtension, f))
            if i < parts.count - 1 {
                guard case .message(let next) = f.type else {
                    diagnostics.error(
                        "option '\(option.name)': '\(part.name)' is not a message, so it has no fields",
                        at: option.location
                    )
                    return nil
                }
                container = next
            }
        }
        parts.removeAll()
        guard let leaf = chain.last,
            var value = coerce(
                option.value,
                to: leaf.field.type,
                fieldName: option.name.description,
                file: file,
                scope: scope
            )
        else { return nil }
        var built = OptionField(
            name: leaf.name,
            isExtension: leaf.isExtension,
            number: leaf.field.number,
            type: leaf.field.type,
            value: value
        )
        for link in chain.dropLast().reversed() {
            value = .message([built])
            built = OptionField(
                name: link.name,
                isExtension: link.isExtension,
                number: link.field.number,
                type: link.field.type,
                value: value
            )
        }
        return built
    }

    private mutating func coerce(
        _ value: OptionValueSyntax,
        to type: FieldType,
        fieldName: String,
        file: String,
        scope: String
    ) -> OptionValue? {
        func mismatch(_ expected: String) -> OptionValue? {
            diagnostics.error("option '\(fieldName)' expects \(expected)", at: value.location)
            return nil
        }
        switch type {
        case .scalar(let scalar):
            switch scalar {
            case .bool:
                if case .identifier(let id, _) = value, id == "true" || id == "false" { return .bool(id == "true") }
                return mismatch("true or false")
            case .string:
                guard case .string(let bytes, _) = value else { return mismatch("a string") }
                guard String(validating: bytes, as: UTF8.self) != nil else { return mismatch("valid UTF-8") }
                return .string(bytes)
            case .bytes:
                guard case .string(let bytes, _) = value else { return mismatch("a string") }
                return .string(bytes)
            case .float, .double:
                switch value {
                case .integer(let negative, let text, _):
                    guard let v = Parser.parseInteger(text).map(Double.init) ?? Double(text) else {
                        return mismatch("a number")
                    }
                    return .double(negative ? -v : v)
                case .float(let negative, let text, _):
                    let v: Double? = text == "inf" ? .infinity : text == "nan" ? .nan : Double(text)
                    guard let v else { return mismatch("a number") }
                    return .double(negative ? -v : v)
                default: return mismatch("a number")
                }
            case .int32, .sint32, .sfixed32, .int64, .sint64, .sfixed64:
                guard case .integer(let negative, let text, _) = value else { return mismatch("an integer") }
                guard let magnitude = UInt64(parsing: text) else { return mismatch("an integer in range") }
                let isWide = scalar == .int64 || scalar == .sint64 || scalar == .sfixed64
                let limit: UInt64 = isWide ? UInt64(Int64.max) : UInt64(Int32.max)
                if negative {
                    guard magnitude <= limit + 1 else { return mismatch("an integer in range for \(scalar)") }
                    return .int(magnitude == limit + 1 ? (isWide ? Int64.min : Int64(Int32.min)) : -Int64(magnitude))
                }
                guard magnitude <= limit else { return mismatch("an integer in range for \(scalar)") }
                return .int(Int64(magnitude))
            case .uint32, .uint64, .fixed32, .fixed64:
                guard case .integer(let negative, let text, _) = value, !negative else {
                    return mismatch("a non-negative integer")
                }
                guard let magnitude = UInt64(parsing: text) else { return mismatch("an integer in range") }
                if (scalar == .uint32 || scalar == .fixed32) && magnitude > UInt64(UInt32.max) {
                    return mismatch("an integer in range for \(scalar)")
                }
                return .uint(magnitude)
            }
        case .enumeration(let enumName):
            guard case .identifier(let id, _) = value else { return mismatch("an enum value name of '\(enumName)'") }
            guard let e = enumTable[enumName], let v = e.values.first(where: { $0.name == id }) else {
                return mismatch("a value of enum '\(enumName)' ('\(id)' is not one)")
            }
            return .enumValue(name: v.name, number: v.number)
        case .message(let messageName):
            guard case .aggregate(let fields, _) = value else { return mismatch("an aggregate value { ... }") }
            guard let message = messageTable[messageName] else { return nil }
            var result: [OptionField] = []
            var seen: Set<String> = []
            for item in fields {
                let f: Field
                var name = item.name
                if item.isExtension {
                    guard let (full, symbol) = lookup(item.name, scope: scope, from: file, wantType: false),
                        symbol.kind == .extensionField, let ext = extensionsByName[full], ext.extendee == messageName
                    else {
                        diagnostics.error("unknown extension '[\(item.name)]' of '\(messageName)'", at: item.location)
                        continue
                    }
                    f = ext.field
                    name = full
                } else {
                    guard let found = message.fields.first(where: { $0.name == item.name }) else {
                        diagnostics.error("'\(messageName)' has no field '\(item.name)'", at: item.location)
                        continue
                    }
                    f = found
                }
                if !f.isRepeated && !seen.insert(name).inserted {
                    diagnostics.error("field '\(item.name)' is set more than once", at: item.location)
                    continue
                }
                if let oneof = f.oneofIndex {
                    let others = message.oneofs[oneof].fieldIndices.map { message.fields[$0].name }
                    if let clash = result.first(where: { others.contains($0.name) && $0.name != f.name }) {
                        diagnostics.error(
                            "fields '\(clash.name)' and '\(f.name)' belong to the same oneof",
                            at: item.location
                        )
                        continue
                    }
                }
                let values: [OptionValueSyntax]
                if case .list(let list, _) = item.value {
                    guard f.isRepeated else {
                        diagnostics.error(
                            "field '\(item.name)' is not repeated; a list is not allowed",
                            at: item.location
                        )
                        continue
                    }
                    values = list
                } else {
                    values = [item.value]
                }
                let elementType: FieldType
                if case .map = f.type {
                    diagnostics.error("map fields in option values are not supported", at: item.location)
                    continue
                } else {
                    elementType = f.type
                }
                for v in values {
                    if let coerced = coerce(
                        v,
                        to: elementType,
                        fieldName: "\(fieldName).\(item.name)",
                        file: file,
                        scope: scope
                    ) {
                        result.append(
                            OptionField(
                                name: name,
                                isExtension: item.isExtension,
                                number: f.number,
                                type: f.type,
                                value: coerced
                            )
                        )
                    }
                }
            }
            return .message(result)
        case .map:
            return mismatch("no map values (maps cannot be options)")
        }
    }
}

extension UInt64 {
    /// Parses decimal, `0x` hex or leading-zero octal, as the protobuf language writes integers.
    init?(parsing text: String) {
        if text.hasPrefix("0x") || text.hasPrefix("0X") {
            guard let v = UInt64(text.dropFirst(2), radix: 16) else { return nil }
            self = v
        } else if text.count > 1 && text.hasPrefix("0") {
            guard let v = UInt64(text.dropFirst(), radix: 8) else { return nil }
            self = v
        } else {
            guard let v = UInt64(text) else { return nil }
            self = v
        }
    }
}

extension String {
    func replacingUnderscores() -> String { filter { $0 != "_" } }
}
