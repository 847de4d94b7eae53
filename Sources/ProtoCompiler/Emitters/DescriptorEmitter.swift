/// Encodes resolved files as `google.protobuf.FileDescriptorProto` bytes, the form `protoc`
/// writes with `--descriptor_set_out` and reflection services return.
public enum DescriptorEmitter {
    /// A `FileDescriptorSet` holding `files` in order.
    public static func fileDescriptorSet(_ files: [ProtoFile], schema: Schema) -> [UInt8] {
        var w = DescriptorWriter()
        for file in files { w.message(1, fileDescriptor(file, schema: schema)) }
        return w.bytes
    }

    /// One file's `FileDescriptorProto`.
    public static func fileDescriptor(_ file: ProtoFile, schema: Schema) -> [UInt8] {
        var w = DescriptorWriter()
        w.string(1, file.path)
        if !file.package.isEmpty { w.string(2, file.package) }
        for dep in file.dependencies { w.string(3, dep) }
        for m in file.messages { w.message(4, message(m, schema: schema, syntax: file.syntax)) }
        for e in file.enums { w.message(5, enumDescriptor(e)) }
        for s in file.services { w.message(6, service(s)) }
        for ext in file.extensions { w.message(7, extensionField(ext, schema: schema)) }
        if !file.options.isEmpty { w.message(8, options(file.options)) }
        for index in file.publicDependencies { w.varint(10, UInt64(index)) }
        w.string(12, file.syntax)
        return w.bytes
    }

    static func message(_ m: MessageType, schema: Schema, syntax: String) -> [UInt8] {
        var w = DescriptorWriter()
        w.string(1, m.name)
        // Synthetic oneofs for proto3 `optional` fields come after the real ones.
        var syntheticOneofs: [String] = []
        for f in m.fields {
            var oneofIndex = f.oneofIndex
            var proto3Optional = false
            if syntax == "proto3" && f.label == .optional {
                var name = "_" + f.name
                let taken = Set(m.oneofs.map(\.name) + syntheticOneofs)
                while taken.contains(name) { name = "X" + name }
                oneofIndex = m.oneofs.count + syntheticOneofs.count
                syntheticOneofs.append(name)
                proto3Optional = true
            }
            w.message(
                2,
                field(
                    f,
                    scope: m.fullName,
                    schema: schema,
                    oneofIndex: oneofIndex,
                    proto3Optional: proto3Optional,
                    syntax: syntax
                )
            )
        }
        for item in m.nestedOrder {
            switch item {
            case .message(let index) where index < m.messages.count:
                w.message(3, message(m.messages[index], schema: schema, syntax: syntax))
            case .mapField(let name):
                if let f = m.fields.first(where: { $0.name == name }), case .map(let key, let value) = f.type {
                    w.message(3, mapEntry(f, key: key, value: value, scope: m.fullName, schema: schema))
                }
            default: break
            }
        }
        for e in m.enums { w.message(4, enumDescriptor(e)) }
        for r in m.extensionRanges {
            var rw = DescriptorWriter()
            rw.varint(1, UInt64(r.lowerBound))
            rw.varint(2, UInt64(r.upperBound + 1))
            w.message(5, rw.bytes)
        }
        for ext in m.extensions { w.message(6, extensionField(ext, schema: schema)) }
        if !m.options.isEmpty { w.message(7, options(m.options)) }
        for o in m.oneofs {
            var ow = DescriptorWriter()
            ow.string(1, o.name)
            if !o.options.isEmpty { ow.message(2, options(o.options)) }
            w.message(8, ow.bytes)
        }
        for name in syntheticOneofs {
            var ow = DescriptorWriter()
            ow.string(1, name)
            w.message(8, ow.bytes)
        }
        for r in m.reservedRanges {
            var rw = DescriptorWriter()
            rw.varint(1, UInt64(r.lowerBound))
            rw.varint(2, UInt64(r.upperBound + 1))
            w.message(9, rw.bytes)
        }
        for name in m.reservedNames { w.string(10, name) }
        return w.bytes
    }

    static func typeFields(_ type: FieldType, into w: inout DescriptorWriter) {
        switch type {
        case .scalar(let s): w.varint(5, UInt64(s.descriptorType))
        case .enumeration(let name):
            w.varint(5, 14)
            w.string(6, "." + name)
        case .message(let name):
            w.varint(5, 11)
            w.string(6, "." + name)
        case .map: break
        }
    }

    static func field(
        _ f: Field,
        scope: String,
        schema: Schema,
        oneofIndex: Int?,
        proto3Optional: Bool,
        syntax: String,
        extendee: String? = nil
    ) -> [UInt8] {
        var w = DescriptorWriter()
        w.string(1, f.name)
        if let extendee { w.string(2, "." + extendee) }
        w.varint(3, UInt64(f.number))
        w.varint(4, f.isRepeated ? 3 : 1)
        if case .map = f.type {
            w.varint(5, 11)
            w.string(6, "." + scope + "." + ProtoNaming.mapEntryName(f.name))
        } else {
            typeFields(f.type, into: &w)
        }
        let fieldOptions = f.options
        if !fieldOptions.isEmpty { w.message(8, options(fieldOptions)) }
        if let oneofIndex { w.varint(9, UInt64(oneofIndex)) }
        w.string(10, f.jsonName)
        if proto3Optional { w.varint(17, 1) }
        return w.bytes
    }

    static func mapEntry(_ f: Field, key: ScalarType, value: FieldType, scope: String, schema: Schema) -> [UInt8] {
        var w = DescriptorWriter()
        w.string(1, ProtoNaming.mapEntryName(f.name))
        var kw = DescriptorWriter()
        kw.string(1, "key")
        kw.varint(3, 1)
        kw.varint(4, 1)
        typeFields(.scalar(key), into: &kw)
        kw.string(10, "key")
        w.message(2, kw.bytes)
        var vw = DescriptorWriter()
        vw.string(1, "value")
        vw.varint(3, 2)
        vw.varint(4, 1)
        typeFields(value, into: &vw)
        vw.string(10, "value")
        w.message(2, vw.bytes)
        var ow = DescriptorWriter()
        ow.varint(7, 1)  // map_entry = true
        w.message(7, ow.bytes)
        return w.bytes
    }

    static func extensionField(_ ext: ExtensionField, schema: Schema) -> [UInt8] {
        let scope = Resolver.split(ext.fullName).scope
        return field(
            ext.field,
            scope: scope,
            schema: schema,
            oneofIndex: nil,
            proto3Optional: false,
            syntax: "proto2",
            extendee: ext.extendee
        )
    }

    static func enumDescriptor(_ e: EnumType) -> [UInt8] {
        var w = DescriptorWriter()
        w.string(1, e.name)
        for v in e.values {
            var vw = DescriptorWriter()
            vw.string(1, v.name)
            vw.varint(2, UInt64(bitPattern: Int64(v.number)))
            if !v.options.isEmpty { vw.message(3, options(v.options)) }
            w.message(2, vw.bytes)
        }
        if !e.options.isEmpty { w.message(3, options(e.options)) }
        for r in e.reservedRanges {
            var rw = DescriptorWriter()
            rw.varint(1, UInt64(bitPattern: r.lowerBound))
            rw.varint(2, UInt64(bitPattern: r.upperBound))
            w.message(4, rw.bytes)
        }
        for name in e.reservedNames { w.string(5, name) }
        return w.bytes
    }

    static func service(_ s: Service) -> [UInt8] {
        var w = DescriptorWriter()
        w.string(1, s.name)
        for m in s.methods {
            var mw = DescriptorWriter()
            mw.string(1, m.name)
            mw.string(2, "." + m.inputType)
            mw.string(3, "." + m.outputType)
            if !m.options.isEmpty { mw.message(4, options(m.options)) }
            if m.clientStreaming { mw.varint(5, 1) }
            if m.serverStreaming { mw.varint(6, 1) }
            w.message(2, mw.bytes)
        }
        if !s.options.isEmpty { w.message(3, options(s.options)) }
        return w.bytes
    }

    /// An options message: builtin fields and extensions, in field-number order (as protoc writes).
    static func options(_ fields: [OptionField]) -> [UInt8] {
        var w = DescriptorWriter()
        let sorted = fields.enumerated().sorted { ($0.element.number, $0.offset) < ($1.element.number, $1.offset) }
        for (_, option) in sorted { w.optionValue(option) }
        return w.bytes
    }
}

/// A small protobuf writer for descriptors (the compiler depends on no runtime of ours).
struct DescriptorWriter {
    var bytes: [UInt8] = []

    mutating func rawVarint(_ value: UInt64) {
        var v = value
        while v >= 0x80 {
            bytes.append(UInt8(truncatingIfNeeded: v) | 0x80)
            v >>= 7
        }
        bytes.append(UInt8(truncatingIfNeeded: v))
    }

    mutating func tag(_ number: Int, _ wireType: Int) { rawVarint(UInt64(number) << 3 | UInt64(wireType)) }

    mutating func varint(_ number: Int, _ value: UInt64) {
        tag(number, 0)
        rawVarint(value)
    }

    mutating func string(_ number: Int, _ value: String) { bytesField(number, Array(value.utf8)) }

    mutating func bytesField(_ number: Int, _ value: [UInt8]) {
        tag(number, 2)
        rawVarint(UInt64(value.count))
        bytes += value
    }

    mutating func message(_ number: Int, _ encoded: [UInt8]) { bytesField(number, encoded) }

    mutating func optionValue(_ option: OptionField) {
        let n = option.number
        switch (option.type, option.value) {
        case (.scalar(let s), let value):
            scalar(n, s, value)
        case (.enumeration, .enumValue(_, let number)):
            varint(n, UInt64(bitPattern: Int64(number)))
        case (.message, .message(let fields)):
            var nested = DescriptorWriter()
            let sorted = fields.enumerated().sorted { ($0.element.number, $0.offset) < ($1.element.number, $1.offset) }
            for (_, f) in sorted { nested.optionValue(f) }
            message(n, nested.bytes)
        default:
            break
        }
    }

    mutating func scalar(_ n: Int, _ s: ScalarType, _ value: OptionValue) {
        switch (s, value) {
        case (.bool, .bool(let b)): varint(n, b ? 1 : 0)
        case (.string, .string(let b)), (.bytes, .string(let b)): bytesField(n, b)
        case (.int32, .int(let v)), (.int64, .int(let v)): varint(n, UInt64(bitPattern: v))
        case (.sint32, .int(let v)), (.sint64, .int(let v)): varint(n, UInt64(bitPattern: (v << 1) ^ (v >> 63)))
        case (.uint32, .uint(let v)), (.uint64, .uint(let v)): varint(n, v)
        case (.fixed32, .uint(let v)):
            tag(n, 5)
            fixed(UInt64(v), 4)
        case (.sfixed32, .int(let v)):
            tag(n, 5)
            fixed(UInt64(UInt32(truncatingIfNeeded: v)), 4)
        case (.fixed64, .uint(let v)):
            tag(n, 1)
            fixed(v, 8)
        case (.sfixed64, .int(let v)):
            tag(n, 1)
            fixed(UInt64(bitPattern: v), 8)
        case (.float, .double(let d)):
            tag(n, 5)
            fixed(UInt64(Float(d).bitPattern), 4)
        case (.double, .double(let d)):
            tag(n, 1)
            fixed(d.bitPattern, 8)
        default: break
        }
    }

    mutating func fixed(_ value: UInt64, _ count: Int) {
        for i in 0..<count { bytes.append(UInt8(truncatingIfNeeded: value >> (8 * UInt64(i)))) }
    }
}
