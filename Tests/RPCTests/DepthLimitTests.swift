import Foundation
import ProtoRuntime
import RPC
import TestSupport
import Testing

/// `Nest` bytes nested `depth` levels deep through `child` (field 1).
func nestedBytes(depth: Int) -> [UInt8] { nestedBytes([0x12, 0x01, UInt8(ascii: "x")], tag: 0x0A, depth: depth) }

@Suite("Nesting limits at the RPC server")
struct DepthLimitTests {
    @Test("a request nested 100,000 deep is INVALID_ARGUMENT; the connection lives; one within the limit is answered")
    func deepRequest() async throws {
        try await withServer { _, endpoint in
            let client = RPCClient(endpoints: [endpoint])
            do {
                _ = try await client.unary(
                    Echo.Method.reflect,
                    request: RawMessage(bytes: nestedBytes(depth: 100_000)),
                    responseType: RawMessage.self
                )
                Issue.record("a request nested 100,000 deep was accepted")
            } catch let error as RPCError {
                #expect(error.code == .invalidArgument, "\(error)")
            }
            // The same client (and connection) still works, at the deepest nesting the limit allows.
            let within = try await client.unary(
                Echo.Method.reflect,
                request: RawMessage(bytes: nestedBytes(depth: WireReader.maximumDepth - 1)),
                responseType: RawMessage.self
            )
            #expect(within.message.bytes == nestedBytes(depth: WireReader.maximumDepth - 1))
            #expect(try await Echo.Client(client).get(EchoRequest(text: "still here")).text == "still here")
            await client.close()
        }
    }
}
