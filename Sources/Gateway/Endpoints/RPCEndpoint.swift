import HTTPTypes
import Hummingbird
import NIOCore
import ProtoRuntime
import RPC

extension Gateway {
    /// `POST /rpc/<package.Service>/<Method>` with canonical proto3 JSON, answered in kind;
    /// errors as `{"code": "NOT_FOUND", "message": "…"}`.
    /// - Parameter path: `/package.Service/Method`.
    func rpc(_ request: Request, path: String, context: GatewayContext) async throws -> Response {
        guard let method = methods[path], let info = pool.methods[String(path.dropFirst())] else {
            return GatewayResponse.rpcUnknownMethod(path)
        }
        guard !method.kind.clientStreams, !method.kind.serverStreams else {
            return GatewayResponse.json(
                400,
                .object([
                    ("code", .string("INVALID_ARGUMENT")),
                    ("message", .string("\(path) streams; use the binary protocol")),
                ])
            )
        }
        let body = try await collect(request)
        let payload: [UInt8]
        do { payload = try codec.encode(json: body.isEmpty ? Array("{}".utf8) : body, as: info.inputType) } catch {
            return GatewayResponse.json(
                400,
                .object([("code", .string("INVALID_ARGUMENT")), ("message", .string("invalid request: \(error)"))])
            )
        }
        do {
            let output = try await call(
                method,
                payload: payload,
                authorization: request.headers[.authorization],
                context: context
            )
            var response = Response(
                status: .ok,
                body: .init(byteBuffer: ByteBuffer(bytes: try codec.json(from: output, as: info.outputType)))
            )
            response.headers[.contentType] = "application/json"
            return response
        } catch let error as RPCError {
            var response = GatewayResponse.json(
                Gateway.rpcStatus(error),
                .object([("code", .string(error.code.name)), ("message", .string(error.message))])
            )
            for (name, value) in Gateway.retryAfter(error) {
                if let field = HTTPField.Name(name) { response.headers[field] = value }
            }
            return response
        }
    }

    /// The request body, up to ``GatewayConfiguration/maximumBodyBytes`` (413 past it).
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
}

extension GatewayResponse {
    /// `/rpc` for a method the schema does not have: 404 UNIMPLEMENTED.
    static func rpcUnknownMethod(_ path: String) -> Response {
        json(404, .object([("code", .string("UNIMPLEMENTED")), ("message", .string("no method \(path)"))]))
    }
}
