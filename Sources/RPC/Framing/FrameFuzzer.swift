import NIOCore

/// A seeded mutation fuzzer for the frame decoder (used by `protofuzz --target frames` and tests).
public struct FrameFuzzer {
    public struct Report: Sendable, CustomStringConvertible {
        public var inputs = 0
        public var frames = 0
        public var violations = 0
        public var description: String {
            "\(inputs) inputs: \(frames) frames decoded, \(violations) rejected as violations"
        }
    }

    var state: UInt64
    let seeds: [[UInt8]]

    public init(seed: UInt64) {
        state = seed
        func frame(_ type: UInt8, _ flags: UInt8, _ stream: UInt32, _ payload: [UInt8]) -> [UInt8] {
            var buffer = ByteBuffer()
            buffer.writeInteger(UInt32(payload.count))
            buffer.writeInteger(type)
            buffer.writeInteger(flags)
            buffer.writeInteger(stream)
            buffer.writeBytes(payload)
            return Array(buffer.readableBytesView)
        }
        seeds = [
            frame(0, 0, 0, [0x08, 0x80, 0x80, 0x01]) + frame(1, 0, 1, [0x0A, 0x03, 0x2F, 0x61, 0x2F])
                + frame(3, 1, 1, [0x0A, 0x01, 0x61]),
            frame(7, 0, 0, [1, 2, 3, 4, 5, 6, 7, 8]) + frame(6, 0, 1, [0, 0, 1, 0]),
            frame(8, 0, 0, [0x08, 0x05]) + frame(5, 0, 3, []),
        ]
    }

    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    mutating func below(_ n: Int) -> Int { n <= 0 ? 0 : Int(next() % UInt64(n)) }

    /// Feeds `iterations` mutated streams through the decoder, in randomly sized reads.
    public mutating func run(iterations: Int, maximumPayloadSize: Int = 4096) -> Report {
        var report = Report()
        for _ in 0..<iterations {
            var data = seeds[below(seeds.count)]
            for _ in 0...below(4) {
                switch below(5) {
                case 0 where !data.isEmpty: data[below(data.count)] = UInt8(truncatingIfNeeded: next())
                case 1: data.insert(UInt8(truncatingIfNeeded: next()), at: below(data.count + 1))
                case 2 where !data.isEmpty: data.removeSubrange(below(data.count)..<data.count)
                case 3 where data.count >= 4:
                    let at = below(data.count - 3)
                    for i in 0..<4 { data[at + i] = [0xFF, 0x7F, 0x00, 0x80][below(4)] }
                default: data += data.prefix(below(data.count + 1))
                }
            }
            report.inputs += 1
            var buffer = ByteBuffer(bytes: data)
            while true {
                do {
                    guard let frame = try FrameDecoder.readFrame(from: &buffer, maximumPayloadSize: maximumPayloadSize)
                    else { break }
                    report.frames += 1
                    _ = frame.type
                } catch {
                    report.violations += 1
                    break
                }
            }
        }
        return report
    }
}
