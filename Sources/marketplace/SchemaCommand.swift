import ArgumentParser
import Foundation
import ProtoCompiler

extension Marketplace {
    /// A summary of the schemas, compiled by our own compiler.
    struct Schema: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Compile the schemas in Protos/ and print a summary of their messages, enums and services."
        )

        @Option(name: [.customLong("proto-path"), .customShort("I")], help: "The schema root.")
        var protoPath = "Protos"

        mutating func run() throws { try Schema.printSummary(protoPath: protoPath) }

        /// Compiles every `.proto` under `protoPath` and prints what it defines.
        static func printSummary(protoPath: String) throws {
            let root = URL(fileURLWithPath: protoPath)
            guard let enumerator = FileManager.default.enumerator(at: root, includingPropertiesForKeys: nil) else {
                throw ValidationError("no schema directory at '\(protoPath)'")
            }
            var files: [String] = []
            for case let url as URL in enumerator where url.pathExtension == "proto" {
                let relative = url.standardizedFileURL.path.dropFirst(root.standardizedFileURL.path.count + 1)
                files.append(String(relative))
            }
            guard !files.isEmpty else { throw ValidationError("no .proto files under '\(protoPath)'") }
            let compiler = SchemaCompiler(provider: DirectorySourceProvider(roots: [protoPath]))
            do {
                let result = try compiler.compile(files.sorted())
                print("Schemas in \(protoPath)/ (compiled by our own compiler):")
                print(SchemaSummary.describe(result), terminator: "")
            } catch let failure as CompilationFailed {
                FileHandle.standardError.write(Data((failure.description + "\n").utf8))
                throw ExitCode.failure
            }
        }
    }
}
