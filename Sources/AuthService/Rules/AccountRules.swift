import RPC
import ServiceKit

/// The account rules (INVALID_ARGUMENT with a message naming the field and the rule).
enum AccountRules {
    static let usernameCharacters = Set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-")

    static func username(_ value: String) throws -> String {
        guard (3...50).contains(value.count), value.allSatisfy({ usernameCharacters.contains($0) }) else {
            throw RPCError(code: .invalidArgument, message: "username must be 3-50 characters of letters, digits, '_', '.' and '-'")
        }
        return value
    }

    static let localCharacters = Set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789!#$%&'*+/=?^_`{|}~.-")
    static let domainCharacters = Set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-")

    /// A syntactically valid address (RFC 5321's dot-atom local part and a DNS domain with at
    /// least two labels), returned with its domain lower-cased.
    static func email(_ value: String) throws -> String {
        let invalid = RPCError(code: .invalidArgument, message: "email is not a valid e-mail address")
        guard value.utf8.count <= 254, value.unicodeScalars.allSatisfy(\.isASCII) else { throw invalid }
        let parts = value.split(separator: "@", omittingEmptySubsequences: false)
        guard parts.count == 2 else { throw invalid }
        let local = parts[0]
        let domain = parts[1].lowercased()
        guard (1...64).contains(local.count), local.allSatisfy({ localCharacters.contains($0) }), !local.hasPrefix("."),
            !local.hasSuffix("."), !local.contains("..")
        else { throw invalid }
        let labels = domain.split(separator: ".", omittingEmptySubsequences: false)
        guard labels.count >= 2, domain.count <= 253 else { throw invalid }
        for label in labels {
            guard (1...63).contains(label.count), label.allSatisfy({ domainCharacters.contains($0) }), !label.hasPrefix("-"),
                !label.hasSuffix("-")
            else { throw invalid }
        }
        guard let top = labels.last, top.count >= 2, top.allSatisfy(\.isLetter) else { throw invalid }
        return "\(local)@\(domain)"
    }

    static func password(_ value: String) throws -> String {
        guard TextLimit.fits(value, characters: 8...128) else {
            throw RPCError(code: .invalidArgument, message: "password must be 8-128 characters and at most \(TextLimit.bytes(128)) bytes")
        }
        return value
    }
}
