// The map-ordering test's second process: its Dictionaries iterate in this process's own random
// order. Reads an AllTypes as proto3 JSON from the file named by the first argument and writes,
// into the directory named by the second, what generated code and the dynamic codec encode:
// generated.bin, dynamic.bin (from the JSON), generated.json, dynamic.json (from generated.bin).
import Foundation
import ProtoFixtures
import ProtoRuntime
import RPC

let arguments = CommandLine.arguments
guard arguments.count == 3 else {
    FileHandle.standardError.write(Data("usage: map-encoding-peer INPUT.json OUTPUT-DIR\n".utf8))
    exit(64)
}
do {
    let json = try [UInt8](Data(contentsOf: URL(fileURLWithPath: arguments[1])))
    let out = URL(fileURLWithPath: arguments[2])
    let message = try AllTypes(jsonUTF8Bytes: json)
    let codec = DynamicCodec(pool: try DescriptorPool(serializedFiles: ConformanceProtoFile.files.map(\.serialized)))
    let binary = message.serializedBytes()
    try Data(binary).write(to: out.appendingPathComponent("generated.bin"))
    try Data(try codec.encode(json: json, as: AllTypes.protoMessageName)).write(
        to: out.appendingPathComponent("dynamic.bin")
    )
    try Data(message.jsonUTF8Bytes()).write(to: out.appendingPathComponent("generated.json"))
    try Data(try codec.json(from: binary, as: AllTypes.protoMessageName)).write(
        to: out.appendingPathComponent("dynamic.json")
    )
} catch {
    FileHandle.standardError.write(Data("map-encoding-peer: \(error)\n".utf8))
    exit(1)
}
