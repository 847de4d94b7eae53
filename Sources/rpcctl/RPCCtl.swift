import ArgumentParser
import EventBus
import Foundation
import ProtoRuntime
import RPC
import RPCSchema
import ServiceKit

/// `rpcctl`: a debug client for any server speaking the binary protocol, driven by reflection.
@main
struct RPCCtl: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "rpcctl",
        abstract: "Call any marketplace RPC server from the command line (schemas come from reflection).",
        discussion: """
            Exit status: 0 on success, otherwise the call's status code (3 INVALID_ARGUMENT, 5 NOT_FOUND,
            12 UNIMPLEMENTED, 14 UNAVAILABLE, ...), or 64 for a usage error.
            """,
        subcommands: [List.self, Describe.self, Call.self, HealthCheck.self, Events.self]
    )
}

/// Options every subcommand shares.
struct ConnectionOptions: ParsableArguments {
    @Argument(help: "The server, host:port (e.g. 127.0.0.1:8003).")
    var address: String

    @Option(help: "Give up after this long: 500ms, 2s, 1m.")
    var deadline: String = "10s"

    @Option(name: [.customShort("H"), .customLong("header")], help: "Request metadata 'key: value' (repeatable).")
    var headers: [String] = []

    func endpoint() throws -> Endpoint {
        guard let endpoint = Endpoint(address) else {
            throw CLIError(code: 64, message: "'\(address)' is not host:port")
        }
        return endpoint
    }

    func callOptions() throws -> CallOptions {
        guard let timeout = parseDuration(deadline) else {
            throw CLIError(code: 64, message: "--deadline '\(deadline)' is not a duration like 500ms, 2s or 1m")
        }
        var metadata = Metadata()
        for header in headers {
            guard let colon = header.firstIndex(of: ":") else {
                throw CLIError(code: 64, message: "header '\(header)' is not 'key: value'")
            }
            let key = header[..<colon].trimmingCharacters(in: .whitespaces)
            let value = header[header.index(after: colon)...].trimmingCharacters(in: .whitespaces)
            guard !key.isEmpty else { throw CLIError(code: 64, message: "header '\(header)' has no key") }
            metadata.add(key, value)
        }
        return CallOptions(timeout: timeout, metadata: metadata)
    }
}

func parseDuration(_ text: String) -> Duration? {
    let units: [(String, Double)] = [("ms", 0.001), ("us", 0.000_001), ("s", 1), ("m", 60), ("h", 3600)]
    for (suffix, scale) in units where text.hasSuffix(suffix) {
        guard let value = Double(text.dropLast(suffix.count)), value > 0, value.isFinite, value * scale < 86_400 * 365
        else {
            return nil
        }
        return .nanoseconds(Int64(value * scale * 1e9))
    }
    return nil
}

struct CLIError: Error, CustomStringConvertible {
    var code: Int32
    var message: String
    var description: String { message }
}

/// Runs `body`, turning errors into a message on stderr and the documented exit code.
func runReporting(_ body: () async throws -> Void) async throws {
    do {
        try await body()
    } catch let error as CLIError {
        FileHandle.standardError.write(Data("rpcctl: \(error.message)\n".utf8))
        throw ExitCode(error.code)
    } catch let error as RPCError {
        var hint = ""
        if error.code == .unauthenticated {
            hint = " (the credential was refused: an expired or foreign token, or the wrong key file)"
        }
        if error.code == .permissionDenied {
            hint = " (the credential is valid, but its identity lacks this permission)"
        }
        FileHandle.standardError.write(Data("rpcctl: \(error.code.name): \(error.message)\(hint)\n".utf8))
        throw ExitCode(error.code.rawValue)
    } catch let error as JSONDecodingError {
        FileHandle.standardError.write(Data("rpcctl: the request JSON does not fit the message: \(error)\n".utf8))
        throw ExitCode(RPCCode.invalidArgument.rawValue)
    }
}

/// Loads the schema of `symbol` from the server's reflection service.
func pool(for symbol: String, client: RPCClient, options: CallOptions) async throws -> (
    DescriptorPool, DescribeResponse
) {
    let reflection = Reflection.Client(client)
    let described: DescribeResponse
    do {
        described = try await reflection.describe(DescribeRequest(symbol: symbol), options: options)
    } catch let error as RPCError where error.code == .notFound {
        throw CLIError(code: RPCCode.notFound.rawValue, message: "the server does not know '\(symbol)'")
    } catch let error as RPCError where error.code == .unimplemented {
        throw CLIError(code: RPCCode.unimplemented.rawValue, message: "the server does not answer reflection")
    }
    return (try DescriptorPool(serializedFiles: described.fileDescriptors), described)
}
