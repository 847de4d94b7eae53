import ArgumentParser
import AuthService
import Foundation
import MarketplaceAPI
import RPC

extension Marketplace {
    /// Administration on the server machine.
    struct Admin: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Administer accounts directly in the data directory.",
            subcommands: [Create.self]
        )

        struct Create: AsyncParsableCommand {
            static let configuration = CommandConfiguration(
                abstract: "Create an admin account (the only way besides an admin's RegisterAdmin call)."
            )

            @Option(help: "3-50 characters of letters, digits, '_', '.', '-'.")
            var username: String

            @Option(help: "The admin's e-mail address.")
            var email: String

            @Flag(help: "Read the password from standard input (one line) instead of --password.")
            var passwordStdin = false

            @Option(help: "8-128 characters (prefer --password-stdin: arguments show in process lists).")
            var password: String?

            @OptionGroup var data: DataOptions

            mutating func run() async throws {
                var secret = password
                if passwordStdin { secret = readLine(strippingNewline: true) }
                guard let secret, !secret.isEmpty else {
                    throw ValidationError("give the password with --password or --password-stdin")
                }
                do {
                    let user = try await AuthService.createAdmin(
                        dataDirectory: data.resolved,
                        username: username,
                        email: email,
                        password: secret
                    )
                    print("admin \(user.username) <\(user.email)> created with id \(user.id)")
                } catch let error as RPCError {
                    throw ValidationError(error.message)
                }
            }
        }
    }
}
