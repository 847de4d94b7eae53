import Access
import Foundation
import HTTPTypes
import Hummingbird
import ProtoRuntime
import RPC
import RPCSchema

/// The legacy contract: a route's request built from the body, query and path in the contract's
/// spellings, the call, and the answer in the contract's envelope and shapes.
extension Gateway {
    /// Serves `route` with the path's `parameters`.
    func legacyCall(_ route: HTTPRoute, parameters: [String: String], request: Request, context: GatewayContext)
        async throws -> Response
    {
        let authorization = request.headers[.authorization]
        if let rule = route.access, !rule.public {
            let caller = try earlyAccessCheck(rule, authorization: authorization)
            if let wait = userLimiter.take(caller.subject) {
                throw HTTPFailure(
                    status: 429,
                    detail: "Rate limit exceeded for this user; retry in \(wait) s",
                    headers: [("Retry-After", String(wait))]
                )
            }
        }
        guard let info = pool.methods["\(route.method.service)/\(route.method.method)"] else {
            throw HTTPFailure(status: 500, detail: "Internal server error")
        }
        let members = try await requestMembers(route, info: info, parameters: parameters, request: request)
        let canonical = try legacy.canonical(.object(members), as: info.inputType)
        // The contract's lists are whole arrays: unless the client pages itself (page_size or
        // page_token in the query), the pages are followed up to `legacyListLimit` items.
        let paged = members.contains { $0.0 == "page_token" || $0.0 == "page_size" }
        let wholeList = !paged && pool.messages[info.inputType]?.field(named: "page_token") != nil
        var json = try await legacyRPC(
            route,
            info: info,
            canonical: wholeList ? with(canonical, pageSize: 100, token: "") : canonical,
            authorization: authorization,
            context: context
        )
        if wholeList {
            var count = json.arrayCount
            while case .string(let next)? = json["next_page_token"], !next.isEmpty,
                count < configuration.legacyListLimit
            {
                let more = try await legacyRPC(
                    route,
                    info: info,
                    canonical: with(canonical, pageSize: 100, token: next),
                    authorization: authorization,
                    context: context
                )
                json = json.appendingArrays(of: more)
                count = json.arrayCount
            }
        }
        let data = Presentations.table[route.presentation].map { $0(json) } ?? json
        var response = GatewayResponse.json(
            200,
            .object([
                ("success", .bool(true)), ("data", data),
                ("message", .string(route.message.isEmpty ? "Success" : route.message)), ("error", .null),
            ])
        )
        // The contract's arrays have no room for the next page's token: it goes in a header.
        if case .string(let next)? = json["next_page_token"], !next.isEmpty,
            let header = HTTPField.Name("x-next-page-token")
        {
            response.headers[header] = next
        }
        return response
    }

    /// The request's members in the contract's spellings: the body (if the route takes one),
    /// the route's bound headers, then the query (GET), then the path.
    func requestMembers(
        _ route: HTTPRoute,
        info: DescriptorPool.MethodInfo,
        parameters: [String: String],
        request: Request
    ) async throws -> [(String, JSONValue)] {
        var members: [(String, JSONValue)] = []
        if route.body == "*" {
            let body = try await collect(request)
            guard !body.isEmpty else { throw HTTPFailure(status: 422, detail: "a JSON body is required") }
            let parsed: JSONValue
            do { parsed = try JSONValue.parse(body) } catch {
                throw HTTPFailure(status: 422, detail: "the body is not valid JSON: \(error)")
            }
            guard case .object(let bodyMembers) = parsed else {
                throw HTTPFailure(status: 422, detail: "the body must be a JSON object")
            }
            members = bodyMembers
        } else {
            _ = try await collect(request)
        }
        for binding in route.headers {
            guard let name = HTTPField.Name(binding.name), let value = request.headers[name] else { continue }
            if let given = members.first(where: { $0.0 == binding.field })?.1, given != .string(""), given != .null {
                guard given == .string(value) else {
                    throw HTTPFailure(status: 422, detail: "\(binding.name) and the body's \(binding.field) differ")
                }
                continue
            }
            members.removeAll { $0.0 == binding.field }
            members.append((binding.field, .string(value)))
        }
        if request.method == .get, let message = pool.messages[info.inputType] {
            for (key, value) in Gateway.queryItems(request.uri.query) {
                let name = LegacyCodec.aliases[String(key)] ?? String(key)
                guard let field = message.field(named: name) else { continue }
                if value.isEmpty {
                    switch field.kind {
                    case .string, .enumeration: continue
                    default: throw HTTPFailure(status: 422, detail: "\(key) must not be empty")
                    }
                }
                members.removeAll { $0.0 == String(key) }
                members.append((String(key), .string(String(value))))
            }
        }
        for (name, value) in parameters {
            members.removeAll { $0.0 == name }
            members.append((name, .string(value)))
        }
        return members
    }

    /// One call of a legacy route: canonical JSON in, the canonical response (proto names,
    /// defaults written) out, decoded straight into the tree; RPC errors become the contract's
    /// `{"detail"}` errors.
    func legacyRPC(
        _ route: HTTPRoute,
        info: DescriptorPool.MethodInfo,
        canonical: JSONValue,
        authorization: String?,
        context: GatewayContext
    ) async throws -> JSONValue {
        let payload: [UInt8]
        do { payload = try codec.encode(canonical, as: info.inputType) } catch {
            throw HTTPFailure(status: 422, detail: "invalid request: \(error)")
        }
        let output: [UInt8]
        do {
            output = try await call(route.method, payload: payload, authorization: authorization, context: context)
        } catch let error as RPCError {
            throw HTTPFailure(
                status: Gateway.legacyStatus(error),
                detail: Gateway.legacyDetail(error),
                headers: Gateway.retryAfter(error)
            )
        }
        return try codec.jsonValue(
            from: output,
            as: info.outputType,
            options: JSONEncodingOptions(emitDefaults: true, preserveProtoFieldNames: true)
        )
    }

    /// `request` asking for the page of `pageSize` after `token` (the first with no token).
    func with(_ request: JSONValue, pageSize: Int, token: String) -> JSONValue {
        guard case .object(var members) = request else { return request }
        members.removeAll { $0.0 == "page_size" || $0.0 == "page_token" }
        members.append(("page_size", .number(String(pageSize))))
        if !token.isEmpty { members.append(("page_token", .string(token))) }
        return .object(members)
    }

    /// A query string's items, decoded as HTML forms encode them (`+` is a space).
    static func queryItems(_ query: String?) -> [(String, String)] {
        guard let query, !query.isEmpty else { return [] }
        return query.split(separator: "&").compactMap { item in
            let parts = item.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            func decode(_ text: Substring) -> String {
                let spaced = text.replacingOccurrences(of: "+", with: " ")
                return spaced.removingPercentEncoding ?? spaced
            }
            guard let key = parts.first, !key.isEmpty else { return nil }
            return (decode(key), parts.count > 1 ? decode(parts[1]) : "")
        }
    }
}
