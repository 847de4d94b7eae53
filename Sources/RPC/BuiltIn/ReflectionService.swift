import ProtoRuntime
import RPCSchema

/// `rpc.v1.Reflection`, on every server: the hosted services and their schemas, from the
/// descriptors the generated code embeds.
struct ReflectionService: Reflection.Handler {
    /// Service name → the files needed to describe it (its file last).
    let services: [String: [EmbeddedFileDescriptor]]
    /// Every file known, by path.
    let files: [String: EmbeddedFileDescriptor]
    /// Symbol → (kind, file path).
    let symbols: [String: (kind: String, file: String)]

    /// - Parameter describing: more files whose symbols it describes (no services of their own).
    init(hosted: [any RPCService], describing: [EmbeddedFileDescriptor] = []) {
        var services: [String: [EmbeddedFileDescriptor]] = [:]
        var files: [String: EmbeddedFileDescriptor] = [:]
        var symbols: [String: (kind: String, file: String)] = [:]
        var all = hosted.map { ($0.serviceName, $0.fileDescriptors) }
        all.append((Health.serviceName, Health.files))
        all.append((Reflection.serviceName, Reflection.files))
        for (name, descriptors) in all {
            services[name] = descriptors
            for file in descriptors {
                files[file.path] = file
                guard let parsed = try? FileDescriptorSummary(serialized: file.serialized) else { continue }
                for (symbol, kind) in parsed.symbols { symbols[symbol] = (kind, file.path) }
            }
        }
        for file in describing where files[file.path] == nil {
            files[file.path] = file
            guard let parsed = try? FileDescriptorSummary(serialized: file.serialized) else { continue }
            for (symbol, kind) in parsed.symbols where symbols[symbol] == nil { symbols[symbol] = (kind, file.path) }
        }
        self.services = services
        self.files = files
        self.symbols = symbols
    }

    func listServices(_ request: ListServicesRequest, context: ServerContext) async throws -> ListServicesResponse {
        ListServicesResponse(services: services.keys.sorted())
    }

    func describe(_ request: DescribeRequest, context: ServerContext) async throws -> DescribeResponse {
        guard let (kind, path) = symbols[request.symbol] else {
            throw RPCError(code: .notFound, message: "unknown symbol '\(request.symbol)'")
        }
        return DescribeResponse(kind: kind, file: path, fileDescriptors: closure(of: path).map(\.serialized))
    }

    /// The file and its imports, imports first.
    func closure(of path: String) -> [EmbeddedFileDescriptor] {
        var ordered: [EmbeddedFileDescriptor] = []
        var seen: Set<String> = []
        func visit(_ path: String) {
            guard seen.insert(path).inserted, let file = files[path] else { return }
            for dependency in file.dependencies { visit(dependency) }
            ordered.append(file)
        }
        visit(path)
        return ordered
    }
}

/// The names a `FileDescriptorProto` defines: services, methods (`Service.Method`) and messages.
struct FileDescriptorSummary {
    var symbols: [(String, String)] = []

    init(serialized: [UInt8]) throws {
        let file = try FileDescriptorProto(serializedBytes: serialized)
        let package = file.package ?? ""
        func qualified(_ name: String, _ scope: String) -> String { scope.isEmpty ? name : scope + "." + name }
        func visit(_ message: DescriptorProto, scope: String) {
            let name = qualified(message.name ?? "", scope)
            symbols.append((name, "message"))
            for nested in message.nestedType { visit(nested, scope: name) }
        }
        for message in file.messageType { visit(message, scope: package) }
        for service in file.service {
            let name = qualified(service.name ?? "", package)
            symbols.append((name, "service"))
            for method in service.method { symbols.append((name + "." + (method.name ?? ""), "method")) }
        }
    }
}
