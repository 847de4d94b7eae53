import Foundation
import HTTPTypes
import Hummingbird

/// Names every request: the client's `x-request-id` (up to 64 characters) or a new UUID, kept in
/// the context (logged, sent to the services) and returned on every response.
struct RequestIDMiddleware: RouterMiddleware {
    typealias Context = GatewayContext

    static let header = HTTPField.Name("x-request-id")

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws
        -> Response
    {
        var context = context
        let given = Self.header.flatMap { request.headers[$0] }
        context.requestID = given.flatMap { $0.count <= 64 ? $0 : nil } ?? UUID().uuidString.lowercased()
        var response = try await next(request, context)
        if let header = Self.header { response.headers[header] = context.requestID }
        return response
    }
}
