/// The resolved schema: every file with its types, every name checked and linked.
///
/// This model knows nothing of Swift or of any output format; emitters read it.
public struct Schema: Sendable {
    /// Every loaded file (requested files, their imports, built-ins), imports before importers.
    public var files: [ProtoFile]
    /// Messages by fully-qualified name (no leading dot).
    public var messages: [String: MessageType]
    /// Enums by fully-qualified name.
    public var enums: [String: EnumType]

    /// The file with this import path.
    public func file(named path: String) -> ProtoFile? { files.first { $0.path == path } }
}

public struct ProtoFile: Sendable {
    /// The import path, e.g. `marketplace/v1/orders.proto`.
    public var path: String
    /// The path shown in diagnostics, e.g. `Protos/marketplace/v1/orders.proto`.
    public var displayPath: String
    public var package: String
    public var syntax: String
    public var dependencies: [String]
    public var publicDependencies: [Int]
    public var messages: [MessageType]
    public var enums: [EnumType]
    public var services: [Service]
    public var extensions: [ExtensionField]
    public var options: [OptionField]
    /// One of the compiler's own `google/protobuf/*.proto` definitions.
    public var isBuiltin: Bool
}

public enum ScalarType: String, Sendable, CaseIterable {
    case double, float, int64, uint64, int32, fixed64, fixed32, bool, string, bytes, uint32, sfixed32, sfixed64,
        sint32, sint64

    /// The `FieldDescriptorProto.Type` number.
    public var descriptorType: Int {
        switch self {
        case .double: return 1
        case .float: return 2
        case .int64: return 3
        case .uint64: return 4
        case .int32: return 5
        case .fixed64: return 6
        case .fixed32: return 7
        case .bool: return 8
        case .string: return 9
        case .bytes: return 12
        case .uint32: return 13
        case .sfixed32: return 15
        case .sfixed64: return 16
        case .sint32: return 17
        case .sint64: return 18
        }
    }

    /// The wire type of one value.
    public var wireType: Int {
        switch self {
        case .double, .fixed64, .sfixed64: return 1
        case .float, .fixed32, .sfixed32: return 5
        case .string, .bytes: return 2
        default: return 0
        }
    }

    /// Whether repeated fields of this type are packed (numeric types).
    public var isPackable: Bool { self != .string && self != .bytes }

    /// Whether the type may key a map.
    public var isValidMapKey: Bool {
        switch self {
        case .double, .float, .bytes: return false
        default: return true
        }
    }
}

public indirect enum FieldType: Sendable, Hashable {
    case scalar(ScalarType)
    /// Fully-qualified enum name.
    case enumeration(String)
    /// Fully-qualified message name.
    case message(String)
    case map(key: ScalarType, value: FieldType)

    public var isMessage: Bool { if case .message = self { return true } else { return false } }
    public var isMap: Bool { if case .map = self { return true } else { return false } }

    /// The wire type of one value (maps: their entries).
    public var wireType: Int {
        switch self {
        case .scalar(let s): return s.wireType
        case .enumeration: return 0
        case .message, .map: return 2
        }
    }
}

public struct Field: Sendable {
    public enum Label: Sendable, Hashable {
        /// proto3 singular: no presence for scalars; messages always have presence.
        case singular
        /// proto3 `optional` (or proto2 `optional`): explicit presence.
        case optional
        case repeated
    }

    public var name: String
    public var number: Int
    public var label: Label
    public var type: FieldType
    /// The JSON name (the `json_name` option, or the lowerCamelCase default).
    public var jsonName: String
    public var hasCustomJSONName: Bool
    /// The index of the real (non-synthetic) oneof holding this field.
    public var oneofIndex: Int?
    public var options: [OptionField]
    public var isPacked: Bool
    public var isDeprecated: Bool
    public var doc: String?
    public var location: SourceLocation

    public var isRepeated: Bool { label == .repeated }
}

public struct Oneof: Sendable {
    public var name: String
    /// Indices into the message's `fields`.
    public var fieldIndices: [Int]
    public var options: [OptionField]
    public var doc: String?
}

public struct MessageType: Sendable {
    public var name: String
    public var fullName: String
    /// Fields in declaration order.
    public var fields: [Field]
    public var oneofs: [Oneof]
    public var messages: [MessageType]
    public var enums: [EnumType]
    public var extensions: [ExtensionField]
    public var options: [OptionField]
    /// Reserved field numbers, inclusive ranges.
    public var reservedRanges: [ClosedRange<Int64>]
    public var reservedNames: [String]
    public var extensionRanges: [ClosedRange<Int64>]
    /// Nested declarations in order, with map entries where their fields were declared.
    public var nestedOrder: [MessageSyntax.NestedItem]
    public var isDeprecated: Bool
    public var doc: String?
    public var location: SourceLocation
}

public struct EnumValue: Sendable {
    public var name: String
    public var number: Int32
    public var options: [OptionField]
    public var isDeprecated: Bool
    public var doc: String?
}

public struct EnumType: Sendable {
    public var name: String
    public var fullName: String
    public var values: [EnumValue]
    public var options: [OptionField]
    public var reservedRanges: [ClosedRange<Int64>]
    public var reservedNames: [String]
    /// `false` for proto2 enums.
    public var isOpen: Bool
    public var isDeprecated: Bool
    public var doc: String?
}

public struct Method: Sendable {
    public var name: String
    public var inputType: String
    public var outputType: String
    public var clientStreaming: Bool
    public var serverStreaming: Bool
    public var options: [OptionField]
    public var isDeprecated: Bool
    public var doc: String?
}

public struct Service: Sendable {
    public var name: String
    public var fullName: String
    public var methods: [Method]
    public var options: [OptionField]
    public var isDeprecated: Bool
    public var doc: String?
}

public struct ExtensionField: Sendable {
    /// The extension's fully-qualified name.
    public var fullName: String
    /// The fully-qualified name of the message it extends.
    public var extendee: String
    public var field: Field
}

/// One option set on a declaration: a field of its `*Options` message, builtin or extension.
public struct OptionField: Sendable, Hashable {
    /// The field's name: `deprecated`, or an extension's full name such as `gateway.v1.http`.
    public var name: String
    public var isExtension: Bool
    public var number: Int
    public var type: FieldType
    public var value: OptionValue

    public init(name: String, isExtension: Bool, number: Int, type: FieldType, value: OptionValue) {
        self.name = name
        self.isExtension = isExtension
        self.number = number
        self.type = type
        self.value = value
    }
}

public indirect enum OptionValue: Sendable, Hashable {
    case bool(Bool)
    case int(Int64)
    case uint(UInt64)
    case double(Double)
    case string([UInt8])
    case enumValue(name: String, number: Int32)
    case message([OptionField])

    /// The value as text (strings decoded as UTF-8).
    public var stringValue: String? {
        if case .string(let bytes) = self { return String(decoding: bytes, as: UTF8.self) }
        return nil
    }

    /// A field of a message value by name.
    public subscript(field name: String) -> OptionValue? {
        if case .message(let fields) = self { return fields.first { $0.name == name }?.value }
        return nil
    }
}

extension Array where Element == OptionField {
    /// The value of the option named `name` (builtin name or extension full name), if set.
    public func value(_ name: String) -> OptionValue? { first { $0.name == name }?.value }

    /// Whether the bool option `name` is set to true.
    public func isTrue(_ name: String) -> Bool { value(name) == .bool(true) }
}
