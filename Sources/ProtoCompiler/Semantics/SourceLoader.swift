import Foundation

/// Reads `.proto` sources by import path.
public protocol ProtoSourceProvider: Sendable {
    /// The text of the file with this import path and the path to show in diagnostics,
    /// or `nil` if no import root has it.
    func source(for importPath: String) -> (text: String, displayPath: String)?
}

/// Finds files under a list of import roots on disk, first match wins (like `protoc -I`).
public struct DirectorySourceProvider: ProtoSourceProvider {
    public var roots: [String]

    public init(roots: [String]) { self.roots = roots }

    public func source(for importPath: String) -> (text: String, displayPath: String)? {
        for root in roots {
            let path = root.isEmpty || root == "." ? importPath : root + "/" + importPath
            if let data = FileManager.default.contents(atPath: path) {
                return (String(decoding: data, as: UTF8.self), path)
            }
        }
        return nil
    }

    /// The import path of a file given by its path on disk, relative to the first root containing it.
    public func importPath(forFile file: String) -> String? {
        let standardized = URL(fileURLWithPath: file).standardizedFileURL.resolvingSymlinksInPath().path
        for root in roots {
            let rootPath = URL(fileURLWithPath: root).standardizedFileURL.resolvingSymlinksInPath().path
            let prefix = rootPath.hasSuffix("/") ? rootPath : rootPath + "/"
            if standardized.hasPrefix(prefix) { return String(standardized.dropFirst(prefix.count)) }
        }
        return nil
    }
}

/// Sources held in memory (tests, and the generated-code freshness check).
public struct InMemorySourceProvider: ProtoSourceProvider {
    public var files: [String: String]
    public var displayPrefix: String

    public init(files: [String: String], displayPrefix: String = "") {
        self.files = files
        self.displayPrefix = displayPrefix
    }

    public func source(for importPath: String) -> (text: String, displayPath: String)? {
        files[importPath].map { ($0, displayPrefix + importPath) }
    }
}

/// Loads files and their imports, reporting missing files and import cycles.
struct SourceLoader {
    let provider: any ProtoSourceProvider
    var diagnostics = DiagnosticBag()
    /// Parsed files in dependency order (imports first).
    var ordered: [FileSyntax] = []
    var builtin: Set<String> = []
    var displayPaths: [String: String] = [:]
    private var state: [String: VisitState] = [:]
    private var stack: [String] = []

    private enum VisitState { case visiting, done, missing }

    init(provider: any ProtoSourceProvider) { self.provider = provider }

    /// A file being loaded: parsed, its imports visited one by one.
    private struct Visit {
        var file: FileSyntax
        var display: String
        var isBuiltin: Bool
        var nextImport = 0
        var seenImports: Set<String> = []
    }

    /// Loads `path` and, depth first, everything it imports. The walk keeps its own stack, so an
    /// import chain as long as the input likes never grows the call stack.
    mutating func load(_ path: String, from importLocation: SourceLocation?) {
        var visits: [Visit] = []
        if let visit = open(path, from: importLocation) { visits.append(visit) }
        while let top = visits.indices.last {
            if visits[top].nextImport < visits[top].file.imports.count {
                let imp = visits[top].file.imports[visits[top].nextImport]
                visits[top].nextImport += 1
                guard visits[top].seenImports.insert(imp.path).inserted else {
                    diagnostics.error("'\(imp.path)' is imported more than once", at: imp.location)
                    continue
                }
                if let visit = open(imp.path, from: imp.location) { visits.append(visit) }
                continue
            }
            let done = visits.removeLast()
            stack.removeLast()
            state[done.file.path] = .done
            if done.isBuiltin { builtin.insert(done.file.path) }
            displayPaths[done.file.path] = done.display
            ordered.append(done.file)
        }
    }

    /// Starts loading `path`: parses it and marks it as being visited, or reports why not (a
    /// missing file, a cycle) and returns `nil`; `nil` too for a file already loaded.
    private mutating func open(_ path: String, from importLocation: SourceLocation?) -> Visit? {
        switch state[path] {
        case .done, .missing: return nil
        case .visiting:
            let cycleStart = stack.firstIndex(of: path) ?? 0
            let cycle = (stack[cycleStart...] + [path]).joined(separator: " -> ")
            diagnostics.error("import cycle: \(cycle)", at: importLocation)
            return nil
        case nil: break
        }
        let text: String
        let display: String
        let isBuiltin: Bool
        if let builtinText = BuiltinFiles.sources[path] {
            text = builtinText
            display = path
            isBuiltin = true
        } else if let found = provider.source(for: path) {
            (text, display) = found
            isBuiltin = false
        } else {
            state[path] = .missing
            diagnostics.error("file not found: '\(path)'", at: importLocation)
            return nil
        }
        state[path] = .visiting
        stack.append(path)
        var parser = Parser(source: text, path: display, allowProto2: isBuiltin)
        let file = parser.parseFile(path: path)
        diagnostics.append(contentsOf: parser.diagnostics)
        return Visit(file: file, display: display, isBuiltin: isBuiltin)
    }
}
