/// A request field that breaks its schema rule (`rpc.v1.rules`), thrown by a generated
/// `validate()`. The RPC server answers it with INVALID_ARGUMENT before the handler runs.
///
/// Not named `ValidationError`: ArgumentParser exports that name, and modules import both.
public struct FieldViolation: Error, Hashable, Sendable, CustomStringConvertible {
    /// The field's path from the request: `title`, `structured_address.street`,
    /// `certifications[0].name`.
    public var field: String
    /// What the rule wants, without the field: `must be at most 255 characters and 1020 bytes`.
    public var reason: String
    /// The schema's `error_message` for the field, which replaces the generated text.
    public var message: String?

    public init(field: String, reason: String, message: String? = nil) {
        self.field = field
        self.reason = reason
        self.message = message
    }

    /// The text for people: the schema's `error_message`, or the path and the reason.
    public var description: String { message ?? field + " " + reason }

    /// The violation seen from the message holding this one's message in its field `prefix`.
    public func under(_ prefix: String) -> FieldViolation {
        FieldViolation(field: prefix + "." + field, reason: reason, message: message)
    }
}
