import ArgumentParser
import Foundation
import Gateway

extension Marketplace {
    /// The gateway's OpenAPI document, from the schema.
    struct OpenAPICommand: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "openapi",
            abstract: "Print (or write) the gateway's OpenAPI document, generated from the schema."
        )

        @Option(help: "Write it to this file instead of standard output.")
        var out: String?

        mutating func run() throws {
            let document = try Gateway.openAPIDocument()
            if let out {
                try Data(document).write(to: URL(fileURLWithPath: out))
            } else {
                FileHandle.standardOutput.write(Data(document))
            }
        }
    }
}
