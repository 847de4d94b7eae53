/// Emits, per service: a namespace with method descriptors (options included), a handler
/// protocol with one `async throws` method per RPC, its registration as server methods, and a
/// typed client.
public struct ServiceEmitter: SwiftEmitter {
    /// The module providing the RPC runtime types.
    public var rpcModule: String

    public init(rpcModule: String = "RPC") { self.rpcModule = rpcModule }

    public func declarations(for file: ProtoFile, context: SwiftEmitContext) -> [SwiftDecl] {
        file.services.flatMap { service -> [SwiftDecl] in
            [.type(namespace(service, file: file, context: context)), .type(registration(service, context: context))]
        }
    }

    static func methodName(_ name: String) -> String {
        guard let first = name.first else { return name }
        var result = first.lowercased() + name.dropFirst()
        // GetHTTPThing -> getHTTPThing is fine; a leading acronym lowercases only its first letter.
        if result == "init" { result = "init_" }
        return SwiftNaming.escaped(result)
    }

    static func kind(_ m: Method) -> String {
        switch (m.clientStreaming, m.serverStreaming) {
        case (false, false): return "unary"
        case (true, false): return "clientStreaming"
        case (false, true): return "serverStreaming"
        case (true, true): return "bidiStreaming"
        }
    }

    func namespace(_ service: Service, file: ProtoFile, context: SwiftEmitContext) -> SwiftTypeDecl {
        let a = context.access
        let r = rpcModule + "."
        var methodMembers: [SwiftDecl] = []
        for m in service.methods {
            let optionBytes = DescriptorEmitter.options(m.options)
            let bytes = optionBytes.map { "0x" + String($0, radix: 16, uppercase: true) }.joined(separator: ", ")
            // The options as the schema writes them (the access rule, the HTTP route), then their bytes.
            var doc = MessageEmitter.docLines(m.doc, deprecated: m.isDeprecated)
            let options = OptionText.lines(m.options)
            if !options.isEmpty {
                if !doc.isEmpty { doc.append("") }
                doc += options.map { "- `\($0)`" }
            }
            methodMembers.append(
                .line(
                    doc: doc,
                    text:
                        "\(a)static let \(ServiceEmitter.methodName(m.name)) = \(r)MethodDescriptor(service: \(SwiftNaming.literal(service.fullName)), method: \(SwiftNaming.literal(m.name)), kind: .\(ServiceEmitter.kind(m)), options: [\(bytes)])"
                )
            )
        }
        methodMembers.append(.blank)
        methodMembers.append(
            .line(
                doc: ["Every method of the service, in schema order."],
                text:
                    "\(a)static let all: [\(r)MethodDescriptor] = [\(service.methods.map { ServiceEmitter.methodName($0.name) }.joined(separator: ", "))]"
            )
        )

        var handlerMembers: [SwiftDecl] = []
        var clientMembers: [SwiftDecl] = [
            .line(doc: ["The connection pool the calls go through."], text: "\(a)let client: \(r)RPCClient"),
            .blank,
            .function(
                doc: ["A client calling through `client`."],
                signature: "\(a)init(_ client: \(r)RPCClient)",
                body: [.line("self.client = client")]
            ),
        ]
        for m in service.methods {
            let name = ServiceEmitter.methodName(m.name)
            let input = context.swiftTypeName(m.inputType)
            let output = context.swiftTypeName(m.outputType)
            let doc = MessageEmitter.docLines(m.doc, deprecated: m.isDeprecated)
            let method = "Method.\(name)"
            let handlerSignature: String
            let clientDecl: SwiftDecl
            switch (m.clientStreaming, m.serverStreaming) {
            case (false, false):
                handlerSignature =
                    "func \(name)(_ request: \(input), context: \(r)ServerContext) async throws -> \(output)"
                clientDecl = .function(
                    doc: doc,
                    signature:
                        "\(a)func \(name)(_ request: \(input), options: \(r)CallOptions = .init()) async throws -> \(output)",
                    body: [
                        .line(
                            "try await client.unary(\(method), request: request, responseType: \(output).self, options: options).message"
                        )
                    ]
                )
            case (false, true):
                handlerSignature =
                    "func \(name)(_ request: \(input), writer: \(r)ResponseWriter<\(output)>, context: \(r)ServerContext) async throws"
                clientDecl = .function(
                    doc: doc,
                    signature:
                        "\(a)func \(name)(_ request: \(input), options: \(r)CallOptions = .init()) async throws -> \(r)ResponseStream<\(output)>",
                    body: [
                        .line(
                            "try await client.serverStreaming(\(method), request: request, responseType: \(output).self, options: options)"
                        )
                    ]
                )
            case (true, false):
                handlerSignature =
                    "func \(name)(_ requests: \(r)RequestStream<\(input)>, context: \(r)ServerContext) async throws -> \(output)"
                clientDecl = .function(
                    doc: doc,
                    signature:
                        "\(a)func \(name)(options: \(r)CallOptions = .init(), requests: (\(r)RequestWriter<\(input)>) async throws -> Void) async throws -> \(output)",
                    body: [
                        .line(
                            "try await client.clientStreaming(\(method), requestType: \(input).self, responseType: \(output).self, options: options, requests: requests).message"
                        )
                    ]
                )
            case (true, true):
                handlerSignature =
                    "func \(name)(_ requests: \(r)RequestStream<\(input)>, writer: \(r)ResponseWriter<\(output)>, context: \(r)ServerContext) async throws"
                clientDecl = .function(
                    doc: doc,
                    signature:
                        "\(a)func \(name)<Result: Sendable>(options: \(r)CallOptions = .init(), body: (\(r)RequestWriter<\(input)>, \(r)ResponseStream<\(output)>) async throws -> Result) async throws -> Result",
                    body: [
                        .line(
                            "try await client.bidiStreaming(\(method), requestType: \(input).self, responseType: \(output).self, options: options, body: body)"
                        )
                    ]
                )
            }
            handlerMembers.append(.line(doc: doc, text: handlerSignature))
            clientMembers.append(.blank)
            clientMembers.append(clientDecl)
        }
        let fileNamespace = SwiftNaming.fileNamespace(file.path)
        return SwiftTypeDecl(
            doc: MessageEmitter.docLines(service.doc, deprecated: service.isDeprecated),
            header: "\(a)enum \(SwiftNaming.typeName(service.name))",
            members: [
                .line(
                    doc: ["The fully-qualified service name."],
                    text: "\(a)static let serviceName = \(SwiftNaming.literal(service.fullName))"
                ),
                .line(
                    doc: ["The schema of the service's file and everything it imports, imports first."],
                    text: "\(a)static let files = \(fileNamespace).files"
                ),
                .blank,
                .type(
                    SwiftTypeDecl(doc: ["The service's methods."], header: "\(a)enum Method", members: methodMembers)
                ),
                .blank,
                .type(
                    SwiftTypeDecl(
                        doc: ["Implement this to serve the service; pass the value to `RPCServer`."],
                        header: "\(a)protocol Handler: \(r)RPCService",
                        members: handlerMembers
                    )
                ),
                .blank,
                .type(
                    SwiftTypeDecl(
                        doc: ["Calls the service."],
                        header: "\(a)struct Client: Sendable",
                        members: clientMembers
                    )
                ),
            ]
        )
    }

    func registration(_ service: Service, context: SwiftEmitContext) -> SwiftTypeDecl {
        let a = context.access
        let r = rpcModule + "."
        let ns = SwiftNaming.typeName(service.name)
        var entries: [SwiftStatement] = []
        for m in service.methods {
            let name = ServiceEmitter.methodName(m.name)
            let input = context.swiftTypeName(m.inputType)
            let output = context.swiftTypeName(m.outputType)
            let call: String
            switch (m.clientStreaming, m.serverStreaming) {
            case (false, false): call = "try await self.\(name)($0, context: $1)"
            case (false, true): call = "try await self.\(name)($0, writer: $1, context: $2)"
            case (true, false): call = "try await self.\(name)($0, context: $1)"
            case (true, true): call = "try await self.\(name)($0, writer: $1, context: $2)"
            }
            entries.append(
                .line(".\(ServiceEmitter.kind(m))(\(ns).Method.\(name), \(input).self, \(output).self) { \(call) },")
            )
        }
        return SwiftTypeDecl(
            header: "extension \(ns).Handler",
            members: [
                .function(doc: [], signature: "\(a)var serviceName: String", body: [.line("\(ns).serviceName")]),
                .blank,
                .function(
                    doc: [],
                    signature: "\(a)var fileDescriptors: [ProtoRuntime.EmbeddedFileDescriptor]",
                    body: [.line("\(ns).files")]
                ),
                .blank,
                .function(
                    doc: [],
                    signature: "\(a)var methods: [\(r)ServerMethod]",
                    body: [.block("[", entries, footer: "]")]
                ),
            ]
        )
    }
}
