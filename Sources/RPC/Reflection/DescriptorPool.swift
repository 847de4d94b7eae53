import ProtoRuntime
public import RPCSchema

/// Messages, enums and services described by serialized `FileDescriptorProto`s: what tools need
/// to call a method they were not compiled with (rpcctl, the gateway's generic JSON endpoint).
public struct DescriptorPool: Sendable {
    public enum FieldKind: Sendable, Hashable {
        case double, float, int64, uint64, int32, fixed64, fixed32, bool, string, bytes, uint32, sfixed32, sfixed64,
            sint32, sint64
        case enumeration(String)
        case message(String)

        var wireType: UInt32 {
            switch self {
            case .double, .fixed64, .sfixed64: return 1
            case .float, .fixed32, .sfixed32: return 5
            case .string, .bytes, .message: return 2
            default: return 0
            }
        }

        var isPackable: Bool {
            switch self {
            case .string, .bytes, .message: return false
            default: return true
            }
        }
    }

    public struct Field: Sendable {
        public let name: String
        public let jsonName: String
        public let number: Int32
        public let kind: FieldKind
        public let isRepeated: Bool
        /// proto3 `optional`, proto2 `optional`, oneof members and message fields.
        public let hasPresence: Bool
        /// The real oneof it belongs to.
        public let oneof: Int?
        /// The field's `(rpc.v1.rules)` option (docs/PROTOCOL.md, "Field rules"), if any.
        public let rules: FieldRules?
    }

    public struct MessageInfo: Sendable {
        public let fullName: String
        public let fields: [Field]
        public let isMapEntry: Bool
        public let oneofs: [String]
        /// Each real oneof's `(rpc.v1.oneof_rules)` option, parallel to `oneofs`.
        public let oneofRules: [OneofRules?]
        public let fileSyntax: String

        public func field(named name: String) -> Field? { fields.first { $0.jsonName == name || $0.name == name } }
        public func field(number: Int32) -> Field? { fields.first { $0.number == number } }
    }

    public struct EnumInfo: Sendable {
        public let fullName: String
        public let values: [(name: String, number: Int32)]
    }

    public struct MethodInfo: Sendable {
        public let service: String
        public let name: String
        public let inputType: String
        public let outputType: String
        public let clientStreaming: Bool
        public let serverStreaming: Bool
    }

    public private(set) var messages: [String: MessageInfo] = [:]
    public private(set) var enums: [String: EnumInfo] = [:]
    public private(set) var methods: [String: MethodInfo] = [:]
    public private(set) var services: [String: [MethodInfo]] = [:]

    public init() {}

    /// A pool of these serialized descriptors.
    /// - Throws: ``ProtoDecodingError`` if one does not decode.
    public init(serializedFiles: [[UInt8]]) throws {
        for bytes in serializedFiles { try add(serializedFile: bytes) }
    }

    /// Adds one serialized `FileDescriptorProto`.
    public mutating func add(serializedFile bytes: [UInt8]) throws {
        let file = try FileDescriptorProto(serializedBytes: bytes)
        let package = file.package ?? ""
        let syntax = file.syntax ?? "proto2"
        func qualified(_ name: String?, _ scope: String) -> String {
            let name = name ?? ""
            return scope.isEmpty ? name : scope + "." + name
        }
        func addEnum(_ e: EnumDescriptorProto, scope: String) {
            let name = qualified(e.name, scope)
            enums[name] = EnumInfo(fullName: name, values: e.value.map { ($0.name ?? "", $0.number ?? 0) })
        }
        func addMessage(_ m: DescriptorProto, scope: String) {
            let name = qualified(m.name, scope)
            var fields: [Field] = []
            let realOneofs = m.oneofDecl.indices.filter { index in
                !m.field.contains { $0.oneofIndex == Int32(index) && $0.proto3Optional == true }
            }
            for f in m.field {
                let typeName = String((f.typeName ?? "").drop { $0 == "." })
                let kind: FieldKind
                switch f.type ?? .init() {
                case .double: kind = .double
                case .float: kind = .float
                case .int64: kind = .int64
                case .uint64: kind = .uint64
                case .int32: kind = .int32
                case .fixed64: kind = .fixed64
                case .fixed32: kind = .fixed32
                case .bool: kind = .bool
                case .string: kind = .string
                case .bytes: kind = .bytes
                case .uint32: kind = .uint32
                case .sfixed32: kind = .sfixed32
                case .sfixed64: kind = .sfixed64
                case .sint32: kind = .sint32
                case .sint64: kind = .sint64
                case .enum: kind = .enumeration(typeName)
                default: kind = .message(typeName)
                }
                let repeated = f.label == .repeated
                let oneof = f.oneofIndex.flatMap { index in realOneofs.contains(Int(index)) ? Int(index) : nil }
                let presence =
                    !repeated
                    && (f.proto3Optional == true || oneof != nil || syntax != "proto3"
                        || { if case .message = kind { return true } else { return false } }())
                fields.append(
                    Field(
                        name: f.name ?? "",
                        jsonName: f.jsonName ?? ProtoJSONNames.camel(f.name ?? ""),
                        number: f.number ?? 0,
                        kind: kind,
                        isRepeated: repeated,
                        hasPresence: presence,
                        oneof: oneof,
                        rules: MethodDescriptor.extensionField(50004, in: f.options?.unknownFields.bytes ?? [])
                    )
                )
            }
            messages[name] = MessageInfo(
                fullName: name,
                fields: fields,
                isMapEntry: m.options?.mapEntry == true,
                oneofs: realOneofs.map { m.oneofDecl[$0].name ?? "" },
                oneofRules: realOneofs.map {
                    MethodDescriptor.extensionField(50005, in: m.oneofDecl[$0].options?.unknownFields.bytes ?? [])
                },
                fileSyntax: syntax
            )
            for nested in m.nestedType { addMessage(nested, scope: name) }
            for e in m.enumType { addEnum(e, scope: name) }
        }
        for m in file.messageType { addMessage(m, scope: package) }
        for e in file.enumType { addEnum(e, scope: package) }
        for s in file.service {
            let serviceName = qualified(s.name, package)
            var list: [MethodInfo] = []
            for m in s.method {
                let info = MethodInfo(
                    service: serviceName,
                    name: m.name ?? "",
                    inputType: String((m.inputType ?? "").drop { $0 == "." }),
                    outputType: String((m.outputType ?? "").drop { $0 == "." }),
                    clientStreaming: m.clientStreaming == true,
                    serverStreaming: m.serverStreaming == true
                )
                methods["\(serviceName)/\(info.name)"] = info
                list.append(info)
            }
            services[serviceName] = list
        }
    }
}

enum ProtoJSONNames {
    static func camel(_ name: String) -> String {
        var result = ""
        var upper = false
        for ch in name {
            if ch == "_" {
                upper = true
            } else if upper {
                result += ch.uppercased()
                upper = false
            } else {
                result.append(ch)
            }
        }
        return result
    }
}
