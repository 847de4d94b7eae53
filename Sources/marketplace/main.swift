import ArgumentParser
import Foundation
import ProtoCompiler

/// `marketplace`: runs the system. Today only the schema layer exists, so `marketplace` compiles
/// `Protos/` and prints what it defines; the services arrive with their issues.
@main
struct Marketplace: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "marketplace",
        abstract: "The home-services marketplace.",
        subcommands: [Schema.self],
        defaultSubcommand: Schema.self)

    struct Schema: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Compile the schemas in Protos/ and print a summary of their messages, enums and services.")

        @Option(name: [.customLong("proto-path"), .customShort("I")], help: "The schema root.")
        var protoPath = "Protos"

        mutating func run() throws {
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
                print("")
                print("The services (auth, users, orders, payments, reviews, notifications), the event bus and")
                print("the gateway are not built yet: nothing is listening. See README.md for what exists today.")
            } catch let failure as CompilationFailed {
                FileHandle.standardError.write(Data((failure.description + "\n").utf8))
                throw ExitCode.failure
            }
        }
    }
}
