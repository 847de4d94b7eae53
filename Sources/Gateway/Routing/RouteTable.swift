import Foundation
import RPC
import RPCSchema

/// One HTTP route of the schema: a method's `(gateway.v1.http)` option.
struct HTTPRoute: Sendable {
    enum Segment: Sendable, Hashable {
        case literal(String)
        /// `{field}`: fills the request field of that name.
        case variable(String)
    }

    let verb: String
    let path: String
    let segments: [Segment]
    /// "*" (the whole request from the body) or "" (no body).
    let body: String
    let presentation: String
    let message: String
    /// Request headers that fill request fields (`Idempotency-Key` → `idempotency_key`).
    let headers: [(name: String, field: String)]
    let method: MethodDescriptor
    let access: AccessRule?
}

/// The gateway's route table, built from the schema's HTTP options (never written by hand): the
/// routes registered on Hummingbird's router, and the contract's verdict where the router's trie
/// has none (see ``ContractRoutingMiddleware``).
struct RouteTable: Sendable {
    let routes: [HTTPRoute]

    init(methods: [MethodDescriptor]) {
        var routes: [HTTPRoute] = []
        for method in methods {
            guard let rule = method.httpRule else { continue }
            for binding in [rule] + rule.additionalBindings {
                let pair: (String, String)?
                switch binding.pattern {
                case .get(let path)?: pair = ("GET", path)
                case .post(let path)?: pair = ("POST", path)
                case .put(let path)?: pair = ("PUT", path)
                case .patch(let path)?: pair = ("PATCH", path)
                case .delete(let path)?: pair = ("DELETE", path)
                case nil: pair = nil
                }
                guard let (verb, path) = pair else { continue }
                let segments = path.split(separator: "/").map { part -> HTTPRoute.Segment in
                    if part.hasPrefix("{"), part.hasSuffix("}") {
                        return .variable(String(part.dropFirst().dropLast()))
                    }
                    return .literal(String(part))
                }
                routes.append(
                    HTTPRoute(
                        verb: verb,
                        path: path,
                        segments: segments,
                        body: binding.body.isEmpty ? rule.body : binding.body,
                        presentation: rule.presentation,
                        message: rule.message,
                        headers: rule.headers.map { ($0.name, $0.field) },
                        method: method,
                        access: method.accessRule
                    )
                )
            }
        }
        self.routes = routes
    }

    enum Match {
        case found(HTTPRoute, [String: String])
        case methodNotAllowed([String])
        /// The same path without its trailing slash has a route.
        case redirect(String)
        case notFound
    }

    /// The longest path (in UTF-8 bytes) the gateway routes; a longer one is refused (414) before
    /// it is split. No route of the schema comes near it.
    static let maximumPathBytes = 2048

    /// Whether `path` has an empty segment (`//` anywhere, or a trailing slash): paths the
    /// contract tells apart from their slash-less forms, and Hummingbird's trie does not.
    static func hasEmptySegment(_ path: String) -> Bool {
        let slash = UInt8(ascii: "/")
        guard path.utf8.count > 1 else { return false }
        if path.utf8.last == slash { return true }
        var previous: UInt8 = 0
        for byte in path.utf8 {
            if byte == slash, previous == slash { return true }
            previous = byte
        }
        return false
    }

    /// The route for `verb` and `path`, in one pass over the path (its length is bounded by
    /// ``maximumPathBytes``; a longer path is `.notFound`).
    ///
    /// A path with a trailing slash whose slash-less form has a route is `.redirect` to it, as
    /// Starlette's `redirect_slashes` does: exactly one slash is stripped, so `/a//` is not `/a`.
    func match(verb: String, path: String) -> Match {
        guard path.utf8.count <= RouteTable.maximumPathBytes else { return .notFound }
        if path.utf8.count > 1, path.utf8.last == UInt8(ascii: "/") {
            // A byte-wise cut: the slash is ASCII, so the rest is whole scalars.
            let trimmed = String(path[..<path.utf8.index(before: path.utf8.endIndex)])
            if case .notFound = matchExact(verb: verb, path: trimmed) { return .notFound }
            return .redirect(trimmed)
        }
        return matchExact(verb: verb, path: path)
    }

    /// The route whose segments are exactly the path's (no slash stripping).
    private func matchExact(verb: String, path: String) -> Match {
        let parts = path.split(separator: "/", omittingEmptySubsequences: false).dropFirst().map(String.init)
        var candidates: [(HTTPRoute, [String: String])] = []
        for route in routes where route.segments.count == parts.count {
            var parameters: [String: String] = [:]
            var matched = true
            for (segment, part) in zip(route.segments, parts) {
                switch segment {
                case .literal(let literal): matched = literal == part
                case .variable(let name):
                    matched = !part.isEmpty
                    parameters[name] = part.removingPercentEncoding ?? part
                }
                if !matched { break }
            }
            if matched { candidates.append((route, parameters)) }
        }
        guard !candidates.isEmpty else { return .notFound }
        // Literal segments win over variables, position by position (`/orders/pending-review`
        // before `/orders/{order_id}`).
        func rank(_ route: HTTPRoute) -> [Int] { route.segments.map { if case .literal = $0 { 0 } else { 1 } } }
        let sameVerb = candidates.filter { $0.0.verb == verb || (verb == "HEAD" && $0.0.verb == "GET") }
        guard let best = sameVerb.min(by: { rank($0.0).lexicographicallyPrecedes(rank($1.0)) }) else {
            return .methodNotAllowed(Array(Set(candidates.map(\.0.verb))).sorted())
        }
        return .found(best.0, best.1)
    }
}
