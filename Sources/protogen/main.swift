import ArgumentParser
import Foundation
import ProtoCompiler

/// `protogen`: compiles `.proto` files to Swift (and descriptor sets) with our own compiler.
@main
struct ProtoGen: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "protogen",
        abstract: "Compile proto3 schemas to Swift with the project's own schema compiler (no protoc).",
        discussion: """
            FILES are import paths (relative to a --proto-path root) or paths on disk inside one.
            Errors are printed as 'file:line:column: error: message'; the exit code is 1 if any.
            """
    )

    @Option(
        name: [.customLong("proto-path"), .customShort("I")],
        help: "An import root (repeatable; first match wins)."
    )
    var protoPath: [String] = []

    @Option(name: .customLong("out"), help: "Directory for one <path_with_underscores>.pb.swift per file.")
    var out: String?

    @Option(name: .customLong("descriptor-set-out"), help: "Write a FileDescriptorSet of FILES and their imports here.")
    var descriptorSetOut: String?

    @Option(help: "Access level of generated declarations: public, package or internal.")
    var visibility: String = "public"

    @Flag(help: "Do not emit message and enum types (services only, importing the messages' module).")
    var noMessages = false

    @Flag(help: "Do not emit service stubs.")
    var noServices = false

    @Option(name: .customLong("import"), help: "A module the generated files import (repeatable).")
    var imports: [String] = []

    @Option(help: "The module the output is compiled into (it is never imported by itself).")
    var moduleName: String?

    @Option(help: "Also write NAME.pb.swift: an enum NAME listing FILES and the services they declare.")
    var index: String?

    @Flag(help: "Write only the --index file (the build plugin's one command for a module's index).")
    var onlyIndex = false

    @Flag(help: "Compare with what is in --out and --descriptor-set-out instead of writing; exit 1 if stale.")
    var check = false

    @Flag(help: "Print a summary of the compiled schema instead of generating.")
    var summary = false

    @Argument(help: "The .proto files to compile.")
    var files: [String] = []

    mutating func run() throws {
        guard !files.isEmpty else { throw ValidationError("no input files") }
        guard let level = SwiftGeneratorOptions.Visibility(rawValue: visibility) else {
            throw ValidationError("--visibility must be public, package or internal")
        }
        if let index, !SwiftNamingCheck.isIdentifier(index) {
            throw ValidationError("--index must be a Swift type name (letters, digits, _), not '\(index)'")
        }
        if onlyIndex && index == nil { throw ValidationError("--only-index needs --index NAME") }
        let roots = protoPath.isEmpty ? ["."] : protoPath
        let provider = DirectorySourceProvider(roots: roots)
        var importPaths: [String] = []
        for file in files {
            if FileManager.default.fileExists(atPath: file), let relative = provider.importPath(forFile: file) {
                importPaths.append(relative)
            } else {
                importPaths.append(file)
            }
        }
        let result: SchemaCompiler.Result
        do {
            result = try SchemaCompiler(provider: provider).compile(importPaths)
        } catch let failure as CompilationFailed {
            for d in failure.diagnostics { printError(d.description) }
            let errors = failure.diagnostics.filter { $0.severity == .error }.count
            printError("\(errors) error\(errors == 1 ? "" : "s") generated.")
            throw ExitCode.failure
        }
        for warning in result.warnings { printError(warning.description) }
        if summary {
            print(SchemaSummary.describe(result), terminator: "")
            return
        }
        let outputs = GeneratedOutputs.make(
            result,
            options: SwiftGeneratorOptions(
                visibility: level,
                emitMessages: !noMessages,
                emitServices: !noServices,
                extraImports: imports,
                moduleName: moduleName
            ),
            descriptorSetName: descriptorSetOut.map {
                URL(fileURLWithPath: $0).lastPathComponent
            },
            index: index,
            onlyIndex: onlyIndex
        )
        var stale: [String] = []
        if let out {
            for (name, text) in outputs.swiftFiles {
                let path = out + "/" + name
                stale += try writeOrCheck(path: path, data: Data(text.utf8))
            }
        }
        if let descriptorSetOut {
            stale += try writeOrCheck(path: descriptorSetOut, data: Data(outputs.descriptorSet))
        }
        if check && !stale.isEmpty {
            for path in stale { printError("\(path): stale; run 'make generate'") }
            throw ExitCode.failure
        }
    }

    func writeOrCheck(path: String, data: Data) throws -> [String] {
        if check {
            return FileManager.default.contents(atPath: path) == data ? [] : [path]
        }
        let directory = URL(fileURLWithPath: path).deletingLastPathComponent().path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        if FileManager.default.contents(atPath: path) != data {
            try data.write(to: URL(fileURLWithPath: path))
        }
        return []
    }

    func printError(_ text: String) {
        FileHandle.standardError.write(Data((text + "\n").utf8))
    }
}

/// Whether a name given on the command line can name a generated type.
enum SwiftNamingCheck {
    static func isIdentifier(_ text: String) -> Bool {
        guard let first = text.unicodeScalars.first, first == "_" || (first.isASCII && first.properties.isAlphabetic)
        else { return false }
        return text.unicodeScalars.allSatisfy {
            $0 == "_" || ($0.isASCII && $0.properties.isAlphabetic) || ("0"..."9").contains($0)
        }
    }
}
