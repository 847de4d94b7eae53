import ArgumentParser
import EventBus
import Foundation
import ProtoRuntime
import RPC
import RPCSchema
import ServiceKit

struct Call: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Call a method with JSON; print the response(s) as JSON (server streams as NDJSON)."
    )

    @OptionGroup var connection: ConnectionOptions

    @Argument(help: "pkg.Service/Method")
    var method: String

    @Option(
        name: [.customShort("d"), .customLong("data")],
        help: "The request: JSON, @file, or @- for stdin (NDJSON for client streams)."
    )
    var data: String = "{}"

    @Flag(name: .shortAndLong, help: "Print metadata, trailers and timing on stderr.")
    var verbose = false

    func run() async throws {
        try await runReporting {
            let path = method.hasPrefix("/") ? String(method.dropFirst()) : method
            guard let slash = path.lastIndex(of: "/") else {
                throw CLIError(code: 64, message: "'\(method)' is not pkg.Service/Method")
            }
            let service = String(path[..<slash])
            let client = RPCClient(endpoints: [try connection.endpoint()])
            defer { Task { await client.close() } }
            let options = try connection.callOptions()
            let (pool, _) = try await pool(for: service, client: client, options: options)
            guard let info = pool.methods[path] else {
                throw CLIError(
                    code: RPCCode.unimplemented.rawValue,
                    message: "'\(service)' has no method '\(path[path.index(after: slash)...])'"
                )
            }
            let codec = DynamicCodec(pool: pool)
            let kind: CallKind =
                info.clientStreaming
                ? (info.serverStreaming ? .bidiStreaming : .clientStreaming)
                : (info.serverStreaming ? .serverStreaming : .unary)
            let descriptor = MethodDescriptor(service: service, method: info.name, kind: kind)
            let input = try readInput()
            let requests: [RawMessage]
            if kind.clientStreams {
                requests = try input.split(separator: UInt8(ascii: "\n")).filter {
                    !$0.allSatisfy { $0 == 32 || $0 == 13 }
                }
                .map { RawMessage(bytes: try codec.encode(json: Array($0), as: info.inputType)) }
            } else {
                requests = [RawMessage(bytes: try codec.encode(json: input, as: info.inputType))]
            }
            let jsonOptions = JSONEncodingOptions(emitDefaults: true)
            func show(_ message: RawMessage) throws {
                print(
                    String(
                        decoding: try codec.json(from: message.bytes, as: info.outputType, options: jsonOptions),
                        as: UTF8.self
                    )
                )
            }
            let start = ContinuousClock.now
            if verbose { report("request metadata", options.metadata) }
            switch kind {
            case .unary:
                let response = try await client.unary(
                    descriptor,
                    request: requests[0],
                    responseType: RawMessage.self,
                    options: options
                )
                if verbose { report("response metadata", response.metadata) }
                try show(response.message)
                if verbose { report("trailers", response.trailers) }
            case .serverStreaming:
                let stream = try await client.serverStreaming(
                    descriptor,
                    request: requests[0],
                    responseType: RawMessage.self,
                    options: options
                )
                for try await message in stream { try show(message) }
                if verbose { report("trailers", stream.trailers) }
            case .clientStreaming:
                let response = try await client.clientStreaming(
                    descriptor,
                    requestType: RawMessage.self,
                    responseType: RawMessage.self,
                    options: options
                ) { writer in
                    for request in requests { try await writer.write(request) }
                }
                try show(response.message)
                if verbose { report("trailers", response.trailers) }
            case .bidiStreaming:
                try await client.bidiStreaming(
                    descriptor,
                    requestType: RawMessage.self,
                    responseType: RawMessage.self,
                    options: options
                ) { writer, responses in
                    for request in requests { try await writer.write(request) }
                    writer.finish()
                    for try await message in responses { try show(message) }
                }
            }
            if verbose {
                FileHandle.standardError.write(Data("time: \(ContinuousClock.now - start)\nstatus: OK\n".utf8))
            }
        }
    }

    func report(_ title: String, _ metadata: Metadata) {
        var text = "\(title):\n"
        for entry in metadata { text += "  \(entry.key): \(entry.value)\n" }
        FileHandle.standardError.write(Data(text.utf8))
    }

    func readInput() throws -> [UInt8] {
        if data == "@-" { return [UInt8](FileHandle.standardInput.readDataToEndOfFile()) }
        if data.hasPrefix("@") {
            guard let contents = FileManager.default.contents(atPath: String(data.dropFirst())) else {
                throw CLIError(code: 64, message: "cannot read \(data.dropFirst())")
            }
            return [UInt8](contents)
        }
        return Array(data.utf8)
    }
}
