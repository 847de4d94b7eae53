/// One step of the path to a JSON value: an object key or an array index.
public enum JSONPathComponent: Hashable, Sendable {
    case key(String)
    case index(Int)
}

/// Why JSON does not decode into a message, with the path of the offending value.
///
/// Its description reads like `$.items[3].price: expected number`.
public struct JSONDecodingError: Error, Hashable, Sendable, CustomStringConvertible {
    /// Where in the document the problem is, outermost first.
    public var path: [JSONPathComponent]
    /// What is wrong there.
    public var reason: String
    /// The byte offset in the input where it was noticed.
    public var offset: Int

    /// - Parameters:
    ///   - reason: what is wrong.
    ///   - offset: the byte offset where it was noticed.
    ///   - path: the path to the value.
    public init(_ reason: String, offset: Int = 0, path: [JSONPathComponent] = []) {
        self.reason = reason
        self.offset = offset
        self.path = path
    }

    /// The same error one level further out.
    public func prefixed(_ component: JSONPathComponent) -> JSONDecodingError {
        var copy = self
        copy.path.insert(component, at: 0)
        return copy
    }

    /// The path written as `$.a.b[3]`.
    public var pathString: String {
        var result = "$"
        for component in path {
            switch component {
            case .key(let key):
                if key.utf8.allSatisfy({ Base64.isIdentifierByte($0) }) && !key.isEmpty {
                    result += ".\(key)"
                } else {
                    result += "[\"\(key.replacingJSONSpecials())\"]"
                }
            case .index(let index): result += "[\(index)]"
            }
        }
        return result
    }

    public var description: String { "\(pathString): \(reason)" }
}

extension String {
    fileprivate func replacingJSONSpecials() -> String {
        var out = ""
        for ch in self {
            switch ch {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            default: out.append(ch)
            }
        }
        return out
    }
}
