import ArgumentParser
import EventBus
import Foundation
import ProtoRuntime
import RPC
import RPCSchema
import ServiceKit

struct Describe: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Describe a service, method or message.")

    @OptionGroup var connection: ConnectionOptions

    @Argument(
        help: "A service (pkg.Service), method (pkg.Service/Method or pkg.Service.Method) or message (pkg.Message)."
    )
    var symbol: String

    func run() async throws {
        try await runReporting {
            let client = RPCClient(endpoints: [try connection.endpoint()])
            defer { Task { await client.close() } }
            let symbol = self.symbol.replacingOccurrences(of: "/", with: ".")
            let (pool, described) = try await pool(for: symbol, client: client, options: try connection.callOptions())
            print("\(described.kind) \(symbol) (\(described.file))")
            switch described.kind {
            case "service":
                for m in pool.services[symbol] ?? [] { print("  " + signature(m)) }
            case "method":
                if let m = pool.methods.values.first(where: { "\($0.service).\($0.name)" == symbol }) {
                    print("  " + signature(m))
                }
            default:
                for field in pool.messages[symbol]?.fields ?? [] {
                    print(
                        "  \(field.isRepeated ? "repeated " : "")\(kindName(field.kind)) \(field.name) = \(field.number);"
                    )
                }
            }
        }
    }

    func signature(_ m: DescriptorPool.MethodInfo) -> String {
        "rpc \(m.name)(\(m.clientStreaming ? "stream " : "")\(m.inputType)) returns (\(m.serverStreaming ? "stream " : "")\(m.outputType))"
    }

    func kindName(_ kind: DescriptorPool.FieldKind) -> String {
        switch kind {
        case .enumeration(let name), .message(let name): return name
        default: return "\(kind)"
        }
    }
}
