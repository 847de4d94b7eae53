/// The syntax tree of one `.proto` file, as written (names unresolved).
public struct FileSyntax: Sendable {
    public var path: String
    public var syntax: String = "proto3"
    public var syntaxLocation: SourceLocation?
    public var package: String = ""
    public var packageLocation: SourceLocation?
    public var imports: [ImportSyntax] = []
    public var options: [OptionSyntax] = []
    public var messages: [MessageSyntax] = []
    public var enums: [EnumSyntax] = []
    public var services: [ServiceSyntax] = []
    public var extends: [ExtendSyntax] = []
}

public struct ImportSyntax: Sendable {
    public enum Kind: Sendable { case normal, `public`, weak }
    public var path: String
    public var kind: Kind
    public var location: SourceLocation
}

/// An option's name: `deprecated`, `(gateway.v1.http)`, `(gateway.v1.http).post`.
public struct OptionNameSyntax: Sendable, CustomStringConvertible {
    public struct Part: Sendable {
        public var name: String
        /// Parenthesised: an extension (custom option) name.
        public var isExtension: Bool
    }
    public var parts: [Part]

    public var description: String {
        parts.map { $0.isExtension ? "(\($0.name))" : $0.name }.joined(separator: ".")
    }
}

/// A constant in an option: scalar, identifier, or text-format aggregate `{ ... }`.
public indirect enum OptionValueSyntax: Sendable {
    case identifier(String, SourceLocation)
    case integer(negative: Bool, text: String, SourceLocation)
    case float(negative: Bool, text: String, SourceLocation)
    case string([UInt8], SourceLocation)
    case aggregate([AggregateFieldSyntax], SourceLocation)
    case list([OptionValueSyntax], SourceLocation)

    public var location: SourceLocation {
        switch self {
        case .identifier(_, let l), .integer(_, _, let l), .float(_, _, let l), .string(_, let l),
            .aggregate(_, let l), .list(_, let l):
            return l
        }
    }
}

public struct AggregateFieldSyntax: Sendable {
    /// The field name, or `[full.extension.name]` for extensions.
    public var name: String
    public var isExtension: Bool
    public var value: OptionValueSyntax
    public var location: SourceLocation
}

public struct OptionSyntax: Sendable {
    public var name: OptionNameSyntax
    public var value: OptionValueSyntax
    public var location: SourceLocation
}

public struct FieldSyntax: Sendable {
    public enum Label: Sendable { case none, optional, repeated, required }
    public var label: Label
    public var typeName: String
    public var typeLocation: SourceLocation
    /// For `map<K, V>` fields.
    public var mapKeyType: String?
    public var mapValueType: String?
    public var name: String
    public var number: Int64?
    public var numberLocation: SourceLocation
    public var options: [OptionSyntax]
    public var location: SourceLocation
    public var doc: String?
}

public struct OneofSyntax: Sendable {
    public var name: String
    public var fields: [FieldSyntax]
    public var options: [OptionSyntax]
    public var location: SourceLocation
    public var doc: String?
}

public struct RangeSyntax: Sendable {
    public var start: Int64
    /// Inclusive; `nil` means `max`.
    public var end: Int64?
    public var location: SourceLocation
}

public struct ReservedSyntax: Sendable {
    public var ranges: [RangeSyntax] = []
    public var names: [(String, SourceLocation)] = []
}

public struct MessageSyntax: Sendable {
    public var name: String
    public var location: SourceLocation
    public var doc: String?
    /// Fields and oneofs in declaration order.
    public var members: [MessageMemberSyntax] = []
    public var messages: [MessageSyntax] = []
    public var enums: [EnumSyntax] = []
    public var extends: [ExtendSyntax] = []
    public var reserved: [ReservedSyntax] = []
    public var extensionRanges: [RangeSyntax] = []
    public var options: [OptionSyntax] = []
    /// Order of nested declarations, for descriptor emission (map entries interleave).
    public var nestedOrder: [NestedItem] = []

    public enum NestedItem: Sendable {
        case message(Int)
        case mapField(String)
    }
}

public enum MessageMemberSyntax: Sendable {
    case field(FieldSyntax)
    case oneof(OneofSyntax)
}

public struct EnumValueSyntax: Sendable {
    public var name: String
    public var number: Int64
    public var options: [OptionSyntax]
    public var location: SourceLocation
    public var doc: String?
}

public struct EnumSyntax: Sendable {
    public var name: String
    public var values: [EnumValueSyntax] = []
    public var options: [OptionSyntax] = []
    public var reserved: [ReservedSyntax] = []
    public var location: SourceLocation
    public var doc: String?
}

public struct MethodSyntax: Sendable {
    public var name: String
    public var inputType: String
    public var inputLocation: SourceLocation
    public var clientStreaming: Bool
    public var outputType: String
    public var outputLocation: SourceLocation
    public var serverStreaming: Bool
    public var options: [OptionSyntax]
    public var location: SourceLocation
    public var doc: String?
}

public struct ServiceSyntax: Sendable {
    public var name: String
    public var methods: [MethodSyntax] = []
    public var options: [OptionSyntax] = []
    public var location: SourceLocation
    public var doc: String?
}

public struct ExtendSyntax: Sendable {
    public var extendee: String
    public var extendeeLocation: SourceLocation
    public var fields: [FieldSyntax]
    public var location: SourceLocation
}
