/// Options as protobuf text format, the way a schema writes them: `(rpc.v1.access) = {
/// authenticated: true roles: "admin" }`. Generated code shows them beside the serialized bytes
/// the runtime reads, so a reader sees the rule without decoding hex.
public enum OptionText {
    /// One line per option, in field-number order.
    public static func lines(_ options: [OptionField]) -> [String] {
        options.sorted { $0.number < $1.number }.map { option in
            "\(name(option)) = \(value(option.value))"
        }
    }

    static func name(_ option: OptionField) -> String { option.isExtension ? "(\(option.name))" : option.name }

    /// A value; a message's fields in number order (its depth is the schema's, bounded by the parser).
    static func value(_ option: OptionValue) -> String {
        switch option {
        case .bool(let b): return b ? "true" : "false"
        case .int(let i): return String(i)
        case .uint(let u): return String(u)
        case .double(let d): return d.isNaN ? "nan" : d.isInfinite ? (d < 0 ? "-inf" : "inf") : "\(d)"
        case .string(let bytes): return quoted(bytes)
        case .enumValue(let name, _): return name
        case .message(let fields):
            let inner = fields.sorted { $0.number < $1.number }.map { field -> String in
                let key = field.isExtension ? "[\(field.name)]" : field.name
                if case .message = field.value { return "\(key) \(value(field.value))" }
                return "\(key): \(value(field.value))"
            }
            return inner.isEmpty ? "{}" : "{ " + inner.joined(separator: " ") + " }"
        }
    }

    /// A text-format string literal: printable ASCII as is, quotes and backslashes escaped, the
    /// rest as octal escapes of their UTF-8 bytes (what protoc writes).
    static func quoted(_ bytes: [UInt8]) -> String {
        var out = "\""
        for byte in bytes {
            switch byte {
            case UInt8(ascii: "\""): out += "\\\""
            case UInt8(ascii: "\\"): out += "\\\\"
            case UInt8(ascii: "\n"): out += "\\n"
            case 0x20..<0x7F: out.unicodeScalars.append(Unicode.Scalar(byte))
            default:
                let octal = String(byte, radix: 8)
                out += "\\" + String(repeating: "0", count: 3 - octal.count) + octal
            }
        }
        return out + "\""
    }
}
