/// How proto names become Swift names.
public enum SwiftNaming {
    static let keywords: Set<String> = [
        "associatedtype", "class", "deinit", "enum", "extension", "fileprivate", "func", "import", "init", "inout",
        "internal", "let", "open", "operator", "private", "precedencegroup", "protocol", "public", "rethrows",
        "static", "struct", "subscript", "typealias", "var", "break", "case", "catch", "continue", "default", "defer",
        "do", "else", "fallthrough", "for", "guard", "if", "in", "repeat", "return", "throw", "switch", "where",
        "while", "Any", "as", "await", "false", "is", "nil", "self", "Self", "super", "throws", "true", "try",
        "Type", "Protocol", "package", "consume", "borrowing", "consuming", "some", "any",
    ]

    /// Type names that would shadow what generated code itself uses.
    static let reservedTypeNames: Set<String> = [
        "String", "Int", "Int32", "Int64", "UInt32", "UInt64", "UInt8", "Bool", "Double", "Float", "Array",
        "Dictionary", "Optional", "Hashable", "Sendable", "Equatable", "Error", "Message", "ProtoRuntime", "Type",
        "Protocol", "Self", "Any", "Void", "Never", "Result", "Set", "Character",
    ]

    /// Backticks a keyword used as an identifier.
    public static func escaped(_ identifier: String) -> String {
        keywords.contains(identifier) ? "`\(identifier)`" : identifier
    }

    /// A type name, suffixed with `_` where it would clash with names the generated code uses.
    public static func typeName(_ protoName: String) -> String {
        reservedTypeNames.contains(protoName) ? protoName + "_" : protoName
    }

    /// `order_id` → `orderId`.
    public static func propertyName(_ fieldName: String) -> String {
        let camel = ProtoNaming.jsonName(fieldName)
        guard let first = camel.first else { return "_" }
        var result = first.lowercased() + camel.dropFirst()
        // `unknownFields` and `validate()` are members of every message.
        if result == "unknownFields" || result == "validate" { result += "_" }
        if let c = result.first, c.isNumber { result = "_" + result }
        return result
    }

    /// `ORDER_STATUS_PENDING_REVIEW` in enum `OrderStatus` → `pendingReview`.
    public static func caseName(_ valueName: String, enumName: String) -> String {
        let stripped = ProtoNaming.strippingEnumPrefix(valueName, enumName: enumName)
        var result = ""
        var upperNext = false
        for (i, ch) in stripped.enumerated() {
            if ch == "_" {
                upperNext = !result.isEmpty
                continue
            }
            if i == 0 || result.isEmpty {
                result += ch.lowercased()
            } else if upperNext {
                result += ch.uppercased()
            } else {
                result += ch.lowercased()
            }
            upperNext = false
        }
        if result.isEmpty { result = "_" }
        if let c = result.first, c.isNumber { result = "_" + result }
        if result == "unrecognized" || result == "allCases" || result == "protoDefault" { result += "_" }
        return result
    }

    /// `oneof payment_method` → `PaymentMethod`.
    public static func oneofTypeName(_ name: String) -> String {
        let camel = ProtoNaming.jsonName(name)
        guard let first = camel.first else { return "OneOf" }
        return typeName(first.uppercased() + camel.dropFirst())
    }

    /// `test/v1/conformance.proto` → `ConformanceProtoFile`.
    public static func fileNamespace(_ path: String) -> String {
        let base = path.split(separator: "/").last.map(String.init) ?? path
        let stem = base.hasSuffix(".proto") ? String(base.dropLast(6)) : base
        return ProtoNaming.camelCase(stem.replacingOccurrences(of: "-", with: "_"), capitalizeFirst: true) + "ProtoFile"
    }

    /// A Swift string literal for `text`.
    public static func literal(_ text: String) -> String {
        var out = "\""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            default:
                if scalar.value < 0x20 || scalar.value == 0x7F {
                    out += "\\u{\(String(scalar.value, radix: 16))}"
                } else {
                    out.unicodeScalars.append(scalar)
                }
            }
        }
        return out + "\""
    }
}

extension String {
    func replacingOccurrences(of target: String, with replacement: String) -> String {
        split(separator: Character(target), omittingEmptySubsequences: false).joined(separator: replacement)
    }
}
