/// Options for generating Swift.
public struct SwiftGeneratorOptions: Sendable, Hashable {
    public enum Visibility: String, Sendable, CaseIterable {
        case `public`, `package`, `internal`
    }

    public var visibility: Visibility
    /// The module that provides `Message`, `WireWriter` etc.
    public var runtimeModule: String

    public init(visibility: Visibility = .public, runtimeModule: String = "ProtoRuntime") {
        self.visibility = visibility
        self.runtimeModule = runtimeModule
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

    /// The standard emitters: messages and enums, then the embedded descriptor.
    public init(options: SwiftGeneratorOptions = SwiftGeneratorOptions(), emitters: [any SwiftEmitter]? = nil) {
        self.options = options
        self.emitters = emitters ?? [MessageEmitter(), DescriptorEmbedEmitter()]
    }

    /// The Swift source for `file`.
    public func generate(_ file: ProtoFile, schema: Schema) -> String {
        let context = SwiftEmitContext(schema: schema, options: options)
        var declarations: [SwiftDecl] = []
        for emitter in emitters { declarations += emitter.declarations(for: file, context: context) }
        let importKeyword = options.visibility == .internal ? "import" : "\(options.visibility.rawValue) import"
        let swiftFile = SwiftFile(
            header: [
                "// DO NOT EDIT.",
                "// Generated by protogen from \(file.path).",
            ],
            imports: ["\(importKeyword) \(options.runtimeModule)"],
            declarations: declarations)
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
        let bytes = DescriptorEmitter.fileDescriptor(file, schema: context.schema)
        let base64 = DescriptorEmbedEmitter.base64(bytes)
        let a = context.access
        let deps = file.dependencies.map { SwiftNaming.literal($0) }.joined(separator: ", ")
        return [
            .type(
                SwiftTypeDecl(
                    doc: ["The schema of `\(file.path)`, embedded as a `google.protobuf.FileDescriptorProto`."],
                    header: "\(a)enum \(SwiftNaming.fileNamespace(file.path))",
                    members: [
                        .line(
                            doc: [],
                            text: "\(a)static let descriptor = \(context.rt)EmbeddedFileDescriptor("),
                        .line(doc: [], text: "    path: \(SwiftNaming.literal(file.path)),"),
                        .line(doc: [], text: "    dependencies: [\(deps)],"),
                        .line(doc: [], text: "    base64: \(SwiftNaming.literal(base64))"),
                        .line(doc: [], text: ")"),
                    ]))
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
