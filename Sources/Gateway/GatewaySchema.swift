import MarketplaceAPI
import ProtoRuntime
import RPC
import RPCSchema

/// What the gateway serves, read from the generated schema: every service declared in the
/// marketplace's service files, with its methods (and their `(rpc.v1.access)` and
/// `(gateway.v1.http)` options) as the descriptors state them, the descriptor pool for transcoding,
/// and the HTTP routes of the methods.
struct GatewaySchema: Sendable {
    /// One service and its methods.
    struct ServedService: Sendable {
        /// The fully-qualified name (`marketplace.v1.Orders`).
        let name: String
        let methods: [MethodDescriptor]
    }

    /// The generated schema of each service file of the marketplace (the file with its imports,
    /// the file last), as the build plugin's index of `MarketplaceAPI` lists them: a service
    /// added to `Protos/marketplace` is served without a change here.
    static let serviceFiles: [[EmbeddedFileDescriptor]] = MarketplaceAPIIndex.serviceFiles

    /// Every file of the schema, each once.
    let pool: DescriptorPool
    /// The services, in the order of ``serviceFiles`` and of their declarations.
    let services: [ServedService]
    /// The routes of every method with an `(gateway.v1.http)` option.
    let routes: RouteTable

    /// Every method of every service.
    var methods: [MethodDescriptor] { services.flatMap(\.methods) }

    /// The marketplace's schema.
    /// - Throws: ``ProtoDecodingError`` if a generated descriptor does not decode.
    static func marketplace() throws -> GatewaySchema { try GatewaySchema(files: serviceFiles) }

    /// The schema of `files` (each the descriptors of one service file, that file last).
    init(files: [[EmbeddedFileDescriptor]]) throws {
        var seen: Set<String> = []
        var all: [[UInt8]] = []
        for file in files.joined() where seen.insert(file.path).inserted { all.append(file.serialized) }
        pool = try DescriptorPool(serializedFiles: all)
        var services: [ServedService] = []
        for set in files {
            guard let own = set.last else { continue }
            let file = try FileDescriptorProto(serializedBytes: own.serialized)
            for service in file.service {
                let name = [file.package ?? "", service.name ?? ""].filter { !$0.isEmpty }.joined(separator: ".")
                let methods = service.method.map { method in
                    MethodDescriptor(
                        service: name,
                        method: method.name ?? "",
                        kind: GatewaySchema.kind(method),
                        options: method.options?.serializedBytes() ?? []
                    )
                }
                services.append(ServedService(name: name, methods: methods))
            }
        }
        self.services = services
        routes = RouteTable(methods: services.flatMap(\.methods))
    }

    static func kind(_ method: MethodDescriptorProto) -> CallKind {
        switch (method.clientStreaming == true, method.serverStreaming == true) {
        case (false, false): return .unary
        case (true, false): return .clientStreaming
        case (false, true): return .serverStreaming
        case (true, true): return .bidiStreaming
        }
    }
}

extension Gateway {
    /// Every service the gateway serves (empty if the generated descriptors did not decode,
    /// which ``Gateway/init(configuration:backends:authPublicKey:registry:logger:)`` reports).
    static var services: [GatewaySchema.ServedService] { (try? GatewaySchema.marketplace().services) ?? [] }
}
