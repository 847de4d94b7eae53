import Foundation
import ProtoRuntime
public import RPC

/// Keyset page tokens: the sort key of the last row of a page, opaque to clients
/// (base64url of `v1:<fields joined by \u{1F}>`). A token that does not decode is INVALID_ARGUMENT.
public enum PageToken {
    /// What a token that does not decode is.
    public static let invalid = RPCError(
        code: .invalidArgument,
        message: "page_token is not a token this service issued"
    )

    public static func encode(_ fields: [String]) -> String {
        Base64URL.encode(Data(("v1:" + fields.joined(separator: "\u{1F}")).utf8))
    }

    /// The fields of `token` (`expecting` of them); nil for an empty token (the first page).
    public static func decode(_ token: String, expecting count: Int) throws -> [String]? {
        if token.isEmpty { return nil }
        guard token.utf8.count <= 512, let data = Base64URL.decode(token),
            let text = String(data: data, encoding: .utf8),
            text.hasPrefix("v1:")
        else { throw invalid }
        let fields = text.dropFirst(3).split(separator: "\u{1F}", omittingEmptySubsequences: false).map(String.init)
        guard fields.count == count else { throw invalid }
        return fields
    }

    /// A page size: 0 means `defaultSize`; more than `maximum` is INVALID_ARGUMENT.
    public static func size(_ requested: Int32, default defaultSize: Int = 50, maximum: Int = 100) throws -> Int {
        if requested == 0 { return defaultSize }
        guard requested > 0, Int(requested) <= maximum else {
            throw RPCError(code: .invalidArgument, message: "page_size must be between 1 and \(maximum)")
        }
        return Int(requested)
    }
}
