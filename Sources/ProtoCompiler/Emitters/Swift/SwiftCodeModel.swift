/// A small structural model of Swift source: emitters build declarations, the renderer prints.
///
/// Keeping the two apart lets several emitters (messages, descriptors, and later service stubs,
/// route tables) contribute declarations to one file without sharing text state.
public indirect enum SwiftDecl: Sendable {
    /// `struct`, `enum`, `extension` or `protocol` with a body.
    case type(SwiftTypeDecl)
    /// A function, initializer or computed property: signature and body statements.
    case function(doc: [String], signature: String, body: [SwiftStatement])
    /// A stored property, case or other one-line declaration.
    case line(doc: [String], text: String)
    /// A blank line between groups.
    case blank
}

public struct SwiftTypeDecl: Sendable {
    public var doc: [String]
    public var attributes: [String]
    /// e.g. `public struct Order: ProtoRuntime.Message`.
    public var header: String
    public var members: [SwiftDecl]

    public init(doc: [String] = [], attributes: [String] = [], header: String, members: [SwiftDecl]) {
        self.doc = doc
        self.attributes = attributes
        self.header = header
        self.members = members
    }
}

/// A statement in a function body: one line, or a braced block.
public indirect enum SwiftStatement: Sendable {
    case line(String)
    /// `header {` body `}` (the header includes any `if`/`for`/`switch` text).
    case block(String, [SwiftStatement], footer: String = "}")
    /// A `case ...:` label with its statements, inside a switch.
    case caseLabel(String, [SwiftStatement])
}

/// A whole generated file.
public struct SwiftFile: Sendable {
    public var header: [String]
    public var imports: [String]
    public var declarations: [SwiftDecl]

    public init(header: [String], imports: [String], declarations: [SwiftDecl]) {
        self.header = header
        self.imports = imports
        self.declarations = declarations
    }
}

/// Prints the code model with 4-space indentation.
public struct SwiftRenderer {
    private var out = ""
    private var level = 0

    public init() {}

    public static func render(_ file: SwiftFile) -> String {
        var r = SwiftRenderer()
        for line in file.header { r.emit(line) }
        if !file.header.isEmpty { r.emit("") }
        for imp in file.imports { r.emit(imp) }
        if !file.imports.isEmpty { r.emit("") }
        for (i, decl) in file.declarations.enumerated() {
            if i > 0 { r.emit("") }
            r.render(decl)
        }
        return r.out
    }

    private mutating func emit(_ text: String) {
        if text.isEmpty {
            out += "\n"
        } else {
            out += String(repeating: "    ", count: level) + text + "\n"
        }
    }

    /// Emits text that may span lines (a long signature), each line at the current level.
    private mutating func emitLines(_ text: String) {
        for line in text.split(separator: "\n", omittingEmptySubsequences: false) { emit(String(line)) }
    }

    private mutating func doc(_ lines: [String]) {
        for line in lines { emit(line.isEmpty ? "///" : "/// " + line) }
    }

    private mutating func render(_ decl: SwiftDecl) {
        switch decl {
        case .type(let t):
            doc(t.doc)
            for a in t.attributes { emit(a) }
            if t.members.isEmpty {
                emit(t.header + " {}")
                return
            }
            emit(t.header + " {")
            level += 1
            for m in t.members { render(m) }
            level -= 1
            emit("}")
        case .function(let d, let signature, let body):
            doc(d)
            if body.isEmpty {
                emitLines(signature + " {}")
                return
            }
            emitLines(signature + " {")
            level += 1
            for s in body { render(s) }
            level -= 1
            emit("}")
        case .line(let d, let text):
            doc(d)
            emit(text)
        case .blank:
            emit("")
        }
    }

    private mutating func render(_ statement: SwiftStatement) {
        switch statement {
        case .line(let text):
            emit(text)
        case .block(let header, let body, let footer):
            // A closure header (`… { reader in`) already opens its brace; `[` opens a literal.
            emit(header.hasSuffix(" in") || header == "[" ? header : header + " {")
            level += 1
            for s in body { render(s) }
            level -= 1
            emit(footer)
        case .caseLabel(let label, let body):
            // `case` aligns with its `switch`, as swift-format writes it.
            level -= 1
            emit(label)
            level += 1
            for s in body { render(s) }
        }
    }
}
