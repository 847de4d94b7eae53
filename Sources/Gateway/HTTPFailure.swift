import HTTPTypes
import Hummingbird
import NIOCore
import ProtoRuntime
import RPC

/// An HTTP-level refusal (a bad body, a rate limit, a verb, a size, a service's error on a legacy
/// route): thrown anywhere in the gateway and answered in the shape of the endpoint asked —
/// `{"detail": …}` on the legacy routes, `{"code", "message"}` (the RPC code closest to the
/// status) on `/rpc`.
struct HTTPFailure: HTTPResponseError {
    /// The HTTP status code.
    var code: Int
    var detail: String
    var headers: [(String, String)] = []

    init(status: Int, detail: String, headers: [(String, String)] = []) {
        self.code = status
        self.detail = detail
        self.headers = headers
    }

    var status: HTTPResponse.Status { HTTPResponse.Status(code: code) }

    func response(from request: Request, context: some RequestContext) throws -> Response {
        var response =
            request.uri.path.hasPrefix("/rpc/")
            ? GatewayResponse.rpcFailure(code, detail) : GatewayResponse.detail(code, detail)
        for (name, value) in headers { if let field = HTTPField.Name(name) { response.headers[field] = value } }
        return response
    }
}

/// The gateway's JSON answers.
enum GatewayResponse {
    /// `value` as the body, `application/json`.
    static func json(_ status: Int, _ value: JSONValue) -> Response {
        var response = Response(
            status: HTTPResponse.Status(code: status),
            body: .init(byteBuffer: ByteBuffer(bytes: value.serialized))
        )
        response.headers[.contentType] = "application/json"
        return response
    }

    /// The legacy contract's error: `{"detail": text}`.
    static func detail(_ status: Int, _ text: String) -> Response { json(status, .object([("detail", .string(text))])) }

    /// An HTTP-level refusal on `/rpc`, in that endpoint's error shape, with the RPC code closest
    /// to the status.
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
}
