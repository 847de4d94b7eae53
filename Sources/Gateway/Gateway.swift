import Access
public import Crypto
import Foundation
public import Hummingbird
import HTTPTypes
import HummingbirdCore
public import Logging
import MarketplaceAPI
import NIOConcurrencyHelpers
import NIOCore
public import Prometheus
import ProtoRuntime
public import RPC
import RPCSchema
public import ServiceLifecycle

/// The gateway's settings.
public struct GatewayConfiguration: Sendable {
    public var host = "127.0.0.1"
    /// 0 picks a free port.
    public var port = 8080
    /// Larger bodies get 413.
    public var maximumBodyBytes = 1 << 20
    /// Per client IP: burst and sustained requests per minute (token bucket).
    public var perIP = (burst: 300, perMinute: 1200)
    /// Per signed-in user.
    public var perUser = (burst: 200, perMinute: 600)
    /// How long the gateway waits for a service.
    public var callTimeout: Duration = .seconds(10)
    /// The legacy list routes return whole arrays (following pages) up to this many items.
    public var legacyListLimit = 1000
    /// Behind one load balancer: take the client address for rate limits from the last
    /// `X-Forwarded-For` entry, the one the balancer appended (never set this when clients reach
    /// the gateway directly).
    public var trustForwardedFor = false
    /// A connection's first request head (request line and headers) must arrive within this
    /// long of the connection opening, or the connection is closed.
    public var requestHeadTimeout: Duration = .seconds(10)
    /// A connection waiting for a request (after opening, or after its last response) longer
    /// than this is closed; a request head that never completes counts as waiting.
    public var idleTimeout: Duration = .seconds(60)

    public init() {}
}

/// Which addresses serve which service (several addresses: replicas, round-robin).
public struct GatewayBackends: Sendable {
    public var endpoints: [String: [Endpoint]]

    /// - Parameter endpoints: by full service name (`marketplace.v1.Orders`).
    public init(_ endpoints: [String: [Endpoint]]) { self.endpoints = endpoints }
}

/// The request context: Hummingbird's basics plus the peer's address (for rate limits).
public struct GatewayContext: RequestContext {
    public var coreContext: CoreRequestContextStorage
    let peer: String

    public init(source: ApplicationRequestContextSource) {
        coreContext = .init(source: source)
        peer = source.channel.remoteAddress?.ipAddress ?? "unknown"
    }
}

/// The front door: the legacy `/api/v1` contract and `/rpc/<Service>/<Method>` JSON over the
/// binary services, with its route table generated from the schema's `(rpc.v1.http)` options.
public final class Gateway: Sendable {
    let table: RouteTable
    let pool: DescriptorPool
    let codec: DynamicCodec
    let legacy: LegacyCodec
    let clients: [String: RPCClient]
    let verifier: TokenVerifier
    let configuration: GatewayConfiguration
    let ipLimiter: RateLimiter
    let userLimiter: RateLimiter
    let registry: PrometheusCollectorRegistry
    let logger: Logger
    /// Every method the gateway knows, by `/package.Service/Method`.
    let methods: [String: MethodDescriptor]
    /// The OpenAPI document, built once.
    let openAPI: [UInt8]

    /// The schema the gateway serves: every marketplace service.
    static let services: [(name: String, methods: [MethodDescriptor], files: [EmbeddedFileDescriptor])] = [
        (Auth.serviceName, Auth.Method.all, Auth.files), (Users.serviceName, Users.Method.all, Users.files),
        (Orders.serviceName, Orders.Method.all, Orders.files), (Payments.serviceName, Payments.Method.all, Payments.files),
        (Reviews.serviceName, Reviews.Method.all, Reviews.files), (Notifications.serviceName, Notifications.Method.all, Notifications.files),
    ]

    /// The descriptors of every service's files (each file once).
    static func schemaPool() throws -> DescriptorPool {
        var files: [String: [UInt8]] = [:]
        for service in services { for file in service.files { files[file.path] = file.serialized } }
        return try DescriptorPool(serializedFiles: Array(files.values))
    }

    public init(
        configuration: GatewayConfiguration, backends: GatewayBackends, authPublicKey: Curve25519.Signing.PublicKey,
        registry: PrometheusCollectorRegistry = PrometheusCollectorRegistry(), logger: Logger
    ) throws {
        pool = try Gateway.schemaPool()
        codec = DynamicCodec(pool: pool)
        legacy = LegacyCodec(pool: pool)
        let all = Gateway.services.flatMap(\.methods)
        table = RouteTable(methods: all)
        methods = Dictionary(all.map { ($0.path, $0) }, uniquingKeysWith: { first, _ in first })
        clients = backends.endpoints.mapValues { RPCClient(endpoints: $0) }
        // Service tokens never come through the gateway: their key is one nobody holds.
        verifier = TokenVerifier(accessKey: authPublicKey, serviceKey: Curve25519.Signing.PrivateKey().publicKey)
        self.configuration = configuration
        ipLimiter = RateLimiter(capacity: configuration.perIP.burst, perMinute: configuration.perIP.perMinute)
        userLimiter = RateLimiter(capacity: configuration.perUser.burst, perMinute: configuration.perUser.perMinute)
        self.registry = registry
        self.logger = logger
        openAPI = OpenAPI.bytes(pool: pool, routes: table, methods: all)
    }

    // MARK: Responding

    func respond(to request: Request, context: GatewayContext) async -> Response {
        let requestID = request.headers[.init("x-request-id")!].flatMap { $0.count <= 64 ? $0 : nil } ?? UUID().uuidString.lowercased()
        let started = ContinuousClock.now
        var response: Response
        // `/rpc` answers every error as `{"code", "message"}`; the legacy routes as `{"detail"}`.
        let rpcPath = request.uri.path.hasPrefix("/rpc/")
        do {
            response = try await route(request, context: context, requestID: requestID)
        } catch let failure as HTTPFailure {
            response = rpcPath ? Gateway.rpcFailure(failure.status, failure.detail) : Gateway.detail(failure.status, failure.detail)
            for (name, value) in failure.headers { if let field = HTTPField.Name(name) { response.headers[field] = value } }
        } catch {
            logger.error("unhandled gateway error", metadata: ["error": "\(error)", "request-id": "\(requestID)"])
            response = rpcPath ? Gateway.rpcFailure(500, "internal error") : Gateway.detail(500, "Internal server error")
        }
        Gateway.addCORS(&response)
        response.headers[.init("x-request-id")!] = requestID
        let status = String(response.status.code)
        registry.makeCounter(descriptor: MetricNameDescriptor(metricName: "gateway_requests_total", unitName: "requests", helpText: "HTTP requests by status"), labels: [("status", status)]).increment()
        let elapsed = ContinuousClock.now - started
        logger.info(
            "request",
            metadata: [
                "request-id": "\(requestID)", "method": "\(request.method.rawValue)", "path": "\(request.uri.path.prefix(256))", "status": "\(status)",
                "ms": "\(elapsed.components.seconds * 1000 + elapsed.components.attoseconds / 1_000_000_000_000_000)",
            ])
        return response
    }

    func route(_ request: Request, context: GatewayContext, requestID: String) async throws -> Response {
        let path = request.uri.path
        let verb = request.method.rawValue
        // Checked before anything splits or decodes them.
        guard path.utf8.count <= RouteTable.maximumPathBytes else {
            throw HTTPFailure(status: 414, detail: "URI Too Long: the path is longer than \(RouteTable.maximumPathBytes) bytes")
        }
        guard (request.uri.query?.utf8.count ?? 0) <= Gateway.maximumQueryBytes else {
            throw HTTPFailure(status: 414, detail: "URI Too Long: the query is longer than \(Gateway.maximumQueryBytes) bytes")
        }
        if verb == "OPTIONS" { return Gateway.preflight(request) }
        switch (verb, path) {
        case ("GET", "/health"):
            return Gateway.json(200, .object([("status", .string("healthy")), ("service", .string("gateway-service")), ("version", .string("1.0.0"))]))
        case ("GET", "/healthz"): return await health()
        case ("GET", "/api/v1/openapi.json"):
            var response = Response(status: .ok, body: .init(byteBuffer: ByteBuffer(bytes: openAPI)))
            response.headers[.contentType] = "application/json"
            return response
        case ("GET", "/metrics"):
            var response = Response(status: .ok, body: .init(byteBuffer: ByteBuffer(bytes: registry.emitToBuffer())))
            response.headers[.contentType] = "text/plain; version=0.0.4"
            return response
        default: break
        }
        // Behind a trusted balancer the client is the last X-Forwarded-For entry (the one the
        // balancer appended); entries before it are whatever the client claimed.
        let client = configuration.trustForwardedFor
            ? (request.headers[.init("x-forwarded-for")!]?.split(separator: ",").last.map { $0.trimmingCharacters(in: .whitespaces) } ?? context.peer)
            : context.peer
        if let wait = ipLimiter.take(client) {
            throw HTTPFailure(status: 429, detail: "Rate limit exceeded: too many requests from this address; retry in \(wait) s", headers: [("Retry-After", String(wait))])
        }
        // The services (auth's per-source limits) learn who the client is.
        return try await Gateway.$clientAddress.withValue(client) { try await routeAPI(request, path: path, verb: verb, requestID: requestID) }
    }

    /// The client of the request being served (for `x-client-address` on backend calls).
    @TaskLocal static var clientAddress: String?

    func routeAPI(_ request: Request, path: String, verb: String, requestID: String) async throws -> Response {
        if path.hasPrefix("/rpc/") {
            guard verb == "POST" else { throw HTTPFailure(status: 405, detail: "Method Not Allowed") }
            return try await rpc(request, path: String(path.dropFirst(4)), requestID: requestID)
        }
        guard path.hasPrefix("/api/v1/") else { throw HTTPFailure(status: 404, detail: "Not Found") }
        switch table.match(verb: verb, path: path) {
        case .notFound: throw HTTPFailure(status: 404, detail: "Not Found")
        case .methodNotAllowed(let allowed):
            throw HTTPFailure(status: 405, detail: "Method Not Allowed", headers: [("Allow", allowed.joined(separator: ", "))])
        case .redirect(let target):
            var response = Response(status: .temporaryRedirect)
            response.headers[.location] = target + (request.uri.query.map { "?" + $0 } ?? "")
            return response
        case .found(let route, let parameters):
            return try await legacyCall(route, parameters: parameters, request: request, requestID: requestID)
        }
    }

    // MARK: The legacy contract

    func legacyCall(_ route: HTTPRoute, parameters: [String: String], request: Request, requestID: String) async throws -> Response {
        let authorization = request.headers[.authorization]
        if let rule = route.access, !rule.public {
            let caller = try precheck(authorization)
            try checkRole(rule, caller: caller)
            if let wait = userLimiter.take(caller.subject) {
                throw HTTPFailure(status: 429, detail: "Rate limit exceeded for this user; retry in \(wait) s", headers: [("Retry-After", String(wait))])
            }
        }
        guard let info = pool.methods["\(route.method.service)/\(route.method.method)"] else { throw HTTPFailure(status: 500, detail: "Internal server error") }
        // The request: the body (if the route takes one), then the query (GET), then the path.
        var members: [(String, JSONValue)] = []
        if route.body == "*" {
            let body = try await collect(request)
            guard !body.isEmpty else { throw HTTPFailure(status: 422, detail: "a JSON body is required") }
            let parsed: JSONValue
            do { parsed = try JSONValue.parse(body) } catch { throw HTTPFailure(status: 422, detail: "the body is not valid JSON: \(error)") }
            guard case .object(let bodyMembers) = parsed else { throw HTTPFailure(status: 422, detail: "the body must be a JSON object") }
            members = bodyMembers
        } else {
            _ = try await collect(request)
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
        let canonical = try legacy.canonical(.object(members), as: info.inputType)
        // The contract's lists are whole arrays: unless the client pages itself (page_size or
        // page_token in the query), the pages are followed up to `legacyListLimit` items.
        let paged = members.contains { $0.0 == "page_token" || $0.0 == "page_size" }
        let wholeList = !paged && pool.messages[info.inputType]?.field(named: "page_token") != nil
        var json = try await legacyRPC(route, info: info, canonical: wholeList ? with(canonical, pageSize: 100, token: "") : canonical,
            authorization: authorization, requestID: requestID)
        if wholeList {
            var count = json.arrayCount
            while case .string(let next)? = json["next_page_token"], !next.isEmpty, count < configuration.legacyListLimit {
                let more = try await legacyRPC(
                    route, info: info, canonical: with(canonical, pageSize: 100, token: next), authorization: authorization, requestID: requestID)
                json = json.appendingArrays(of: more)
                count = json.arrayCount
            }
        }
        let data = Presentations.table[route.presentation].map { $0(json) } ?? json
        var response = Gateway.json(
            200,
            .object([("success", .bool(true)), ("data", data), ("message", .string(route.message.isEmpty ? "Success" : route.message)), ("error", .null)]))
        // The contract's arrays have no room for the next page's token: it goes in a header.
        if case .string(let next)? = json["next_page_token"], !next.isEmpty {
            response.headers[.init("x-next-page-token")!] = next
        }
        return response
    }

    /// One call of a legacy route: canonical JSON in, the canonical response (proto names,
    /// defaults written) out; RPC errors become the contract's `{"detail"}` errors.
    func legacyRPC(
        _ route: HTTPRoute, info: DescriptorPool.MethodInfo, canonical: JSONValue, authorization: String?, requestID: String
    ) async throws -> JSONValue {
        let payload: [UInt8]
        do { payload = try codec.encode(canonical, as: info.inputType) } catch {
            throw HTTPFailure(status: 422, detail: "invalid request: \(error)")
        }
        let output: [UInt8]
        do {
            output = try await call(route.method, payload: payload, authorization: authorization, requestID: requestID)
        } catch let error as RPCError {
            throw HTTPFailure(status: Gateway.legacyStatus(error), detail: Gateway.legacyDetail(error), headers: Gateway.retryAfter(error))
        }
        return try JSONValue.parse(
            try codec.json(from: output, as: info.outputType, options: JSONEncodingOptions(emitDefaults: true, preserveProtoFieldNames: true)))
    }

    func with(_ request: JSONValue, pageSize: Int, token: String) -> JSONValue {
        guard case .object(var members) = request else { return request }
        members.removeAll { $0.0 == "page_size" || $0.0 == "page_token" }
        members.append(("page_size", .number(String(pageSize))))
        if !token.isEmpty { members.append(("page_token", .string(token))) }
        return .object(members)
    }

    /// The longest query string (UTF-8 bytes) accepted; a longer one is refused (414).
    static let maximumQueryBytes = 8192

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

    /// The early token check: 403 without a bearer token (as the contract has it), 401 for one
    /// that does not verify. The services check again; they are the authority.
    func precheck(_ authorization: String?) throws -> Caller {
        guard let authorization else { throw HTTPFailure(status: 403, detail: "Not authenticated") }
        let parts = authorization.split(separator: " ", maxSplits: 1)
        guard parts.count == 2, parts[0].lowercased() == "bearer" else {
            throw HTTPFailure(status: 403, detail: "Invalid authentication credentials")
        }
        do { return try verifier.caller(for: String(parts[1])) } catch {
            throw HTTPFailure(status: 401, detail: "Invalid token: \(error.description)")
        }
    }

    /// The schema's access decision (shared with the services), as the contract's 403.
    func checkRole(_ rule: AccessRule, caller: Caller) throws {
        switch rule.decision(for: caller, operation: "this operation") {
        case .allowed: return
        case .unauthenticated(let message), .permissionDenied(let message): throw HTTPFailure(status: 403, detail: message)
        }
    }

    // MARK: Generic JSON RPC

    /// `POST /rpc/<package.Service>/<Method>` with canonical proto3 JSON, answered in kind;
    /// errors as `{"code": "NOT_FOUND", "message": "…"}`.
    func rpc(_ request: Request, path: String, requestID: String) async throws -> Response {
        guard let method = methods[path], let info = pool.methods[String(path.dropFirst())] else {
            return Gateway.json(404, .object([("code", .string("UNIMPLEMENTED")), ("message", .string("no method \(path)"))]))
        }
        guard !method.kind.clientStreams, !method.kind.serverStreams else {
            return Gateway.json(400, .object([("code", .string("INVALID_ARGUMENT")), ("message", .string("\(path) streams; use the binary protocol"))]))
        }
        let body = try await collect(request)
        let payload: [UInt8]
        do { payload = try codec.encode(json: body.isEmpty ? Array("{}".utf8) : body, as: info.inputType) } catch {
            return Gateway.json(400, .object([("code", .string("INVALID_ARGUMENT")), ("message", .string("invalid request: \(error)"))]))
        }
        do {
            let output = try await call(method, payload: payload, authorization: request.headers[.authorization], requestID: requestID)
            var response = Response(status: .ok, body: .init(byteBuffer: ByteBuffer(bytes: try codec.json(from: output, as: info.outputType))))
            response.headers[.contentType] = "application/json"
            return response
        } catch let error as RPCError {
            var response = Gateway.json(
                Gateway.rpcStatus(error), .object([("code", .string(error.code.name)), ("message", .string(error.message))]))
            for (name, value) in Gateway.retryAfter(error) { if let field = HTTPField.Name(name) { response.headers[field] = value } }
            return response
        }
    }

    /// `Retry-After` for a RESOURCE_EXHAUSTED answer: the service's `retry-after` trailer, else 1 s.
    static func retryAfter(_ error: RPCError) -> [(String, String)] {
        guard error.code == .resourceExhausted, !error.isMessageTooLarge else { return [] }
        let seconds = error.metadata["retry-after"].flatMap { Int($0) }.map { min(max($0, 1), 3600) } ?? 1
        return [("Retry-After", String(seconds))]
    }

    // MARK: Calling services

    func call(_ method: MethodDescriptor, payload: [UInt8], authorization: String?, requestID: String) async throws -> [UInt8] {
        guard let client = clients[method.service] else {
            throw RPCError(code: .unavailable, message: "Service unavailable: \(method.service) is not configured")
        }
        var metadata = Metadata([(MetadataKeys.requestID, requestID)])
        if let authorization { metadata.add(MetadataKeys.authorization, authorization) }
        if let client = Gateway.clientAddress { metadata.add(MetadataKeys.clientAddress, client) }
        let response = try await client.unary(
            method, request: RawMessage(bytes: payload), responseType: RawMessage.self,
            options: CallOptions(timeout: configuration.callTimeout, metadata: metadata))
        return response.message.bytes
    }

    func health() async -> Response {
        var services: [(String, JSONValue)] = []
        var healthy = true
        for (name, client) in clients.sorted(by: { $0.key < $1.key }) {
            var status = "UNREACHABLE"
            if let answer = try? await Health.Client(client).check(HealthCheckRequest(service: ""), options: CallOptions(timeout: .seconds(2))) {
                let name = answer.status.protoName ?? "UNKNOWN"
                status = name.hasPrefix("SERVING_STATUS_") ? String(name.dropFirst("SERVING_STATUS_".count)) : name
            }
            if status != "SERVING" { healthy = false }
            services.append((name, .string(status)))
        }
        return Gateway.json(healthy ? 200 : 503, .object([("status", .string(healthy ? "ok" : "degraded")), ("services", .object(services))]))
    }

    func collect(_ request: Request) async throws -> [UInt8] {
        do {
            var buffer = try await request.body.collect(upTo: configuration.maximumBodyBytes)
            return buffer.readBytes(length: buffer.readableBytes) ?? []
        } catch is NIOTooManyBytesError {
            throw HTTPFailure(status: 413, detail: "the body is larger than \(configuration.maximumBodyBytes) bytes")
        } catch let error as HTTPError where error.status == .contentTooLarge {
            throw HTTPFailure(status: 413, detail: "the body is larger than \(configuration.maximumBodyBytes) bytes")
        }
    }

    // MARK: Responses

    static func json(_ status: Int, _ value: JSONValue) -> Response {
        var response = Response(status: HTTPResponse.Status(code: status), body: .init(byteBuffer: ByteBuffer(bytes: value.serialized)))
        response.headers[.contentType] = "application/json"
        return response
    }

    static func detail(_ status: Int, _ text: String) -> Response { json(status, .object([("detail", .string(text))])) }

    /// An HTTP-level refusal (rate limit, size, verb) on `/rpc`, in that endpoint's error shape,
    /// with the RPC code closest to the status.
    static func rpcFailure(_ status: Int, _ text: String) -> Response {
        let code: RPCCode
        switch status {
        case 400, 413, 414, 422: code = .invalidArgument
        case 401: code = .unauthenticated
        case 403: code = .permissionDenied
        case 404: code = .notFound
        case 405: code = .unimplemented
        case 429: code = .resourceExhausted
        case 503: code = .unavailable
        default: code = .internalError
        }
        return json(status, .object([("code", .string(code.name)), ("message", .string(text))]))
    }

    /// The contract's CORS: any origin, credentials allowed — on every response, errors and 500s
    /// included (the legacy gateway forgot 500s).
    static func addCORS(_ response: inout Response) {
        if response.headers[.accessControlAllowOrigin] == nil { response.headers[.accessControlAllowOrigin] = "*" }
        response.headers[.accessControlAllowCredentials] = "true"
        response.headers[.accessControlExposeHeaders] = "X-Request-Id, X-Next-Page-Token, Retry-After"
    }

    static func preflight(_ request: Request) -> Response {
        var response = Response(status: .ok)
        response.headers[.accessControlAllowOrigin] = request.headers[.origin] ?? "*"
        response.headers[.accessControlAllowMethods] = "DELETE, GET, HEAD, OPTIONS, PATCH, POST, PUT"
        response.headers[.accessControlAllowHeaders] = request.headers[.accessControlRequestHeaders] ?? "Authorization, Content-Type"
        response.headers[.accessControlMaxAge] = "600"
        response.headers[.vary] = "Origin"
        return response
    }

    /// RPC code → HTTP status on the legacy routes: grpc-gateway's table, except where the
    /// contract says otherwise (a duplicate is 400, as every business-rule refusal).
    static func legacyStatus(_ error: RPCError) -> Int {
        if error.code == .alreadyExists { return 400 }
        return rpcStatus(error)
    }

    /// An answer too large for a frame is no rate limit (429) and retrying cannot help: 502.
    static func rpcStatus(_ error: RPCError) -> Int {
        error.isMessageTooLarge ? 502 : rpcStatus(error.code)
    }

    /// grpc-gateway's mapping.
    static func rpcStatus(_ code: RPCCode) -> Int {
        switch code {
        case .ok: return 200
        case .invalidArgument, .failedPrecondition, .outOfRange: return 400
        case .unauthenticated: return 401
        case .permissionDenied: return 403
        case .notFound: return 404
        case .alreadyExists, .aborted: return 409
        case .resourceExhausted: return 429
        case .cancelled: return 499
        case .unimplemented: return 501
        case .unavailable: return 503
        case .deadlineExceeded: return 504
        default: return 500
        }
    }

    static func legacyDetail(_ error: RPCError) -> String {
        switch error.code {
        case .unavailable where !error.message.hasPrefix("Service unavailable"): return "Service unavailable: \(error.message)"
        case .resourceExhausted where error.isMessageTooLarge:
            return "The answer is too large to send (\(error.message)); ask for less, e.g. with page_size"
        case .internalError, .unknown, .dataLoss: return "Internal server error"
        default: return error.message
        }
    }
}

/// The gateway as a process part: Hummingbird on its port.
public struct GatewayServer: Service {
    public let gateway: Gateway
    let application: Application<CallbackResponder<GatewayContext>>
    let port: NIOLockedValueBox<Int?>
    let waiters: NIOLockedValueBox<[CheckedContinuation<Int, Never>]>

    public init(gateway: Gateway, configuration: GatewayConfiguration, logger: Logger) {
        self.gateway = gateway
        let port = NIOLockedValueBox<Int?>(nil)
        let waiters = NIOLockedValueBox<[CheckedContinuation<Int, Never>]>([])
        self.port = port
        self.waiters = waiters
        application = Application(
            responder: CallbackResponder { request, context in await gateway.respond(to: request, context: context) },
            server: HTTPServerBuilder { responder in
                GatewayHTTP1Channel(
                    base: HTTP1Channel(responder: responder, configuration: .init(idleTimeout: TimeAmount(configuration.idleTimeout))),
                    requestHeadTimeout: TimeAmount(configuration.requestHeadTimeout))
            },
            configuration: ApplicationConfiguration(address: .hostname(configuration.host, port: configuration.port), serverName: "marketplace-gateway"),
            onServerRunning: { channel in
                let bound = channel.localAddress?.port ?? configuration.port
                port.withLockedValue { $0 = bound }
                for waiter in waiters.withLockedValue({ list in defer { list = [] }; return list }) { waiter.resume(returning: bound) }
            },
            logger: logger)
    }

    /// The port it listens on, once it does.
    public var localPort: Int {
        get async {
            await withCheckedContinuation { continuation in
                let ready = port.withLockedValue { port -> Int? in
                    if let port { return port }
                    waiters.withLockedValue { $0.append(continuation) }
                    return nil
                }
                if let ready { continuation.resume(returning: ready) }
            }
        }
    }

    public func run() async throws { try await application.run() }
}
