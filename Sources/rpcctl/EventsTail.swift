import ArgumentParser
import EventBus
import Foundation
import ProtoRuntime
import RPC
import RPCSchema

extension Events {
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
        /// Types reflection answered about (whether it knew them or not); a type whose question got no
        /// answer is asked again.
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
            if pool.messages[type] == nil, let reflection, !asked.contains(type), !type.isEmpty, !type.contains("/") {
                do {
                    let described = try await reflection.describe(
                        DescribeRequest(symbol: type),
                        options: CallOptions(timeout: .seconds(5))
                    )
                    for file in described.fileDescriptors { try? pool.add(serializedFile: file) }
                    asked.insert(type)
                } catch let error as RPCError where error.code == .notFound {
                    asked.insert(type)  // an answer: the bus does not know the type; not asked again
                } catch {
                    // No answer (a timeout, a lost connection): asked again with the next event of the type.
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
