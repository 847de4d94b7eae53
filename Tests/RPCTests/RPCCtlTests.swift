import Foundation
import NIOCore
import NIOPosix
import RPC
import TestSupport
import Testing

/// `rpcctl` as a built binary against a real test server.
@Suite("rpcctl", .serialized)
struct RPCCtlTests {
    var rpcctl: String { repositoryRoot.appendingPathComponent(".build/debug/rpcctl").path }

    func run(_ arguments: [String]) async throws -> ProcessResult { try await runProcess(rpcctl, arguments) }

    @Test("list, list SERVICE, describe, health")
    func reflection() async throws {
        try await withServer { _, endpoint in
            let list = try await run(["list", "\(endpoint)"])
            #expect(list.status == 0)
            #expect(list.output == "rpc.v1.Health\nrpc.v1.Reflection\ntest.v1.Echo\n")
            let methods = try await run(["list", "\(endpoint)", "test.v1.Echo"])
            #expect(methods.output.contains("test.v1.Echo/Expand"))
            let describe = try await run(["describe", "\(endpoint)", "test.v1.Echo"])
            #expect(describe.output.contains("rpc Expand(test.v1.EchoRequest) returns (stream test.v1.EchoResponse)"))
            let message = try await run(["describe", "\(endpoint)", "test.v1.EchoRequest"])
            #expect(message.output.contains("string text = 1;"))
            let health = try await run(["health", "\(endpoint)"])
            #expect(health.status == 0)
            #expect(health.output == "SERVING_STATUS_SERVING\n")
        }
    }

    @Test("call: unary with defaults shown, server stream as NDJSON, client stream from a file, -v")
    func calls() async throws {
        try await withServer { _, endpoint in
            let unary = try await run([
                "call", "\(endpoint)", "test.v1.Echo/Get", "-d", #"{"text":"hi"}"#, "-H", "x-trace-id: t1",
            ])
            #expect(unary.status == 0, "\(unary.output)")
            #expect(unary.output.hasPrefix(#"{"text":"hi","index":0,"remainingMicros":"#))
            #expect(unary.output.contains(#""traceId":"t1"}"#))
            let stream = try await run(["call", "\(endpoint)", "test.v1.Echo/Expand", "-d", #"{"text":"s","count":3}"#])
            #expect(stream.output.split(separator: "\n").count == 3)
            let file = FileManager.default.temporaryDirectory.appendingPathComponent(
                "rpcctl-\(UUID().uuidString).ndjson"
            )
            try "{\"text\":\"a\"}\n{\"text\":\"b\"}\n".write(to: file, atomically: true, encoding: .utf8)
            defer { try? FileManager.default.removeItem(at: file) }
            let collected = try await run(["call", "\(endpoint)", "test.v1.Echo/Collect", "-d", "@\(file.path)"])
            #expect(collected.output.hasPrefix(#"{"text":"a,b","index":2"#), "\(collected.output)")
            let fromStdin = try await runProcess(
                rpcctl,
                ["call", "\(endpoint)", "test.v1.Echo/Update", "-d", "@-"],
                input: "{\"text\":\"p\"}\n{\"text\":\"q\"}\n"
            )
            #expect(fromStdin.output.hasPrefix(#"{"text":"P","index":0"#), "\(fromStdin.output)")
            #expect(fromStdin.output.split(separator: "\n").count == 2)
            let verbose = try await run(["call", "\(endpoint)", "test.v1.Echo/Get", "-d", #"{"text":"v"}"#, "-v"])
            #expect(verbose.output.contains("x-echo: v"))
            #expect(verbose.output.contains("x-done: yes"))
            #expect(verbose.output.contains("status: OK"))
        }
    }

    @Test("the exit code is the status; errors are explained")
    func failures() async throws {
        try await withServer { _, endpoint in
            let notFound = try await run(["call", "\(endpoint)", "test.v1.Echo/Get", "-d", #"{"failCode":5}"#])
            #expect(notFound.status == 5)
            #expect(notFound.output.contains("NOT_FOUND: asked to fail"))
            let unknown = try await run(["call", "\(endpoint)", "test.v1.Echo/Nope"])
            #expect(unknown.status == 12)
            #expect(unknown.output.contains("has no method 'Nope'"))
            let noService = try await run(["call", "\(endpoint)", "x.Y/Z"])
            #expect(noService.status == 5)
            let badJSON = try await run(["call", "\(endpoint)", "test.v1.Echo/Get", "-d", #"{"count":"many"}"#])
            #expect(badJSON.status == 3)
            #expect(badJSON.output.contains("$.count: expected an integer"))
            let unknownField = try await run(["call", "\(endpoint)", "test.v1.Echo/Get", "-d", #"{"nope":1}"#])
            #expect(unknownField.status == 3)
            #expect(unknownField.output.contains("$.nope: unknown field"))
            let deadline = try await run([
                "call", "\(endpoint)", "test.v1.Echo/Get", "-d", #"{"delayMs":3000}"#, "--deadline", "200ms",
            ])
            #expect(deadline.status == 4)
        }
        let unreachable = try await run(["call", "127.0.0.1:1", "test.v1.Echo/Get"])
        #expect(unreachable.status == 14)
        #expect(unreachable.output.contains("UNAVAILABLE"))
        let usage = try await run(["call", "nonsense", "test.v1.Echo/Get"])
        #expect(usage.status == 64)
    }

    @Test("a peer that does not speak the protocol is named as such")
    func wrongPeer() async throws {
        let channel = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(HTTPLikeResponder())
                }
            }
            .bind(host: "127.0.0.1", port: 0).get()
        let port = channel.localAddress?.port ?? 0
        let result = try await run(["list", "127.0.0.1:\(port)", "--deadline", "2s"])
        #expect(result.status == 14)
        #expect(result.output.contains("not speaking this protocol"), "\(result.output)")
        try await channel.close()
    }
}

/// Answers anything with an HTTP error, like a web server would.
final class HTTPLikeResponder: ChannelInboundHandler, Sendable {
    typealias InboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer
    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let response = ByteBuffer(string: "HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n")
        let channel = context.channel
        context.writeAndFlush(wrapOutboundOut(response)).whenComplete { _ in channel.close(promise: nil) }
    }
}
