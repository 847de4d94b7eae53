/// A recursive-descent parser for proto3 (and the proto2 subset our built-in descriptor uses).
///
/// On a syntax error it reports it, skips to the end of the statement or block, and goes on,
/// so one run reports every error in the file.
struct Parser {
    private var tokens: [Token]
    private var position = 0
    private(set) var diagnostics: [Diagnostic] = []
    private let allowProto2: Bool

    private struct Bail: Error {}

    /// The deepest nesting of messages and aggregate option values accepted: hostile input must
    /// not exhaust the stack of a recursive-descent parser.
    static let maximumNesting = 64
    private var nesting = 0

    init(source: String, path: String, allowProto2: Bool = false) {
        var lexer = Lexer(source: source, file: path)
        self.tokens = lexer.tokenize()
        self.diagnostics = lexer.diagnostics
        self.allowProto2 = allowProto2
    }

    // MARK: Token helpers

    private var current: Token { tokens[min(position, tokens.count - 1)] }

    private mutating func advance() -> Token {
        let token = current
        if position < tokens.count - 1 { position += 1 }
        return token
    }

    private var atEnd: Bool { current.kind == .endOfFile }

    private func describe(_ token: Token) -> String {
        switch token.kind {
        case .endOfFile: return "end of file"
        case .string: return "string \"\(token.text)\""
        default: return "'\(token.text)'"
        }
    }

    private mutating func fail(_ message: String, at location: SourceLocation? = nil) -> Bail {
        diagnostics.append(Diagnostic(.error, message, at: location ?? current.location))
        return Bail()
    }

    private mutating func expectSymbol(_ c: Character, _ context: String = "") throws {
        guard current.isSymbol(c) else {
            throw fail("expected '\(c)'\(context.isEmpty ? "" : " \(context)"), found \(describe(current))")
        }
        _ = advance()
    }

    private mutating func consumeSymbol(_ c: Character) -> Bool {
        if current.isSymbol(c) {
            _ = advance()
            return true
        }
        return false
    }

    private mutating func expectIdentifier(_ what: String) throws -> Token {
        guard current.kind == .identifier else { throw fail("expected \(what), found \(describe(current))") }
        return advance()
    }

    private mutating func expectKeyword(_ word: String) throws {
        guard current.isKeyword(word) else { throw fail("expected '\(word)', found \(describe(current))") }
        _ = advance()
    }

    /// `a.b.c` or `.a.b.c`.
    private mutating func parseTypeName() throws -> (String, SourceLocation) {
        let location = current.location
        var name = ""
        if consumeSymbol(".") { name = "." }
        name += try expectIdentifier("a type name").text
        while current.isSymbol(".") {
            _ = advance()
            name += "." + (try expectIdentifier("an identifier after '.'").text)
        }
        return (name, location)
    }

    private mutating func parseStringLiteral(_ what: String) throws -> (String, [UInt8], SourceLocation) {
        guard current.kind == .string else { throw fail("expected \(what), found \(describe(current))") }
        let first = advance()
        var text = first.text
        var bytes = first.bytes
        while current.kind == .string {
            let next = advance()
            text += next.text
            bytes += next.bytes
        }
        return (text, bytes, first.location)
    }

    /// Skips to just past the next `;` at this nesting level, or to (not past) a closing `}`.
    private mutating func recover() {
        var depth = 0
        while !atEnd {
            if current.isSymbol("{") {
                depth += 1
            } else if current.isSymbol("}") {
                if depth == 0 { return }
                depth -= 1
                if depth == 0 {
                    _ = advance()
                    return
                }
            } else if current.isSymbol(";") && depth == 0 {
                _ = advance()
                return
            }
            _ = advance()
        }
    }

    // MARK: File

    mutating func parseFile(path: String) -> FileSyntax {
        var file = FileSyntax(path: path)
        var sawSyntax = false
        if current.isKeyword("syntax") || current.isKeyword("edition") {
            let start = current.location
            do {
                let keyword = advance()
                try expectSymbol("=")
                let (value, _, location) = try parseStringLiteral("a syntax string")
                try expectSymbol(";")
                if keyword.text == "edition" {
                    diagnostics.append(
                        Diagnostic(.error, "editions are not supported; use syntax = \"proto3\"", at: start)
                    )
                } else if value == "proto2" && allowProto2 {
                    file.syntax = "proto2"
                } else if value != "proto3" {
                    diagnostics.append(
                        Diagnostic(
                            .error,
                            "unsupported syntax \"\(value)\"; only \"proto3\" is supported",
                            at: location
                        )
                    )
                }
                file.syntaxLocation = start
                sawSyntax = true
            } catch {
                recover()
            }
        }
        if !sawSyntax {
            diagnostics.append(
                Diagnostic(
                    .warning,
                    "no syntax specified; assuming \"proto3\" (add 'syntax = \"proto3\";')",
                    at: current.location
                )
            )
        }
        while !atEnd {
            do {
                try parseTopLevel(into: &file)
            } catch {
                recover()
                if current.isSymbol("}") { _ = advance() }
            }
        }
        return file
    }

    private mutating func parseTopLevel(into file: inout FileSyntax) throws {
        let token = current
        if consumeSymbol(";") { return }
        guard token.kind == .identifier else {
            throw fail("expected a top-level declaration, found \(describe(token))")
        }
        switch token.text {
        case "package":
            _ = advance()
            let (name, location) = try parseTypeName()
            try expectSymbol(";")
            if file.packageLocation != nil {
                diagnostics.append(Diagnostic(.error, "multiple package declarations", at: token.location))
            }
            if name.hasPrefix(".") { throw fail("package name may not start with '.'", at: location) }
            file.package = name
            file.packageLocation = token.location
        case "import":
            _ = advance()
            var kind = ImportSyntax.Kind.normal
            if current.isKeyword("public") {
                _ = advance()
                kind = .public
            } else if current.isKeyword("weak") {
                _ = advance()
                kind = .weak
            }
            let (path, _, location) = try parseStringLiteral("an import path string")
            try expectSymbol(";")
            file.imports.append(ImportSyntax(path: path, kind: kind, location: location))
        case "option":
            file.options.append(try parseOptionStatement())
        case "message":
            file.messages.append(try parseMessage())
        case "enum":
            file.enums.append(try parseEnum())
        case "service":
            file.services.append(try parseService())
        case "extend":
            file.extends.append(try parseExtend())
        case "syntax":
            throw fail("'syntax' must be the first statement of the file")
        default:
            throw fail("expected a top-level declaration, found \(describe(token))")
        }
    }

    // MARK: Options

    private mutating func parseOptionName() throws -> OptionNameSyntax {
        var parts: [OptionNameSyntax.Part] = []
        repeat {
            if consumeSymbol("(") {
                let (name, _) = try parseTypeName()
                try expectSymbol(")", "to close the option name")
                parts.append(.init(name: name, isExtension: true))
            } else {
                let name = try expectIdentifier("an option name").text
                parts.append(.init(name: name, isExtension: false))
            }
        } while consumeSymbol(".")
        return OptionNameSyntax(parts: parts)
    }

    /// `option name = value;`
    private mutating func parseOptionStatement() throws -> OptionSyntax {
        let location = current.location
        try expectKeyword("option")
        let name = try parseOptionName()
        try expectSymbol("=")
        let value = try parseOptionValue()
        try expectSymbol(";", "after option")
        return OptionSyntax(name: name, value: value, location: location)
    }

    /// `[name = value, ...]`
    private mutating func parseCompactOptions() throws -> [OptionSyntax] {
        guard consumeSymbol("[") else { return [] }
        var options: [OptionSyntax] = []
        repeat {
            let location = current.location
            let name = try parseOptionName()
            try expectSymbol("=")
            let value = try parseOptionValue()
            options.append(OptionSyntax(name: name, value: value, location: location))
        } while consumeSymbol(",")
        try expectSymbol("]", "to close the options")
        return options
    }

    private mutating func parseOptionValue() throws -> OptionValueSyntax {
        let location = current.location
        if current.isSymbol("{") {
            return try parseAggregate()
        }
        var negative = false
        if consumeSymbol("-") {
            negative = true
        } else if consumeSymbol("+") {
            negative = false
        }
        let token = current
        switch token.kind {
        case .integer:
            _ = advance()
            return .integer(negative: negative, text: token.text, location)
        case .float:
            _ = advance()
            return .float(negative: negative, text: token.text, location)
        case .identifier:
            _ = advance()
            if token.text == "inf" || token.text == "nan" {
                return .float(negative: negative, text: token.text, location)
            }
            if negative { throw fail("expected a number after '-'", at: token.location) }
            var name = token.text
            while current.isSymbol(".") {
                _ = advance()
                name += "." + (try expectIdentifier("an identifier").text)
            }
            return .identifier(name, location)
        case .string:
            if negative { throw fail("expected a number after '-'", at: token.location) }
            let (_, bytes, _) = try parseStringLiteral("a string")
            return .string(bytes, location)
        default:
            throw fail("expected an option value, found \(describe(token))")
        }
    }

    /// Text-format message literal: `{ post: "/x" body: "*" nested { a: 1 } list: [1, 2] }`.
    private mutating func parseAggregate() throws -> OptionValueSyntax {
        let location = current.location
        try enterNested(at: location)
        defer { nesting -= 1 }
        let close: Character
        if consumeSymbol("{") {
            close = "}"
        } else {
            try expectSymbol("<")
            close = ">"
        }
        var fields: [AggregateFieldSyntax] = []
        while !current.isSymbol(close) {
            if atEnd { throw fail("unterminated aggregate value", at: location) }
            let fieldLocation = current.location
            var name: String
            var isExtension = false
            if consumeSymbol("[") {
                (name, _) = try parseTypeName()
                try expectSymbol("]")
                isExtension = true
            } else {
                name = try expectIdentifier("a field name").text
            }
            let value: OptionValueSyntax
            if consumeSymbol(":") {
                if current.isSymbol("[") {
                    value = try parseAggregateList()
                } else {
                    value = try parseOptionValue()
                }
            } else if current.isSymbol("{") || current.isSymbol("<") {
                value = try parseAggregate()
            } else {
                throw fail("expected ':' or '{' after field name '\(name)', found \(describe(current))")
            }
            fields.append(
                AggregateFieldSyntax(name: name, isExtension: isExtension, value: value, location: fieldLocation)
            )
            _ = consumeSymbol(",") || consumeSymbol(";")
        }
        _ = advance()
        return .aggregate(fields, location)
    }

    private mutating func parseAggregateList() throws -> OptionValueSyntax {
        let location = current.location
        try expectSymbol("[")
        var values: [OptionValueSyntax] = []
        if !current.isSymbol("]") {
            repeat {
                values.append(try parseOptionValue())
            } while consumeSymbol(",")
        }
        try expectSymbol("]")
        return .list(values, location)
    }

    private mutating func enterNested(at location: SourceLocation) throws {
        nesting += 1
        if nesting > Parser.maximumNesting {
            nesting -= 1
            throw fail("nesting deeper than \(Parser.maximumNesting) levels", at: location)
        }
    }

    // MARK: Messages

    private mutating func parseMessage() throws -> MessageSyntax {
        let keyword = current
        try expectKeyword("message")
        let name = try expectIdentifier("a message name")
        var message = MessageSyntax(name: name.text, location: name.location, doc: keyword.leadingComment)
        // Checked before the brace, so recovery skips the whole over-deep block.
        try enterNested(at: name.location)
        defer { nesting -= 1 }
        try expectSymbol("{")
        while !consumeSymbol("}") {
            if atEnd { throw fail("expected '}' to close message '\(name.text)'", at: current.location) }
            do {
                try parseMessageElement(into: &message)
            } catch {
                recover()
            }
        }
        return message
    }

    private mutating func parseMessageElement(into message: inout MessageSyntax) throws {
        let token = current
        if consumeSymbol(";") { return }
        guard token.kind == .identifier || token.isSymbol(".") else {
            throw fail("expected a field or declaration, found \(describe(token))")
        }
        switch token.text {
        case "message" where tokens[position + 1].kind == .identifier:
            message.nestedOrder.append(.message(message.messages.count))
            message.messages.append(try parseMessage())
        case "enum" where tokens[position + 1].kind == .identifier:
            message.enums.append(try parseEnum())
        case "option" where !tokens[position + 1].isSymbol("="):
            message.options.append(try parseOptionStatement())
        case "oneof" where tokens[position + 1].kind == .identifier:
            message.members.append(.oneof(try parseOneof()))
        case "reserved" where !tokens[position + 1].isSymbol("="):
            message.reserved.append(try parseReserved(maxValue: 536_870_911))
        case "extensions" where !tokens[position + 1].isSymbol("="):
            _ = advance()
            repeat {
                message.extensionRanges.append(try parseRange(maxValue: 536_870_911))
            } while consumeSymbol(",")
            _ = try parseCompactOptions()
            try expectSymbol(";")
        case "extend" where tokens[position + 1].kind == .identifier:
            message.extends.append(try parseExtend())
        case "map" where tokens[position + 1].isSymbol("<"):
            let field = try parseField(inOneof: false)
            message.nestedOrder.append(.mapField(field.name))
            message.members.append(.field(field))
        default:
            message.members.append(.field(try parseField(inOneof: false)))
        }
    }

    private mutating func parseField(inOneof: Bool) throws -> FieldSyntax {
        let start = current
        var label = FieldSyntax.Label.none
        if current.isKeyword("repeated") || current.isKeyword("optional") || current.isKeyword("required") {
            // A field may itself be named like a label only in odd schemas; protoc treats these as labels.
            if tokens[position + 1].kind == .identifier || tokens[position + 1].isSymbol(".") {
                let word = advance()
                switch word.text {
                case "repeated": label = .repeated
                case "optional": label = .optional
                default: label = .required
                }
                if inOneof {
                    diagnostics.append(Diagnostic(.error, "fields in oneofs must not have labels", at: word.location))
                } else if label == .required && !allowProto2 {
                    diagnostics.append(
                        Diagnostic(.error, "required fields are not allowed in proto3", at: word.location)
                    )
                }
            }
        }
        var typeName: String
        var typeLocation = current.location
        var keyType: String?
        var valueType: String?
        if current.isKeyword("map") && tokens[position + 1].isSymbol("<") {
            _ = advance()
            _ = advance()
            keyType = try parseTypeName().0
            try expectSymbol(",", "between map key and value types")
            valueType = try parseTypeName().0
            try expectSymbol(">", "to close the map type")
            typeName = "map"
            if label != .none {
                diagnostics.append(Diagnostic(.error, "map fields cannot have labels", at: start.location))
            }
            if inOneof {
                diagnostics.append(Diagnostic(.error, "map fields are not allowed in oneofs", at: start.location))
            }
        } else {
            (typeName, typeLocation) = try parseTypeName()
            if typeName == "group" {
                throw fail("groups are not supported in proto3", at: typeLocation)
            }
        }
        let name = try expectIdentifier("a field name")
        try expectSymbol("=", "after field name '\(name.text)'")
        let numberLocation = current.location
        var number: Int64?
        let negative = consumeSymbol("-")
        if current.kind == .integer {
            let text = advance().text
            if let value = Parser.parseInteger(text) {
                number = negative ? -value : value
            } else {
                diagnostics.append(Diagnostic(.error, "invalid field number '\(text)'", at: numberLocation))
            }
        } else {
            throw fail("expected a field number, found \(describe(current))")
        }
        let options = try parseCompactOptions()
        try expectSymbol(";", "after field '\(name.text)'")
        let trailing = tokens[position - 1].trailingComment
        return FieldSyntax(
            label: label,
            typeName: typeName,
            typeLocation: typeLocation,
            mapKeyType: keyType,
            mapValueType: valueType,
            name: name.text,
            number: number,
            numberLocation: numberLocation,
            options: options,
            location: name.location,
            doc: start.leadingComment ?? trailing
        )
    }

    static func parseInteger(_ text: String) -> Int64? {
        if text.hasPrefix("0x") || text.hasPrefix("0X") { return Int64(text.dropFirst(2), radix: 16) }
        if text.count > 1 && text.hasPrefix("0") { return Int64(text.dropFirst(), radix: 8) }
        return Int64(text)
    }

    private mutating func parseOneof() throws -> OneofSyntax {
        let keyword = current
        try expectKeyword("oneof")
        let name = try expectIdentifier("a oneof name")
        var oneof = OneofSyntax(
            name: name.text,
            fields: [],
            options: [],
            location: name.location,
            doc: keyword.leadingComment
        )
        try expectSymbol("{")
        while !consumeSymbol("}") {
            if atEnd { throw fail("expected '}' to close oneof '\(name.text)'") }
            do {
                if consumeSymbol(";") { continue }
                if current.isKeyword("option") && !tokens[position + 1].isSymbol("=") {
                    oneof.options.append(try parseOptionStatement())
                } else {
                    oneof.fields.append(try parseField(inOneof: true))
                }
            } catch {
                recover()
            }
        }
        return oneof
    }

    private mutating func parseRange(maxValue: Int64) throws -> RangeSyntax {
        let location = current.location
        let startValue = try parseSignedInteger()
        var end: Int64? = startValue
        if current.isKeyword("to") {
            _ = advance()
            if current.isKeyword("max") {
                _ = advance()
                end = nil
            } else {
                end = try parseSignedInteger()
            }
        }
        if let e = end, e < startValue {
            diagnostics.append(Diagnostic(.error, "range end \(e) is before its start \(startValue)", at: location))
        }
        return RangeSyntax(start: startValue, end: end, location: location)
    }

    private mutating func parseSignedInteger() throws -> Int64 {
        let negative = consumeSymbol("-")
        guard current.kind == .integer else { throw fail("expected an integer, found \(describe(current))") }
        let token = advance()
        guard let value = Parser.parseInteger(token.text) else {
            throw fail("integer '\(token.text)' is out of range", at: token.location)
        }
        return negative ? -value : value
    }

    private mutating func parseReserved(maxValue: Int64) throws -> ReservedSyntax {
        try expectKeyword("reserved")
        var reserved = ReservedSyntax()
        if current.kind == .string {
            repeat {
                let (name, _, location) = try parseStringLiteral("a reserved name")
                reserved.names.append((name, location))
            } while consumeSymbol(",")
        } else if current.kind == .identifier {
            repeat {
                let token = try expectIdentifier("a reserved name")
                reserved.names.append((token.text, token.location))
            } while consumeSymbol(",")
        } else {
            repeat {
                reserved.ranges.append(try parseRange(maxValue: maxValue))
            } while consumeSymbol(",")
        }
        try expectSymbol(";", "after reserved")
        return reserved
    }

    // MARK: Enums

    private mutating func parseEnum() throws -> EnumSyntax {
        let keyword = current
        try expectKeyword("enum")
        let name = try expectIdentifier("an enum name")
        var result = EnumSyntax(name: name.text, location: name.location, doc: keyword.leadingComment)
        try expectSymbol("{")
        while !consumeSymbol("}") {
            if atEnd { throw fail("expected '}' to close enum '\(name.text)'") }
            do {
                if consumeSymbol(";") { continue }
                if current.isKeyword("option") && !tokens[position + 1].isSymbol("=") {
                    result.options.append(try parseOptionStatement())
                } else if current.isKeyword("reserved") && !tokens[position + 1].isSymbol("=") {
                    result.reserved.append(try parseReserved(maxValue: Int64(Int32.max)))
                } else {
                    let valueToken = try expectIdentifier("an enum value name")
                    try expectSymbol("=", "after enum value '\(valueToken.text)'")
                    let number = try parseSignedInteger()
                    let options = try parseCompactOptions()
                    try expectSymbol(";", "after enum value '\(valueToken.text)'")
                    result.values.append(
                        EnumValueSyntax(
                            name: valueToken.text,
                            number: number,
                            options: options,
                            location: valueToken.location,
                            doc: valueToken.leadingComment ?? tokens[position - 1].trailingComment
                        )
                    )
                }
            } catch {
                recover()
            }
        }
        return result
    }

    // MARK: Services

    private mutating func parseService() throws -> ServiceSyntax {
        let keyword = current
        try expectKeyword("service")
        let name = try expectIdentifier("a service name")
        var service = ServiceSyntax(name: name.text, location: name.location, doc: keyword.leadingComment)
        try expectSymbol("{")
        while !consumeSymbol("}") {
            if atEnd { throw fail("expected '}' to close service '\(name.text)'") }
            do {
                if consumeSymbol(";") { continue }
                if current.isKeyword("option") {
                    service.options.append(try parseOptionStatement())
                } else if current.isKeyword("rpc") {
                    service.methods.append(try parseMethod())
                } else {
                    throw fail("expected 'rpc' or 'option' in service, found \(describe(current))")
                }
            } catch {
                recover()
            }
        }
        return service
    }

    private mutating func parseMethod() throws -> MethodSyntax {
        let keyword = current
        try expectKeyword("rpc")
        let name = try expectIdentifier("a method name")
        try expectSymbol("(")
        let clientStreaming = consumeStreamKeyword()
        let (input, inputLocation) = try parseTypeName()
        try expectSymbol(")")
        try expectKeyword("returns")
        try expectSymbol("(")
        let serverStreaming = consumeStreamKeyword()
        let (output, outputLocation) = try parseTypeName()
        try expectSymbol(")")
        var options: [OptionSyntax] = []
        if consumeSymbol("{") {
            while !consumeSymbol("}") {
                if atEnd { throw fail("expected '}' to close method '\(name.text)'") }
                do {
                    if consumeSymbol(";") { continue }
                    options.append(try parseOptionStatement())
                } catch {
                    recover()
                }
            }
            _ = consumeSymbol(";")
        } else {
            try expectSymbol(";", "after method '\(name.text)'")
        }
        return MethodSyntax(
            name: name.text,
            inputType: input,
            inputLocation: inputLocation,
            clientStreaming: clientStreaming,
            outputType: output,
            outputLocation: outputLocation,
            serverStreaming: serverStreaming,
            options: options,
            location: name.location,
            doc: keyword.leadingComment
        )
    }

    /// `stream` before a type name (a type may itself be called `stream`).
    private mutating func consumeStreamKeyword() -> Bool {
        guard current.isKeyword("stream"),
            tokens[position + 1].kind == .identifier || tokens[position + 1].isSymbol(".")
        else { return false }
        _ = advance()
        return true
    }

    // MARK: Extensions

    private mutating func parseExtend() throws -> ExtendSyntax {
        let start = current.location
        try expectKeyword("extend")
        let (extendee, extendeeLocation) = try parseTypeName()
        var result = ExtendSyntax(extendee: extendee, extendeeLocation: extendeeLocation, fields: [], location: start)
        try expectSymbol("{")
        while !consumeSymbol("}") {
            if atEnd { throw fail("expected '}' to close extend block") }
            do {
                if consumeSymbol(";") { continue }
                result.fields.append(try parseField(inOneof: false))
            } catch {
                recover()
            }
        }
        return result
    }
}
