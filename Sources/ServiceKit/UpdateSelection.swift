import RPC

/// Which fields a partial update changes: those named in its `update_mask`, or, with no mask,
/// those present (set optionals and messages, non-empty lists). A mask naming an unknown field
/// is INVALID_ARGUMENT.
public struct UpdateSelection: Sendable {
    public let mask: Set<String>

    public init(mask: [String], known: Set<String>) throws {
        for name in mask where !known.contains(name) {
            throw RPCError(code: .invalidArgument, message: "update_mask names unknown field '\(name)'")
        }
        self.mask = Set(mask)
    }

    public func wants(_ field: String, present: Bool) -> Bool { mask.isEmpty ? present : mask.contains(field) }
}
