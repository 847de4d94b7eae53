/// Everything the generator writes for a compilation: one Swift file per requested `.proto`
/// (and, when asked, the index of them all), and a descriptor set of the requested files with
/// their imports.
public struct GeneratedOutputs: Sendable {
    /// Output file name → contents.
    public var swiftFiles: [(name: String, text: String)]
    /// A `FileDescriptorSet` (imports first), as `protoc --include_imports` writes it.
    public var descriptorSet: [UInt8]

    public static func make(
        _ result: SchemaCompiler.Result,
        options: SwiftGeneratorOptions = SwiftGeneratorOptions(),
        descriptorSetName: String? = nil,
        index: String? = nil,
        onlyIndex: Bool = false
    ) -> GeneratedOutputs {
        let generator = SwiftGenerator(options: options)
        let files = result.requestedFiles
        var swift: [(name: String, text: String)] = []
        if !onlyIndex {
            swift = files.map {
                (SwiftGenerator.outputName(for: $0.path), generator.generate($0, schema: result.schema))
            }
        }
        if let index { swift.append((index + ".pb.swift", generator.generateIndex(named: index, files: files))) }
        return GeneratedOutputs(
            swiftFiles: swift,
            descriptorSet: DescriptorEmitter.fileDescriptorSet(
                closure(of: files, in: result.schema),
                schema: result.schema
            )
        )
    }

    /// `files` and everything they import, imports first.
    static func closure(of files: [ProtoFile], in schema: Schema) -> [ProtoFile] {
        var wanted: Set<String> = []
        var stack = files.map(\.path)
        while let path = stack.popLast() {
            guard wanted.insert(path).inserted, let file = schema.file(named: path) else { continue }
            stack += file.dependencies
        }
        return schema.files.filter { wanted.contains($0.path) }
    }
}

/// A human-readable summary of a compiled schema (what `make run` prints for now).
public enum SchemaSummary {
    public static func describe(_ result: SchemaCompiler.Result) -> String {
        var out = ""
        for file in result.requestedFiles {
            var messages = 0
            var enums = 0
            func count(_ m: MessageType) {
                messages += 1
                enums += m.enums.count
                m.messages.forEach(count)
            }
            file.messages.forEach(count)
            enums += file.enums.count
            out += "\(file.path) (package \(file.package.isEmpty ? "-" : file.package)): "
            out +=
                "\(messages) messages, \(enums) enums, \(file.services.count) services, \(file.extensions.count) options\n"
            for service in file.services {
                out += "  service \(service.fullName)\n"
                for m in service.methods {
                    let input = (m.clientStreaming ? "stream " : "") + m.inputType
                    let output = (m.serverStreaming ? "stream " : "") + m.outputType
                    out += "    rpc \(m.name)(\(input)) returns (\(output))\n"
                }
            }
        }
        return out
    }
}
