import ArgumentParser
import EventBus
import Foundation
import Logging
import ProtoCompiler
import RPC
import ServiceLifecycle
import UnixSignals

/// `marketplace`: runs the system, or one part of it.
@main
struct Marketplace: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "marketplace",
        abstract: "The home-services marketplace.",
        subcommands: [Run.self, Serve.self, Schema.self],
        defaultSubcommand: Run.self)

    /// Where data lives: `--data-dir`, else `MARKETPLACE_DATA_DIR`, else `./data`.
    struct DataOptions: ParsableArguments {
        @Option(help: "Directory for the SQLite files (default: $MARKETPLACE_DATA_DIR or ./data).")
        var dataDir: String?

        var resolved: String { dataDir ?? ProcessInfo.processInfo.environment["MARKETPLACE_DATA_DIR"] ?? "./data" }
    }

    /// The bus's topology: `--bus-topology FILE`, else `MARKETPLACE_BUS_TOPOLOGY`, else the embedded one.
    struct BusOptions: ParsableArguments {
        @Option(help: "A JSON file with the exchanges, queues and bindings the bus declares at start (default: $MARKETPLACE_BUS_TOPOLOGY or the embedded topology).")
        var busTopology: String?

        func topology() throws -> BusTopology {
            guard let path = busTopology ?? ProcessInfo.processInfo.environment["MARKETPLACE_BUS_TOPOLOGY"] else { return .standard }
            do { return try BusTopology.load(path: path) } catch let error as BusTopologyError {
                throw ValidationError(error.message)
            }
        }
    }

    /// Everything that exists so far, on its ports, until Ctrl-C / SIGTERM.
    struct Run: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Start everything built so far (today: the event bus on 8007) and print the schema summary.")

        @OptionGroup var data: DataOptions
        @OptionGroup var bus: BusOptions

        @Option(help: "The event bus port.")
        var busPort = 8007

        @Option(help: "The address to listen on.")
        var host = "127.0.0.1"

        mutating func run() async throws {
            try Schema.printSummary(protoPath: "Protos")
            let logger = Logger(label: "marketplace")
            let bus = try await EventBusServer.make(
                dataDirectory: data.resolved, configuration: ServerConfiguration(host: host, port: busPort),
                topology: try self.bus.topology(), logger: logger)
            print("")
            print("event bus   rpc://\(host):\(busPort)   (data in \(data.resolved)/bus.sqlite)")
            print("The services (auth, users, orders, payments, reviews, notifications) and the gateway are not built")
            print("yet. Try: rpcctl list \(host):\(busPort)   ·   rpcctl call \(host):\(busPort) rpc.v1.Broker/Inspect")
            print("Ctrl-C stops.")
            let group = ServiceGroup(
                configuration: .init(services: [bus], gracefulShutdownSignals: [.sigterm, .sigint], logger: logger))
            try await group.run()
        }
    }

    /// One part of the system alone.
    struct Serve: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Run one service alone: bus.")

        @Argument(help: "The service to run: bus.")
        var service: String

        @Option(help: "The port (bus: 8007).")
        var port: Int?

        @Option(help: "The address to listen on.")
        var host = "127.0.0.1"

        @OptionGroup var data: DataOptions
        @OptionGroup var bus: BusOptions

        mutating func run() async throws {
            guard service == "bus" else {
                throw ValidationError("unknown service '\(service)'; available: bus (the others are not built yet)")
            }
            let logger = Logger(label: "bus")
            let bus = try await EventBusServer.make(
                dataDirectory: data.resolved, configuration: ServerConfiguration(host: host, port: port ?? 8007),
                topology: try self.bus.topology(), logger: logger)
            let group = ServiceGroup(
                configuration: .init(services: [bus], gracefulShutdownSignals: [.sigterm, .sigint], logger: logger))
            try await group.run()
        }
    }

    struct Schema: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Compile the schemas in Protos/ and print a summary of their messages, enums and services.")

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
