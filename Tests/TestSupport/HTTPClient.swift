import Foundation
public import ProtoRuntime
public import RPC

/// An HTTP/1.1 response as a test sees it.
public struct HTTPResult: Sendable {
    public var status: Int
    /// Lower-cased names.
    public var headers: [String: String]
    public var body: [UInt8]

    /// The body as JSON (nil if it is not JSON).
    public var json: JSONValue? { try? JSONValue.parse(body) }
    public var text: String { String(decoding: body, as: UTF8.self) }
}

/// One HTTP/1.1 request over a fresh TCP connection (`Connection: close`), for tests against a
/// real HTTP server.
public func httpRequest(
    _ endpoint: Endpoint,
    _ method: String,
    _ path: String,
    headers: [(String, String)] = [],
    body: [UInt8]? = nil
) async throws -> HTTPResult {
    var head = "\(method) \(path) HTTP/1.1\r\nHost: \(endpoint.host):\(endpoint.port)\r\nConnection: close\r\n"
    for (name, value) in headers { head += "\(name): \(value)\r\n" }
    if let body { head += "Content-Length: \(body.count)\r\n" }
    head += "\r\n"
    // The server closes after its answer (`Connection: close`); the timeout is only a safety net
    // (a suite in parallel on two cores keeps requests waiting behind scrypt for seconds).
    let answer = try await rawExchange(endpoint, Array(head.utf8) + (body ?? []), timeout: .seconds(120))
    guard let split = answer.firstRange(of: Array("\r\n\r\n".utf8)) else {
        throw RPCError(code: .internalError, message: "no HTTP response (\(answer.count) bytes)")
    }
    let lines = String(decoding: answer[..<split.lowerBound], as: UTF8.self).components(separatedBy: "\r\n")
    let statusParts = lines.first?.split(separator: " ") ?? []
    guard statusParts.count >= 2, let status = Int(statusParts[1]) else {
        throw RPCError(code: .internalError, message: "bad status line '\(lines.first ?? "")'")
    }
    var fields: [String: String] = [:]
    for line in lines.dropFirst() {
        guard let colon = line.firstIndex(of: ":") else { continue }
        fields[line[..<colon].lowercased()] = line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
    }
    var payload = Array(answer[split.upperBound...])
    if fields["transfer-encoding"]?.lowercased() == "chunked" { payload = dechunk(payload) }
    return HTTPResult(status: status, headers: fields, body: payload)
}

/// JSON in, `HTTPResult` out.
public func httpJSON(
    _ endpoint: Endpoint,
    _ method: String,
    _ path: String,
    token: String? = nil,
    json: String? = nil,
    headers: [(String, String)] = []
) async throws -> HTTPResult {
    var all = headers
    if let token { all.append(("Authorization", "Bearer \(token)")) }
    if json != nil { all.append(("Content-Type", "application/json")) }
    return try await httpRequest(endpoint, method, path, headers: all, body: json.map { Array($0.utf8) })
}

func dechunk(_ bytes: [UInt8]) -> [UInt8] {
    var out: [UInt8] = []
    var index = 0
    while index < bytes.count {
        guard let lineEnd = bytes[index...].firstRange(of: Array("\r\n".utf8)) else { break }
        let sizeText = String(decoding: bytes[index..<lineEnd.lowerBound], as: UTF8.self)
        guard let size = Int(sizeText, radix: 16), size > 0 else { break }
        let start = lineEnd.upperBound
        let end = min(bytes.count, start + size)
        out += bytes[start..<end]
        index = end + 2
    }
    return out
}
