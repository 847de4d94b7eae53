import ArgumentParser
import EventBus
import Foundation
import ProtoRuntime
import RPC
import RPCSchema
import ServiceKit

struct HealthCheck: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "health",
        abstract: "Check a server's (or a service's) health."
    )

    @OptionGroup var connection: ConnectionOptions

    @Argument(help: "A service name; the whole server if omitted.")
    var service: String = ""

    func run() async throws {
        try await runReporting {
            let client = RPCClient(endpoints: [try connection.endpoint()])
            defer { Task { await client.close() } }
            let response = try await Health.Client(client).check(
                HealthCheckRequest(service: service),
                options: try connection.callOptions()
            )
            print(response.status.protoName ?? "\(response.status.protoValue)")
            if response.status != .serving { throw ExitCode(1) }
        }
    }
}

// MARK: Events
