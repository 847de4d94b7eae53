/// The schema compiler's entry point: load, parse, resolve and check a set of `.proto` files.
public struct SchemaCompiler: Sendable {
    /// Where imports are looked up.
    public var provider: any ProtoSourceProvider

    public init(provider: any ProtoSourceProvider) { self.provider = provider }

    /// A compiled set of files.
    public struct Result: Sendable {
        /// Every file loaded, imports first.
        public var schema: Schema
        /// The import paths of the files that were asked for.
        public var requested: [String]
        /// Warnings (compilation succeeded).
        public var warnings: [Diagnostic]

        /// The requested files, resolved.
        public var requestedFiles: [ProtoFile] { requested.compactMap { schema.file(named: $0) } }
    }

    /// Compiles `files` (import paths) and everything they import.
    /// - Throws: ``CompilationFailed`` with every error found, in source order per file.
    public func compile(_ files: [String]) throws -> Result {
        var loader = SourceLoader(provider: provider)
        // Builtin options are defined here; it is loaded even when nothing imports it.
        loader.load("google/protobuf/descriptor.proto", from: nil)
        for file in files { loader.load(file, from: nil) }
        var diagnostics = loader.diagnostics
        var resolver = Resolver(builtin: loader.builtin, displayPaths: loader.displayPaths)
        let schema = resolver.resolve(loader.ordered)
        diagnostics.append(contentsOf: resolver.diagnostics.diagnostics)
        if !diagnostics.hasErrors {
            var rules = FieldRulesChecker(schema: schema)
            rules.check()
            diagnostics.append(contentsOf: rules.diagnostics.diagnostics)
        }
        let all = diagnostics.diagnostics
        if diagnostics.hasErrors {
            throw CompilationFailed(diagnostics: SchemaCompiler.ordered(all))
        }
        return Result(schema: schema, requested: files, warnings: all.filter { $0.severity == .warning })
    }

    static func ordered(_ diagnostics: [Diagnostic]) -> [Diagnostic] {
        var seen: Set<Diagnostic> = []
        let unique = diagnostics.filter { seen.insert($0).inserted }
        return unique.enumerated().sorted { a, b in
            switch (a.element.location, b.element.location) {
            case (let l?, let r?) where l.file == r.file: return l == r ? a.offset < b.offset : l < r
            default: return a.offset < b.offset
            }
        }.map(\.element)
    }
}
