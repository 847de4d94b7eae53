import ArgumentParser
import EventBus
import Foundation
import ProtoRuntime
import RPC
import RPCSchema
import ServiceKit

struct List: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "List the services of a server, or the methods of one.")

    @OptionGroup var connection: ConnectionOptions

    @Argument(help: "A service to list the methods of.")
    var service: String?

    func run() async throws {
        try await runReporting {
            let client = RPCClient(endpoints: [try connection.endpoint()])
            defer { Task { await client.close() } }
            let options = try connection.callOptions()
            if let service {
                let (pool, _) = try await pool(for: service, client: client, options: options)
                for method in pool.services[service] ?? [] { print("\(service)/\(method.name)") }
            } else {
                for name in try await Reflection.Client(client).listServices(ListServicesRequest(), options: options)
                    .services
                {
                    print(name)
                }
            }
        }
    }
}
