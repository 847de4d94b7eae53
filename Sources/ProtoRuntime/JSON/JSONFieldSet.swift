/// Tracks which fields (and oneofs) a JSON object has set, to reject duplicates as protobuf does.
public struct JSONFieldSet {
    @usableFromInline var low: UInt64 = 0
    @usableFromInline var high: Set<Int> = []

    @inlinable
    public init() {}

    @inlinable
    mutating func insertIndex(_ index: Int) -> Bool {
        if index < 64 {
            let bit = UInt64(1) << UInt64(index)
            if low & bit != 0 { return false }
            low |= bit
            return true
        }
        return high.insert(index).inserted
    }

    /// Records field `index`; throws if the object already set it (under either of its names).
    @inlinable
    public mutating func insert(_ index: Int, key: String) throws {
        guard insertIndex(index) else { throw JSONDecodingError("field set more than once") }
    }

    /// Records that oneof `index` has a member set; throws if another member was set already.
    @inlinable
    public mutating func insert(_ index: Int, key: String, oneof: String) throws {
        guard insertIndex(index) else {
            throw JSONDecodingError("more than one field of oneof '\(oneof)' is set")
        }
    }
}
