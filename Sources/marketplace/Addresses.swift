import ArgumentParser
import Foundation
import RPC

/// `host:port[,host:port…]` lists.
enum Addresses {
    static func parse(_ text: String, option: String) throws -> [Endpoint] {
        let endpoints = try text.split(separator: ",").map { item -> Endpoint in
            let entry = item.trimmingCharacters(in: .whitespaces)
            guard let colon = entry.lastIndex(of: ":"), let port = Int(entry[entry.index(after: colon)...]),
                (1...65535).contains(port),
                colon != entry.startIndex
            else { throw ValidationError("\(option): '\(entry)' is not host:port") }
            return Endpoint(host: String(entry[..<colon]), port: port)
        }
        guard !endpoints.isEmpty else { throw ValidationError("\(option): no address given") }
        return endpoints
    }
}
