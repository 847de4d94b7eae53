/// Why a byte string is not a valid encoding of a message.
///
/// Binary decoding is total: every input yields either a message or one of these errors.
public enum ProtoDecodingError: Error, Hashable, Sendable, CustomStringConvertible {
    /// The input ends in the middle of a tag, value or length-delimited field.
    case truncated
    /// A varint is longer than 10 bytes, or its 10th byte carries more than one bit.
    case malformedVarint
    /// A tag carries wire type 6 or 7, or field number 0.
    case invalidTag(UInt64)
    /// A group (wire types 3 and 4) was found; proto3 has no groups.
    case groupsNotSupported(fieldNumber: Int)
    /// A length prefix points past the end of the enclosing data.
    case lengthPastEnd(length: UInt64, available: Int)
    /// Messages are nested deeper than ``WireReader/maximumDepth``.
    case nestingTooDeep(limit: Int)
    /// A `string` field does not hold valid UTF-8.
    case invalidUTF8(fieldNumber: Int)

    public var description: String {
        switch self {
        case .truncated: return "truncated input"
        case .malformedVarint: return "malformed varint (longer than 10 bytes)"
        case .invalidTag(let tag): return "invalid tag \(tag)"
        case .groupsNotSupported(let number): return "group wire type on field \(number) (groups are not supported)"
        case .lengthPastEnd(let length, let available):
            return "length \(length) runs past the end of the input (\(available) bytes left)"
        case .nestingTooDeep(let limit): return "messages nested deeper than \(limit) levels"
        case .invalidUTF8(let number): return "field \(number): string is not valid UTF-8"
        }
    }
}
