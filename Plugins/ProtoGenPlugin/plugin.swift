import Foundation
import PackagePlugin

/// Runs `protogen` over the `.proto` files of a target at build time.
///
/// The target's `.proto` files are its source files (a folder in the target, or a symlink to a
/// folder of `Protos/`), so a new file is noticed on the next build. A `protogen.json` in the
/// target's folder names the import roots (relative to that folder) and what to emit:
///
///     { "importPaths": ["../../Protos"], "visibility": "public", "messages": true,
///       "services": false, "imports": [], "builtins": ["google/protobuf/descriptor.proto"],
///       "index": "MarketplaceAPIIndex" }
///
/// `builtins` generates the compiler's own well-known files (for example the descriptor messages
/// reflection decodes).
///
/// Each `.proto` file gets one command whose inputs are every `.proto` under the import roots,
/// so editing an imported file regenerates its importers.
@main
struct ProtoGenPlugin: BuildToolPlugin {
    struct Configuration: Decodable {
        var importPaths: [String]
        var visibility: String?
        /// Emit message types (default true).
        var messages: Bool?
        /// Emit service stubs (default true).
        var services: Bool?
        /// Modules the generated files import (where messages live when only services are emitted here).
        var imports: [String]?
        /// Built-in files (`google/protobuf/descriptor.proto`) to generate as well.
        var builtins: [String]?
        /// The name of an index of the target's `.proto` files and their services to generate
        /// (`MarketplaceAPIIndex`: `MarketplaceAPIIndex.serviceFiles`), so code over the whole
        /// schema follows the files.
        var index: String?
    }

    enum PluginError: Error, CustomStringConvertible {
        case missingConfiguration(String)
        case badConfiguration(String, String)
        case outsideImportPaths(String)

        var description: String {
            switch self {
            case .missingConfiguration(let path):
                return "\(path): missing; it names the import roots of the target's .proto files"
            case .badConfiguration(let path, let reason): return "\(path): \(reason)"
            case .outsideImportPaths(let file):
                return "\(file): not under any import path named in protogen.json"
            }
        }
    }

    func createBuildCommands(context: PluginContext, target: any Target) throws -> [Command] {
        guard let module = target as? SourceModuleTarget else { return [] }
        let directory = target.directoryURL
        let configURL = directory.appending(path: "protogen.json")
        guard let data = try? Data(contentsOf: configURL) else {
            throw PluginError.missingConfiguration(configURL.path())
        }
        let config: Configuration
        do {
            config = try JSONDecoder().decode(Configuration.self, from: data)
        } catch {
            throw PluginError.badConfiguration(configURL.path(), "\(error)")
        }
        let roots = config.importPaths.map {
            directory.appending(path: $0).standardizedFileURL.resolvingSymlinksInPath()
        }
        let allProtos = roots.flatMap { protoFiles(under: $0) }
        let tool = try context.tool(named: "protogen")
        var commands: [Command] = []
        var targets: [(importPath: String, input: URL?)] = []
        for file in module.sourceFiles(withSuffix: "proto") {
            let real = file.url.standardizedFileURL.resolvingSymlinksInPath()
            guard let importPath = relativePath(of: real, roots: roots) else {
                throw PluginError.outsideImportPaths(file.url.path())
            }
            targets.append((importPath, file.url))
        }
        for builtin in config.builtins ?? [] { targets.append((builtin, nil)) }
        for (importPath, input) in targets {
            let stem = String(importPath.dropLast(".proto".count))
            let outputName = stem.replacingOccurrences(of: "/", with: "_") + ".pb.swift"
            let output = context.pluginWorkDirectoryURL.appending(path: outputName)
            var arguments: [String] = []
            for root in roots { arguments += ["--proto-path", root.path()] }
            arguments += ["--out", context.pluginWorkDirectoryURL.path()]
            arguments += ["--visibility", config.visibility ?? "public"]
            arguments += ["--module-name", module.name]
            if config.messages == false { arguments.append("--no-messages") }
            if config.services == false { arguments.append("--no-services") }
            for module in config.imports ?? [] { arguments += ["--import", module] }
            arguments.append(importPath)
            commands.append(
                .buildCommand(
                    displayName: "protogen \(importPath)",
                    executable: tool.url,
                    arguments: arguments,
                    inputFiles: (input.map { [$0] } ?? []) + allProtos + [configURL],
                    outputFiles: [output]
                )
            )
        }
        if let index = config.index {
            let output = context.pluginWorkDirectoryURL.appending(path: index + ".pb.swift")
            var arguments: [String] = []
            for root in roots { arguments += ["--proto-path", root.path()] }
            arguments += [
                "--out", context.pluginWorkDirectoryURL.path(), "--visibility", config.visibility ?? "public",
            ]
            arguments += ["--module-name", module.name, "--index", index, "--only-index"]
            let sources = targets.compactMap { $0.input == nil ? nil : $0.importPath }
            commands.append(
                .buildCommand(
                    displayName: "protogen index \(index)",
                    executable: tool.url,
                    arguments: arguments + sources,
                    inputFiles: allProtos + [configURL],
                    outputFiles: [output]
                )
            )
        }
        return commands
    }

    func protoFiles(under root: URL) -> [URL] {
        guard
            let enumerator = FileManager.default.enumerator(
                at: root,
                includingPropertiesForKeys: nil,
                options: [.skipsHiddenFiles]
            )
        else { return [] }
        var result: [URL] = []
        for case let url as URL in enumerator where url.pathExtension == "proto" { result.append(url) }
        return result.sorted { $0.path() < $1.path() }
    }

    func relativePath(of file: URL, roots: [URL]) -> String? {
        let path = file.path()
        for root in roots {
            var prefix = root.path()
            if !prefix.hasSuffix("/") { prefix += "/" }
            if path.hasPrefix(prefix) { return String(path.dropFirst(prefix.count)) }
        }
        return nil
    }
}
