// Codec benchmarks: our ProtoRuntime against SwiftProtobuf 1.39.0 on the same schema
// (Sources/ProtoFixtures/protos/test/v1/bench.proto), in one run, one process.
//
// Each case runs a warm-up, then 7 timed rounds of enough iterations to take ~150 ms; the table
// reports the median ns/op of each side and the ratio (SwiftProtobuf time / ours: >1 means ours
// is faster).
import BenchMessages
import Foundation
import NIOCore
import ProtoFixtures
import ProtoRuntime
import SwiftProtobuf

@inline(never)
func blackHole<T>(_ value: T) {
    withExtendedLifetime(value) {}
}

func measure(_ body: () throws -> Int) rethrows -> Double {
    // Calibrate: find an iteration count that takes ~150 ms.
    var iterations = 1
    var sink = 0
    while true {
        let start = DispatchTime.now().uptimeNanoseconds
        for _ in 0..<iterations { sink &+= try body() }
        let elapsed = DispatchTime.now().uptimeNanoseconds - start
        if elapsed > 15_000_000 {
            iterations = max(1, Int(Double(iterations) * 150_000_000 / Double(elapsed)))
            break
        }
        iterations *= 4
    }
    var rounds: [Double] = []
    for _ in 0..<7 {
        let start = DispatchTime.now().uptimeNanoseconds
        for _ in 0..<iterations { sink &+= try body() }
        rounds.append(Double(DispatchTime.now().uptimeNanoseconds - start) / Double(iterations))
    }
    blackHole(sink)
    rounds.sort()
    return rounds[rounds.count / 2]
}

// MARK: The same order, in both representations.

let description = String(repeating: "Leaking pipe under the kitchen sink; water on the floor. ", count: 2).prefix(100)

func ours(_ i: Int) -> BenchOrder {
    BenchOrder(
        id: 1_000_000 + Int64(i),
        customerId: 42_424_242,
        providerId: 7_777_777,
        title: "Fix the kitchen sink",
        description: String(description),
        status: .pending,
        serviceType: .repair,
        location: .mid,
        priceCents: 12_550,
        createdAt: ProtoTimestamp(seconds: 1_764_126_665, nanos: 120_000_000),
        updatedAt: ProtoTimestamp(seconds: 1_764_130_000, nanos: 5_000),
        tags: ["plumbing", "urgent", "kitchen"],
        address: BenchAddress(street: "Storgata 12", city: "Oslo", postalCode: "0155")
    )
}

func theirs(_ i: Int) -> Test_V1_BenchOrder {
    var o = Test_V1_BenchOrder()
    o.id = 1_000_000 + Int64(i)
    o.customerID = 42_424_242
    o.providerID = 7_777_777
    o.title = "Fix the kitchen sink"
    o.description_p = String(description)
    o.status = .pending
    o.serviceType = .repair
    o.location = .mid
    o.priceCents = 12_550
    o.createdAt = .with {
        $0.seconds = 1_764_126_665; $0.nanos = 120_000_000
    }
    o.updatedAt = .with {
        $0.seconds = 1_764_130_000; $0.nanos = 5_000
    }
    o.tags = ["plumbing", "urgent", "kitchen"]
    o.address = .with {
        $0.street = "Storgata 12"; $0.city = "Oslo"; $0.postalCode = "0155"
    }
    return o
}

let ourOrder = ours(0)
let theirOrder = theirs(0)
let ourList = BenchOrderList(orders: (0..<100).map(ours))
var theirList = Test_V1_BenchOrderList()
theirList.orders = (0..<100).map(theirs)

// Both sides must produce the same bytes, or the comparison is meaningless.
let ourBytes = ourOrder.serializedBytes()
let theirBytes: [UInt8] = try theirOrder.serializedBytes()
precondition(ourBytes == theirBytes, "the two encodings differ")
let ourListBytes = ourList.serializedBytes()
let theirListBytes: [UInt8] = try theirList.serializedBytes()
precondition(ourListBytes == theirListBytes, "the two list encodings differ")
let ourJSON = ourOrder.jsonUTF8Bytes()
let theirJSON: [UInt8] = try theirOrder.jsonUTF8Bytes()
let ourListJSON = ourList.jsonUTF8Bytes()
let theirListJSON: [UInt8] = try theirList.jsonUTF8Bytes()
let ourReadOfTheirJSON = try BenchOrder(jsonUTF8Bytes: theirJSON)
precondition(ourReadOfTheirJSON == ourOrder, "our JSON reader disagrees with SwiftProtobuf's JSON")

func pad(_ text: String, _ width: Int, left: Bool = false) -> String {
    let padding = String(repeating: " ", count: max(0, width - text.count))
    return left ? padding + text : text + padding
}

/// Times both sides of one case and prints a row: ns/op each, and SwiftProtobuf's time over ours.
func run(_ name: String, ours: () throws -> Int, theirs: (() throws -> Int)?) rethrows {
    let a = try measure(ours)
    let b = try theirs.map { try measure($0) }
    let theirText = b.map { String(format: "%.0f", $0) } ?? "-"
    let ratio = b.map { String(format: "%.2fx", $0 / a) } ?? "-"
    print(
        pad(name, 40) + pad(String(format: "%.0f", a), 12, left: true) + pad(theirText, 16, left: true)
            + pad(ratio, 10, left: true)
    )
}

print(
    "Order message: \(ourBytes.count) bytes binary, \(ourJSON.count) bytes JSON; list of 100: \(ourListBytes.count) bytes"
)
print(
    pad("case (ns/op)", 40) + pad("ours", 12, left: true) + pad("SwiftProtobuf", 16, left: true)
        + pad("speedup", 10, left: true)
)

var buffer = ByteBufferAllocator().buffer(capacity: 4096)
try run(
    "binary encode, Order",
    ours: { ourOrder.serializedBytes().count },
    theirs: { try (theirOrder.serializedBytes() as [UInt8]).count }
)
run(
    "binary encode, Order into a ByteBuffer",
    ours: {
        buffer.clear()
        return ourOrder.encode(into: &buffer)
    },
    theirs: nil
)
try run(
    "binary decode, Order",
    ours: { try BenchOrder(serializedBytes: ourBytes).title.utf8.count },
    theirs: {
        try Test_V1_BenchOrder(serializedBytes: theirBytes).title.utf8.count
    }
)
try run(
    "binary encode, 100 Orders",
    ours: { ourList.serializedBytes().count },
    theirs: { try (theirList.serializedBytes() as [UInt8]).count }
)
try run(
    "binary decode, 100 Orders",
    ours: { try BenchOrderList(serializedBytes: ourListBytes).orders.count },
    theirs: {
        try Test_V1_BenchOrderList(serializedBytes: theirListBytes).orders.count
    }
)
try run(
    "JSON encode, Order",
    ours: { ourOrder.jsonUTF8Bytes().count },
    theirs: { try (theirOrder.jsonUTF8Bytes() as [UInt8]).count }
)
try run(
    "JSON decode, Order",
    ours: { try BenchOrder(jsonUTF8Bytes: ourJSON).title.utf8.count },
    theirs: {
        try Test_V1_BenchOrder(jsonUTF8Bytes: theirJSON).title.utf8.count
    }
)
try run(
    "JSON encode, 100 Orders",
    ours: { ourList.jsonUTF8Bytes().count },
    theirs: { try (theirList.jsonUTF8Bytes() as [UInt8]).count }
)
try run(
    "JSON decode, 100 Orders",
    ours: { try BenchOrderList(jsonUTF8Bytes: ourListJSON).orders.count },
    theirs: {
        try Test_V1_BenchOrderList(jsonUTF8Bytes: theirListJSON).orders.count
    }
)
