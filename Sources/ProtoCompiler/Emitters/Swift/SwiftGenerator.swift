/// Options for generating Swift.
public struct SwiftGeneratorOptions: Sendable, Hashable {
    public enum Visibility: String, Sendable, CaseIterable {
        case `public`, `package`, `internal`
    }

    public var visibility: Visibility
    /// The module that provides `Message`, `WireWriter` etc.
    public var runtimeModule: String
    /// Emit message and enum types (and the file's embedded descriptor).
    public var emitMessages: Bool
    /// Emit service namespaces, handler protocols and clients.
    public var emitServices: Bool
    /// The module that provides the RPC runtime (for services).
    public var rpcModule: String
    /// More modules to import (where the messages live when services are generated apart).
    public var extraImports: [String]
    /// The module the generated code is compiled into (never imported by itself).
    public var moduleName: String?
    /// The module that provides `EventMessage` (the conformance of `(rpc.v1.event)` messages).
    public var eventModule: String

    public init(
        visibility: Visibility = .public,
        runtimeModule: String = "ProtoRuntime",
        emitMessages: Bool = true,
        emitServices: Bool = true,
        rpcModule: String = "RPC",
        extraImports: [String] = [],
        moduleName: String? = nil,
        eventModule: String = "RPCSchema"
    ) {
        self.moduleName = moduleName
        self.eventModule = eventModule
        self.visibility = visibility
        self.runtimeModule = runtimeModule
        self.emitMessages = emitMessages
        self.emitServices = emitServices
        self.rpcModule = rpcModule
        self.extraImports = extraImports
    }
}

/// One contributor to a generated Swift file. The message emitter is one; service stubs, route
/// tables and event helpers plug in beside it.
public protocol SwiftEmitter: Sendable {
    /// Declarations this emitter adds for `file`.
    func declarations(for file: ProtoFile, context: SwiftEmitContext) -> [SwiftDecl]
}

/// What emitters know: the schema, the file, options, and how proto types map to Swift.
public struct SwiftEmitContext: Sendable {
    public let schema: Schema
    public let options: SwiftGeneratorOptions
    /// The package of the file defining each message and enum.
    private let packageOf: [String: String]

    public init(schema: Schema, options: SwiftGeneratorOptions) {
        self.schema = schema
        self.options = options
        var packageOf: [String: String] = [:]
        for file in schema.files {
            func visit(_ m: MessageType) {
                packageOf[m.fullName] = file.package
                for n in m.messages { visit(n) }
                for e in m.enums { packageOf[e.fullName] = file.package }
            }
            for m in file.messages { visit(m) }
            for e in file.enums { packageOf[e.fullName] = file.package }
        }
        self.packageOf = packageOf
    }

    /// `public `, `package ` or `` (internal).
    public var access: String {
        options.visibility == .internal ? "" : options.visibility.rawValue + " "
    }

    /// `ProtoRuntime.` — runtime names are always qualified, so schema names never shadow them.
    public var rt: String { options.runtimeModule + "." }

    static let wellKnown: [String: String] = [
        "google.protobuf.Timestamp": "ProtoTimestamp",
        "google.protobuf.Duration": "ProtoDuration",
        "google.protobuf.Empty": "ProtoEmpty",
    ]

    /// The Swift name of a message or enum, relative to its module (`Order.Address`).
    public func swiftTypeName(_ fullName: String) -> String {
        if let wkt = SwiftEmitContext.wellKnown[fullName] { return rt + wkt }
        let package = packageOf[fullName] ?? ""
        let relative = package.isEmpty ? fullName : String(fullName.dropFirst(package.count + 1))
        return relative.split(separator: ".").map { SwiftNaming.typeName(String($0)) }.joined(separator: ".")
    }

    /// The Swift type of one value of a field type (no optional/array wrapping).
    public func swiftValueType(_ type: FieldType) -> String {
        switch type {
        case .scalar(let s): return SwiftEmitContext.swiftScalarType(s)
        case .enumeration(let name), .message(let name): return swiftTypeName(name)
        case .map(let key, let value):
            return "[\(SwiftEmitContext.swiftScalarType(key)): \(swiftValueType(value))]"
        }
    }

    public static func swiftScalarType(_ s: ScalarType) -> String {
        switch s {
        case .double: return "Double"
        case .float: return "Float"
        case .int64, .sint64, .sfixed64: return "Int64"
        case .uint64, .fixed64: return "UInt64"
        case .int32, .sint32, .sfixed32: return "Int32"
        case .uint32, .fixed32: return "UInt32"
        case .bool: return "Bool"
        case .string: return "String"
        case .bytes: return "[UInt8]"
        }
    }

    /// Whether a singular message field of `message` must be boxed because its type contains
    /// `message` again through singular message fields.
    public func needsBox(field: Field, in message: MessageType) -> Bool {
        guard !field.isRepeated, case .message(let target) = field.type else { return false }
        return reaches(from: target, to: message.fullName)
    }

    private func reaches(from start: String, to goal: String) -> Bool {
        var stack = [start]
        var seen: Set<String> = []
        while let current = stack.popLast() {
            if current == goal { return true }
            guard seen.insert(current).inserted, let m = schema.messages[current] else { continue }
            for f in m.fields where !f.isRepeated {
                if case .message(let next) = f.type { stack.append(next) }
            }
        }
        return false
    }
}

/// Generates one Swift file per `.proto` file from the registered emitters.
public struct SwiftGenerator: Sendable {
    public var options: SwiftGeneratorOptions
    public var emitters: [any SwiftEmitter]

    /// The standard emitters the options ask for: messages and enums, their field rules'
    /// `validate()`, the embedded descriptor, then services.
    public init(options: SwiftGeneratorOptions = SwiftGeneratorOptions(), emitters: [any SwiftEmitter]? = nil) {
        self.options = options
        var standard: [any SwiftEmitter] = []
        if options.emitMessages { standard += [MessageEmitter(), ValidationEmitter(), DescriptorEmbedEmitter()] }
        if options.emitServices { standard.append(ServiceEmitter(rpcModule: options.rpcModule)) }
        self.emitters = emitters ?? standard
    }

    /// The Swift source for `file`.
    public func generate(_ file: ProtoFile, schema: Schema) -> String {
        let context = SwiftEmitContext(schema: schema, options: options)
        var declarations: [SwiftDecl] = []
        for emitter in emitters { declarations += emitter.declarations(for: file, context: context) }
        let importKeyword = options.visibility == .internal ? "import" : "\(options.visibility.rawValue) import"
        var imports: [String] = []
        if !declarations.isEmpty {
            imports.append("\(importKeyword) \(options.runtimeModule)")
            if options.emitServices && !file.services.isEmpty {
                imports.append("\(importKeyword) \(options.rpcModule)")
            }
            if options.emitMessages && MessageEmitter.hasEvents(file.messages) {
                imports.append("\(importKeyword) \(options.eventModule)")
            }
            imports += options.extraImports.map { "\(importKeyword) \($0)" }
            if let own = options.moduleName { imports.removeAll { $0.hasSuffix("import \(own)") } }
        }
        let swiftFile = SwiftFile(
            header: [
                "// DO NOT EDIT.",
                "// Generated by protogen from \(file.path).",
            ],
            imports: imports,
            declarations: declarations
        )
        return SwiftRenderer.render(swiftFile)
    }

    /// The Swift source of a module's schema index `name`: the files compiled into the module
    /// (each as its `…ProtoFile.files`: its imports, then the file) and the services they declare,
    /// so code over the whole schema (the gateway's backends and routes) follows the `.proto` files
    /// instead of a hand-kept list. Needs the messages' embedded descriptors (`emitMessages`).
    public func generateIndex(named name: String, files: [ProtoFile]) -> String {
        let a = options.visibility == .internal ? "" : options.visibility.rawValue + " "
        let rt = options.runtimeModule + "."
        let sorted = files.sorted { $0.path < $1.path }
        func list(_ files: [ProtoFile]) -> [SwiftDecl] {
            files.map { .line(doc: [], text: "    \(SwiftNaming.fileNamespace($0.path)).files,") } + [
                .line(doc: [], text: "]")
            ]
        }
        var members: [SwiftDecl] = [
            .line(
                doc: ["Every schema file of the module, in path order (each with its imports, the file last)."],
                text: "\(a)static let files: [[\(rt)EmbeddedFileDescriptor]] = ["
            )
        ]
        members += list(sorted)
        members.append(.blank)
        members.append(
            .line(
                doc: ["The files that declare services, in path order (each with its imports, the file last)."],
                text: "\(a)static let serviceFiles: [[\(rt)EmbeddedFileDescriptor]] = ["
            )
        )
        members += list(sorted.filter { !$0.services.isEmpty })
        members.append(.blank)
        let names = sorted.flatMap { file in file.services.map { SwiftNaming.literal($0.fullName) } }
        members.append(
            .line(
                doc: ["The fully-qualified names of the services, in the order of ``serviceFiles``."],
                text: "\(a)static let serviceNames: [String] = [\(names.joined(separator: ", "))]"
            )
        )
        let swiftFile = SwiftFile(
            header: ["// DO NOT EDIT.", "// Generated by protogen: the index of this module's schema files."],
            imports: ["\(options.visibility == .internal ? "import" : a + "import") \(options.runtimeModule)"],
            declarations: [
                .type(
                    SwiftTypeDecl(
                        doc: ["The schema files compiled into this module and the services they declare."],
                        header: "\(a)enum \(name)",
                        members: members
                    )
                )
            ]
        )
        return SwiftRenderer.render(swiftFile)
    }

    /// The output file name for a `.proto` path: `rpc/v1/options.proto` → `rpc_v1_options.pb.swift`.
    public static func outputName(for path: String) -> String {
        let stem = path.hasSuffix(".proto") ? String(path.dropLast(6)) : path
        return stem.replacingOccurrences(of: "/", with: "_") + ".pb.swift"
    }
}

/// Embeds each file's descriptor, so servers answer reflection and tools map JSON without
/// compile-time knowledge of the schema.
public struct DescriptorEmbedEmitter: SwiftEmitter {
    public init() {}

    public func declarations(for file: ProtoFile, context: SwiftEmitContext) -> [SwiftDecl] {
        let a = context.access
        func embedded(_ f: ProtoFile) -> [SwiftDecl] {
            let base64 = DescriptorEmbedEmitter.base64(DescriptorEmitter.fileDescriptor(f, schema: context.schema))
            let deps = f.dependencies.map { SwiftNaming.literal($0) }.joined(separator: ", ")
            return [
                .line(doc: [], text: "\(context.rt)EmbeddedFileDescriptor("),
                .line(doc: [], text: "    path: \(SwiftNaming.literal(f.path)),"),
                .line(doc: [], text: "    dependencies: [\(deps)],"),
                .line(doc: [], text: "    base64: \(SwiftNaming.literal(base64))"),
                .line(doc: [], text: ")"),
            ]
        }
        var members: [SwiftDecl] = [.line(doc: ["This file's descriptor."], text: "\(a)static let descriptor =")]
        members += embedded(file)
        let imports = GeneratedOutputs.closure(of: [file], in: context.schema).filter { $0.path != file.path }
        members.append(.blank)
        members.append(
            .line(
                doc: ["The descriptors of this file's imports (transitively), imports first, then this file's."],
                text: "\(a)static let files: [\(context.rt)EmbeddedFileDescriptor] = ["
            )
        )
        for dependency in imports {
            members += embedded(dependency).map { decl in
                if case .line(let doc, let text) = decl {
                    return .line(doc: doc, text: "    " + text + (text == ")" ? "," : ""))
                }
                return decl
            }
        }
        members.append(.line(doc: [], text: "    descriptor,"))
        members.append(.line(doc: [], text: "]"))
        return [
            .type(
                SwiftTypeDecl(
                    doc: ["The schema of `\(file.path)`, embedded as a `google.protobuf.FileDescriptorProto`."],
                    header: "\(a)enum \(SwiftNaming.fileNamespace(file.path))",
                    members: members
                )
            )
        ]
    }

    static func base64(_ input: [UInt8]) -> String {
        let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/")
        var out = ""
        var i = 0
        while i < input.count {
            let b0 = UInt32(input[i])
            let b1 = i + 1 < input.count ? UInt32(input[i + 1]) : 0
            let b2 = i + 2 < input.count ? UInt32(input[i + 2]) : 0
            let n = b0 << 16 | b1 << 8 | b2
            out.append(alphabet[Int(n >> 18 & 63)])
            out.append(alphabet[Int(n >> 12 & 63)])
            out.append(i + 1 < input.count ? alphabet[Int(n >> 6 & 63)] : "=")
            out.append(i + 2 < input.count ? alphabet[Int(n & 63)] : "=")
            i += 3
        }
        return out
    }
}
