import ArgumentParser
import AuthService
import Foundation
import MarketplaceAPI
import RPC

/// The first admin of a new installation: from `MARKETPLACE_ADMIN_EMAIL` and
/// `MARKETPLACE_ADMIN_PASSWORD` (and optionally `MARKETPLACE_ADMIN_USERNAME`) when set, otherwise
/// `admin@localhost` with a generated password printed once.
enum FirstAdmin {
    static func ensure(dataDirectory: String) async throws {
        guard try await !AuthService.hasAdmin(dataDirectory: dataDirectory) else { return }
        let environment = ProcessInfo.processInfo.environment
        let email = environment["MARKETPLACE_ADMIN_EMAIL"] ?? "admin@localhost.localdomain"
        let username = environment["MARKETPLACE_ADMIN_USERNAME"] ?? "admin"
        let generated = environment["MARKETPLACE_ADMIN_PASSWORD"] == nil
        let password = environment["MARKETPLACE_ADMIN_PASSWORD"] ?? FirstAdmin.randomPassword()
        do {
            let user = try await AuthService.createAdmin(
                dataDirectory: dataDirectory,
                username: username,
                email: email,
                password: password
            )
            print("first admin created: \(user.username) <\(user.email)>")
            if generated { print("  password (shown once, change it): \(password)") }
        } catch let error as RPCError {
            throw ValidationError(
                "cannot create the first admin: \(error.message) (check MARKETPLACE_ADMIN_EMAIL / _PASSWORD / _USERNAME)"
            )
        }
    }

    static func randomPassword() -> String {
        let alphabet = Array("abcdefghijkmnopqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789")
        var generator = SystemRandomNumberGenerator()
        return String((0..<20).map { _ in alphabet[Int.random(in: 0..<alphabet.count, using: &generator)] })
    }
}
