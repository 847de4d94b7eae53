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

struct Events: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Watch, publish and inspect events on the event bus.",
        subcommands: [Tail.self, Publish.self, Queues.self]
    )

    /// Where the bus is and who we are to it: every bus call needs a credential.
    struct BusOptions: ParsableArguments {
        @Option(help: "The event bus, host:port.")
        var bus: String = ProcessInfo.processInfo.environment["MARKETPLACE_BUS"] ?? "127.0.0.1:8007"

        @Option(help: "An admin's access token (default: $RPCCTL_TOKEN).")
        var token: String?

        @Option(
            help:
                "On the bus machine: the service key file (<data-dir>/keys/service-ed25519.key); calls are made as the operator, or as --as."
        )
        var keyFile: String?

        @Option(
            name: .customLong("as"),
            help:
                "With --key-file: the service to act as (default: operator, who may do everything; consumers accept an event only from its exchange's owner, e.g. payments for payment_events)."
        )
        var service = "operator"

        func client() throws -> Broker.Client {
            guard let endpoint = Endpoint(bus) else { throw CLIError(code: 64, message: "'\(bus)' is not host:port") }
            let interceptor: any ClientInterceptor
            if let keyFile {
                guard !service.isEmpty, service.utf8.count <= 64 else {
                    throw CLIError(code: 64, message: "--as needs a service name")
                }
                do {
                    interceptor = ServiceIdentity(name: service, key: try KeyFile.load(path: keyFile)).interceptor
                } catch {
                    throw CLIError(code: 64, message: "--key-file: \(error)")
                }
            } else if let token = token ?? ProcessInfo.processInfo.environment["RPCCTL_TOKEN"], !token.isEmpty {
                interceptor = BearerToken(token: token)
            } else {
                throw CLIError(
                    code: 64,
                    message:
                        "the event bus needs a credential: --token <an admin's access token> (or $RPCCTL_TOKEN), or --key-file <data-dir>/keys/service-ed25519.key on the bus machine"
                )
            }
            return Broker.Client(RPCClient(endpoints: [endpoint], interceptors: [interceptor]))
        }
    }

    /// Adds `authorization: Bearer <token>` to every call.
    struct BearerToken: ClientInterceptor {
        let token: String

        func intercept(
            method: MethodDescriptor,
            options: CallOptions,
            next: @Sendable (CallOptions) async throws -> Void
        ) async throws {
            var options = options
            options.metadata.add(MetadataKeys.authorization, "Bearer \(token)")
            try await next(options)
        }
    }

    struct Tail: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Print every event whose routing key matches PATTERN, as JSON lines, until Ctrl-C.",
            discussion: """
                A temporary queue is bound with the pattern on each exchange and deleted when tail exits. Each payload is \
                printed as JSON, decoded by its type: from --descriptor-set when given, else from the bus's reflection \
                (a payload of a type neither knows: as JSON when it is JSON text, else base64). Each line is written as \
                it arrives, into a terminal, a pipe or a file.
                """
        )

        @Argument(help: "A topic pattern: '*' is one word, '#' zero or more (default '#').")
        var pattern = "#"

        @Option(name: .customLong("exchange"), help: "Only this exchange (repeatable; default: all of them).")
        var exchanges: [String] = []

        @OptionGroup var options: BusOptions

        @Option(help: "Stop after this many events (0: never).")
        var count = 0

        @Option(
            help:
                "A FileDescriptorSet (protoc's --descriptor_set_out with imports, e.g. Generated/descriptors.binpb) that describes the payload types."
        )
        var descriptorSet: String?

        func run() async throws {
            try await runReporting {
                let bus = try options.client()
                var decoder = try PayloadDecoder(
                    descriptorSet: descriptorSet,
                    reflection: Reflection.Client(bus.client)
                )
                let queue = "tail.\(UUID().uuidString.prefix(8).lowercased())"
                _ = try await bus.declareQueue(DeclareQueueRequest(name: queue, autoDelete: true))
                var targets = exchanges
                if targets.isEmpty { targets = try await bus.inspect(InspectRequest()).exchanges.map(\.name) }
                for exchange in targets {
                    _ = try await bus.bind(BindRequest(queue: queue, exchange: exchange, pattern: pattern))
                }
                try await bus.subscribe { writer, deliveries in
                    try await writer.write(SubscribeRequest(kind: .subscribe(.init(queue: queue, prefetch: 100))))
                    var seen = 0
                    for try await delivery in deliveries {
                        let event = delivery.event ?? Event()
                        let payload = await decoder.json(event.payload, type: event.type)
                        // Line by line, even when standard output is a pipe or a file (`tail … | grep`).
                        print(Events.json(delivery, payload: payload))
                        fflush(nil)
                        try await writer.write(
                            SubscribeRequest(kind: .ack(.init(deliveryTags: [delivery.deliveryTag])))
                        )
                        seen += 1
                        if count > 0, seen >= count { break }
                    }
                    writer.finish()
                }
            }
        }
    }

    /// Decodes event payloads to JSON by their type, with schemas from a descriptor set or from
    /// the bus's reflection (asked once per type).
    struct PayloadDecoder {
        var pool: DescriptorPool
        let reflection: Reflection.Client?
        /// Types reflection was asked about (whether it knew them or not).
        var asked: Set<String> = []

        /// - Throws: ``CLIError`` for a descriptor set that cannot be read or decoded.
        init(descriptorSet path: String?, reflection: Reflection.Client) throws {
            guard let path else {
                (pool, self.reflection) = (DescriptorPool(), reflection)
                return
            }
            guard let data = FileManager.default.contents(atPath: path) else {
                throw CLIError(code: 64, message: "--descriptor-set: cannot read '\(path)'")
            }
            do {
                pool = try DescriptorPool(serializedFiles: try PayloadDecoder.files(ofSet: [UInt8](data)))
            } catch {
                throw CLIError(code: 64, message: "--descriptor-set: '\(path)' is not a FileDescriptorSet (\(error))")
            }
            self.reflection = nil
        }

        /// The `FileDescriptorProto`s of a serialized `FileDescriptorSet` (field 1, repeated).
        static func files(ofSet bytes: [UInt8]) throws -> [[UInt8]] {
            try bytes.withUnsafeBytes { buffer in
                var reader = WireReader(bytes: buffer)
                var files: [[UInt8]] = []
                while let tag = try reader.nextTag() {
                    if tag == (1 << 3 | 2) { files.append(try reader.readBytes()) } else { try reader.skipField() }
                }
                return files
            }
        }

        /// The payload as JSON: decoded by `type` when a schema describes it, else the payload
        /// itself when it is JSON text; nil otherwise (the caller writes base64).
        mutating func json(_ payload: [UInt8], type: String) async -> JSONValue? {
            if pool.messages[type] == nil, let reflection, asked.insert(type).inserted, !type.isEmpty,
                !type.contains("/")
            {
                if let described = try? await reflection.describe(
                    DescribeRequest(symbol: type),
                    options: CallOptions(timeout: .seconds(5))
                ) {
                    for file in described.fileDescriptors { try? pool.add(serializedFile: file) }
                }
            }
            if pool.messages[type] != nil,
                let text = try? DynamicCodec(pool: pool).json(
                    from: payload,
                    as: type,
                    options: JSONEncodingOptions(emitDefaults: true)
                ),
                let value = try? JSONValue.parse(text)
            {
                return value
            }
            return try? JSONValue.parse(payload)
        }
    }

    struct Publish: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract:
                "Publish one event; the payload is the JSON given (type application/json) unless --type says otherwise."
        )

        @Argument(help: "The exchange, e.g. order_events.")
        var exchange: String

        @Argument(help: "The routing key, e.g. order.created.")
        var routingKey: String

        @Option(name: [.customShort("d"), .customLong("data")], help: "The payload: JSON text, or @file.")
        var data: String = "{}"

        @Option(help: "The payload's type name.")
        var type = "application/json"

        @OptionGroup var options: BusOptions

        func run() async throws {
            try await runReporting {
                let bus = try options.client()
                var payload = Array(data.utf8)
                if data.hasPrefix("@") {
                    guard let contents = FileManager.default.contents(atPath: String(data.dropFirst())) else {
                        throw CLIError(code: 64, message: "cannot read \(data.dropFirst())")
                    }
                    payload = [UInt8](contents)
                }
                let id = UUID().uuidString.lowercased()
                let response = try await bus.publish(
                    PublishRequest(events: [
                        Event(
                            id: id,
                            exchange: exchange,
                            routingKey: routingKey,
                            type: type,
                            payload: payload,
                            publishedAt: ProtoTimestamp(seconds: Int64(Date().timeIntervalSince1970))
                        )
                    ])
                )
                print(
                    response.unroutable == 0
                        ? "published \(id)" : "published \(id) (no queue is bound to it: unroutable)"
                )
            }
        }
    }

    struct Queues: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "List queues: depth, age of the oldest waiting event, unacked, consumers, dead-lettered, limits."
        )

        @OptionGroup var options: BusOptions

        func run() async throws {
            try await runReporting {
                let inspected = try await options.client().inspect(InspectRequest())
                let widths = [40, 7, 10, 7, 9, 6, 17]
                func row(_ cells: [String], _ rest: String) -> String {
                    zip(cells, widths).map { $0.padding(toLength: max($1, $0.count), withPad: " ", startingAt: 0) }
                        .joined(separator: "  ")
                        + "  " + rest
                }
                print(row(["QUEUE", "DEPTH", "OLDEST", "UNACKED", "CONSUMERS", "DEAD", "LIMITS"], "BINDINGS"))
                for q in inspected.queues {
                    var limits: [String] = []
                    if q.maxLength > 0 { limits.append("max \(q.maxLength)") }
                    if q.messageTtlMs > 0 { limits.append("ttl \(Events.age(UInt64(q.messageTtlMs)))") }
                    let cells = [
                        q.name, String(q.depth), q.depth == 0 ? "-" : Events.age(q.oldestAgeMs), String(q.unacked),
                        String(q.consumers),
                        String(q.deadLettered), limits.isEmpty ? "-" : limits.joined(separator: ","),
                    ]
                    print(row(cells, q.bindings.joined(separator: ", ")))
                }
                print("unroutable events: \(inspected.unroutable)")
            }
        }
    }

    /// A duration in milliseconds, short: 850ms, 12s, 5m, 3h, 2d.
    static func age(_ milliseconds: UInt64) -> String {
        switch milliseconds {
        case ..<1000: return "\(milliseconds)ms"
        case ..<120_000: return "\(milliseconds / 1000)s"
        case ..<7_200_000: return "\(milliseconds / 60_000)m"
        case ..<172_800_000: return "\(milliseconds / 3_600_000)h"
        default: return "\(milliseconds / 86_400_000)d"
        }
    }

    /// Writes a parsed JSON value compactly (one line).
    static func write(_ value: JSONValue, to writer: inout JSONWriter) { value.write(to: &writer) }

    /// One delivery as a JSON line: routing key, exchange, id, time, type, publisher, payload (as
    /// JSON when `payload` is given, else base64), delivery count.
    static func json(_ delivery: Delivery, payload: JSONValue?) -> String {
        var writer = JSONWriter()
        writer.beginObject()
        let event = delivery.event ?? Event()
        writer.writeKey("routingKey")
        writer.writeString(event.routingKey)
        writer.writeKey("exchange")
        writer.writeString(event.exchange)
        writer.writeKey("id")
        writer.writeString(event.id)
        writer.writeKey("time")
        writer.writeString((event.publishedAt ?? ProtoTimestamp()).rfc3339)
        writer.writeKey("type")
        writer.writeString(event.type)
        writer.writeKey("publisher")
        writer.writeString(event.publisher)
        writer.writeKey("payload")
        if let payload {
            write(payload, to: &writer)
        } else {
            writer.writeBytes(event.payload)
        }
        writer.writeKey("deliveryCount")
        writer.writeUInt32(delivery.deliveryCount)
        writer.endObject()
        return String(decoding: writer.bytes, as: UTF8.self)
    }
}
