/// A token of the protobuf language.
struct Token: Sendable {
    enum Kind: Equatable, Sendable {
        case identifier
        case integer
        case float
        case string
        case symbol(UInt8)
        case endOfFile
    }

    var kind: Kind
    /// The source text; for strings, the decoded value (adjacent literals concatenated).
    var text: String
    /// For strings, the decoded bytes (strings may hold arbitrary bytes for `bytes` options).
    var bytes: [UInt8] = []
    var location: SourceLocation
    /// The comment block directly above the token, if any (doc comment).
    var leadingComment: String?
    /// A `//` comment on the same line after the previous token (trailing comment).
    var trailingComment: String?

    func isSymbol(_ c: Character) -> Bool {
        if case .symbol(let b) = kind, let ascii = c.asciiValue { return b == ascii }
        return false
    }

    func isKeyword(_ word: String) -> Bool { kind == .identifier && text == word }
}

/// Splits a `.proto` source into tokens, keeping comments for documentation.
struct Lexer {
    private let bytes: [UInt8]
    private let file: String
    private var index = 0
    private var line = 1
    private var column = 1
    private(set) var diagnostics: [Diagnostic] = []

    init(source: String, file: String) {
        self.bytes = Array(source.utf8)
        self.file = file
    }

    private var location: SourceLocation { SourceLocation(file: file, line: line, column: column) }

    private func peek(_ offset: Int = 0) -> UInt8? {
        index + offset < bytes.count ? bytes[index + offset] : nil
    }

    private mutating func advance() {
        guard index < bytes.count else { return }
        if bytes[index] == UInt8(ascii: "\n") {
            line += 1
            column = 1
        } else {
            column += 1
        }
        index += 1
    }

    private mutating func error(_ message: String, at location: SourceLocation) {
        diagnostics.append(Diagnostic(.error, message, at: location))
    }

    /// Tokenizes the whole input; the last token is `.endOfFile`.
    mutating func tokenize() -> [Token] {
        var tokens: [Token] = []
        var pendingComment: [String] = []
        var lastTokenLine = 0
        var blankLineSinceComment = false
        while true {
            // Whitespace and comments.
            var newlines = 0
            while let c = peek() {
                if c == UInt8(ascii: "\n") {
                    newlines += 1
                    if newlines >= 2 { blankLineSinceComment = true }
                    advance()
                } else if c == UInt8(ascii: " ") || c == UInt8(ascii: "\t") || c == UInt8(ascii: "\r") || c == 0x0C
                    || c == 0x0B
                {
                    advance()
                } else if c == UInt8(ascii: "/") && peek(1) == UInt8(ascii: "/") {
                    let commentLine = line
                    var text: [UInt8] = []
                    advance()
                    advance()
                    while let d = peek(), d != UInt8(ascii: "\n") {
                        text.append(d)
                        advance()
                    }
                    let content = String(decoding: text, as: UTF8.self)
                    if commentLine == lastTokenLine, !tokens.isEmpty {
                        tokens[tokens.count - 1].trailingComment = Lexer.stripCommentSpace(content)
                    } else {
                        if blankLineSinceComment { pendingComment = [] }
                        pendingComment.append(Lexer.stripCommentSpace(content))
                    }
                    blankLineSinceComment = false
                    newlines = 0
                } else if c == UInt8(ascii: "/") && peek(1) == UInt8(ascii: "*") {
                    let start = location
                    advance()
                    advance()
                    var text: [UInt8] = []
                    var closed = false
                    while let d = peek() {
                        if d == UInt8(ascii: "*") && peek(1) == UInt8(ascii: "/") {
                            advance()
                            advance()
                            closed = true
                            break
                        }
                        text.append(d)
                        advance()
                    }
                    if !closed { error("unterminated block comment", at: start) }
                    if blankLineSinceComment { pendingComment = [] }
                    for commentLine in String(decoding: text, as: UTF8.self).split(
                        separator: "\n",
                        omittingEmptySubsequences: false
                    ) {
                        var l = Substring(commentLine)
                        while l.first == " " { l.removeFirst() }
                        if l.first == "*" && !l.hasPrefix("*/") { l.removeFirst() }
                        pendingComment.append(Lexer.stripCommentSpace(String(l)))
                    }
                    blankLineSinceComment = false
                    newlines = 0
                } else {
                    break
                }
            }
            if blankLineSinceComment && newlines >= 2 { pendingComment = [] }
            let doc = pendingComment.isEmpty ? nil : Lexer.trimBlankLines(pendingComment)
            pendingComment = []
            blankLineSinceComment = false
            let start = location
            guard let c = peek() else {
                tokens.append(Token(kind: .endOfFile, text: "", location: start))
                return tokens
            }
            var token: Token
            if Lexer.isIdentifierStart(c) {
                var text: [UInt8] = []
                while let d = peek(), Lexer.isIdentifierStart(d) || Lexer.isDigit(d) {
                    text.append(d)
                    advance()
                }
                token = Token(kind: .identifier, text: String(decoding: text, as: UTF8.self), location: start)
            } else if Lexer.isDigit(c) || (c == UInt8(ascii: ".") && peek(1).map(Lexer.isDigit) == true) {
                token = lexNumber(start: start)
            } else if c == UInt8(ascii: "\"") || c == UInt8(ascii: "'") {
                token = lexString(start: start)
            } else {
                advance()
                if c >= 0x80 || c < 0x20 {
                    error("unexpected character (byte 0x\(String(c, radix: 16)))", at: start)
                    continue
                }
                token = Token(kind: .symbol(c), text: String(UnicodeScalar(c)), location: start)
            }
            token.leadingComment = doc
            lastTokenLine = line
            tokens.append(token)
        }
    }

    static func stripCommentSpace(_ s: String) -> String {
        s.hasPrefix(" ") ? String(s.dropFirst()) : s
    }

    static func trimBlankLines(_ lines: [String]) -> String? {
        var l = lines
        while let first = l.first, first.allSatisfy({ $0 == " " }) { l.removeFirst() }
        while let last = l.last, last.allSatisfy({ $0 == " " }) { l.removeLast() }
        return l.isEmpty ? nil : l.joined(separator: "\n")
    }

    static func isIdentifierStart(_ c: UInt8) -> Bool {
        (c >= UInt8(ascii: "a") && c <= UInt8(ascii: "z")) || (c >= UInt8(ascii: "A") && c <= UInt8(ascii: "Z"))
            || c == UInt8(ascii: "_")
    }

    static func isDigit(_ c: UInt8) -> Bool { c >= UInt8(ascii: "0") && c <= UInt8(ascii: "9") }

    private mutating func lexNumber(start: SourceLocation) -> Token {
        var text: [UInt8] = []
        var isFloat = false
        if peek() == UInt8(ascii: "0"), let x = peek(1), x == UInt8(ascii: "x") || x == UInt8(ascii: "X") {
            text.append(contentsOf: [UInt8(ascii: "0"), x])
            advance()
            advance()
            while let d = peek(), Lexer.isDigit(d) || (UInt8(ascii: "a")...UInt8(ascii: "f")).contains(d | 0x20) {
                text.append(d)
                advance()
            }
        } else {
            while let d = peek() {
                if Lexer.isDigit(d) {
                    text.append(d)
                    advance()
                } else if d == UInt8(ascii: ".") {
                    isFloat = true
                    text.append(d)
                    advance()
                } else if d == UInt8(ascii: "e") || d == UInt8(ascii: "E") {
                    isFloat = true
                    text.append(d)
                    advance()
                    if let s = peek(), s == UInt8(ascii: "+") || s == UInt8(ascii: "-") {
                        text.append(s)
                        advance()
                    }
                } else {
                    break
                }
            }
        }
        // A number glued to letters (`12abc`) is a lexing error, as in protoc.
        if let d = peek(), Lexer.isIdentifierStart(d) {
            var rest: [UInt8] = []
            while let e = peek(), Lexer.isIdentifierStart(e) || Lexer.isDigit(e) {
                rest.append(e)
                advance()
            }
            error("need space between number and identifier", at: start)
            text.append(contentsOf: rest)
        }
        return Token(kind: isFloat ? .float : .integer, text: String(decoding: text, as: UTF8.self), location: start)
    }

    private mutating func lexString(start: SourceLocation) -> Token {
        guard let quote = peek() else { return Token(kind: .string, text: "", location: start) }
        advance()
        var out: [UInt8] = []
        while true {
            guard let c = peek(), c != UInt8(ascii: "\n") else {
                error("unterminated string literal", at: start)
                break
            }
            advance()
            if c == quote { break }
            if c != UInt8(ascii: "\\") {
                out.append(c)
                continue
            }
            guard let e = peek() else { continue }
            advance()
            switch e {
            case UInt8(ascii: "n"): out.append(0x0A)
            case UInt8(ascii: "t"): out.append(0x09)
            case UInt8(ascii: "r"): out.append(0x0D)
            case UInt8(ascii: "a"): out.append(0x07)
            case UInt8(ascii: "b"): out.append(0x08)
            case UInt8(ascii: "f"): out.append(0x0C)
            case UInt8(ascii: "v"): out.append(0x0B)
            case UInt8(ascii: "\\"), UInt8(ascii: "'"), UInt8(ascii: "\""), UInt8(ascii: "?"): out.append(e)
            case UInt8(ascii: "x"), UInt8(ascii: "X"):
                var value = 0
                var digits = 0
                while digits < 2, let h = peek(), let v = Lexer.hexValue(h) {
                    value = value * 16 + v
                    digits += 1
                    advance()
                }
                if digits == 0 { error("expected hex digits after \\x", at: location) }
                out.append(UInt8(truncatingIfNeeded: value))
            case UInt8(ascii: "0")...UInt8(ascii: "7"):
                var value = Int(e - UInt8(ascii: "0"))
                var digits = 1
                while digits < 3, let o = peek(), o >= UInt8(ascii: "0"), o <= UInt8(ascii: "7") {
                    value = value * 8 + Int(o - UInt8(ascii: "0"))
                    digits += 1
                    advance()
                }
                out.append(UInt8(truncatingIfNeeded: value))
            case UInt8(ascii: "u"), UInt8(ascii: "U"):
                let count = e == UInt8(ascii: "u") ? 4 : 8
                var value: UInt32 = 0
                for _ in 0..<count {
                    guard let h = peek(), let v = Lexer.hexValue(h) else {
                        error("expected \(count) hex digits after \\\(Character(UnicodeScalar(e)))", at: location)
                        break
                    }
                    value = value * 16 + UInt32(v)
                    advance()
                }
                if let scalar = Unicode.Scalar(value) {
                    out.append(contentsOf: Array(String(Character(scalar)).utf8))
                } else {
                    error("invalid unicode escape", at: location)
                }
            default:
                error("invalid escape sequence '\\\(Character(UnicodeScalar(e)))'", at: location)
            }
        }
        var token = Token(kind: .string, text: String(decoding: out, as: UTF8.self), location: start)
        token.bytes = out
        return token
    }

    static func hexValue(_ c: UInt8) -> Int? {
        switch c {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): return Int(c - UInt8(ascii: "0"))
        case UInt8(ascii: "a")...UInt8(ascii: "f"): return Int(c - UInt8(ascii: "a")) + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): return Int(c - UInt8(ascii: "A")) + 10
        default: return nil
        }
    }
}
