import ArgumentParser

/// `marketplace`: runs the system, or one part of it.
@main
struct Marketplace: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "marketplace",
        abstract: "The home-services marketplace.",
        subcommands: [Run.self, Serve.self, Admin.self, Schema.self, OpenAPICommand.self],
        defaultSubcommand: Run.self
    )
}
