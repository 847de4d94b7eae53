#!/usr/bin/env python3
"""The protobuf reference implementation as a test oracle for our compiler and codec.

Subcommands (all paths are directories or files the Swift tests hand over):

  compile   --proto-path P... --out DIR FILES...   protoc-compile FILES for Python into DIR
  descriptors --proto-path P... --ours SET FILES... compare our FileDescriptorSet with protoc's
  generate  --module-dir DIR --work W --count N --seed S
            write random AllTypes/Tree cases as W/py/<i>.{bin,json,kind}
  check     --module-dir DIR --work W
            check Swift's re-encodings of our cases (W/swift/<i>.{bin,json}) and Swift-born cases
            (W/swift_origin/<i>.{bin,json,kind}), writing Python's re-encodings of the latter to
            W/py_roundtrip/<i>.{bin,json}
  deterministic --module-dir DIR --json FILE --out FILE
            parse an AllTypes from proto3 JSON and write SerializeToString(deterministic=True)
            (pure-Python implementation: map entries in key order)

Every failure is printed as one line starting with FAIL; the exit code is 1 if there was any.
"""
import argparse
import glob
import math
import os
import random
import subprocess
import sys


def protoc(proto_paths, args):
    from grpc_tools import protoc as grpc_protoc
    import grpc_tools
    include = os.path.join(os.path.dirname(grpc_tools.__file__), "_proto")
    argv = ["protoc"] + ["-I" + p for p in proto_paths] + ["-I" + include] + args
    code = grpc_protoc.main(argv)
    if code != 0:
        print("FAIL protoc exited with %d for %s" % (code, " ".join(args)))
        sys.exit(1)


def cmd_compile(ns):
    os.makedirs(ns.out, exist_ok=True)
    protoc(ns.proto_path, ["--python_out=" + ns.out] + ns.files)
    print("compiled %d files" % len(ns.files))


def cmd_descriptors(ns):
    from google.protobuf import descriptor_pb2
    import tempfile
    out = os.path.join(tempfile.mkdtemp(), "protoc.binpb")
    protoc(ns.proto_path, ["--include_imports", "--descriptor_set_out=" + out] + ns.files)
    theirs = descriptor_pb2.FileDescriptorSet()
    with open(out, "rb") as f:
        theirs.ParseFromString(f.read())
    ours = descriptor_pb2.FileDescriptorSet()
    with open(ns.ours, "rb") as f:
        ours.ParseFromString(f.read())
    ours_by_name = {f.name: f for f in ours.file}
    failures = 0
    compared = 0
    for file in theirs.file:
        if file.name.startswith("google/protobuf/"):
            continue
        mine = ours_by_name.get(file.name)
        if mine is None:
            print("FAIL descriptor for %s missing from our set" % file.name)
            failures += 1
            continue
        file.ClearField("source_code_info")
        a = file.SerializeToString(deterministic=True)
        b = mine.SerializeToString(deterministic=True)
        compared += 1
        if a != b:
            failures += 1
            print("FAIL descriptor of %s differs from protoc's" % file.name)
            print("--- protoc\n%s\n--- ours\n%s" % (file, mine))
    print("descriptors compared: %d, differing: %d" % (compared, failures))
    sys.exit(1 if failures else 0)


def load_module(module_dir):
    # Loaded by path: the proto package `test` would clash with Python's own `test` package.
    import importlib.util
    path = os.path.join(module_dir, "test", "v1", "conformance_pb2.py")
    spec = importlib.util.spec_from_file_location("conformance_pb2", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


# ---------------------------------------------------------------- random messages

EDGE_INT32 = [0, 1, -1, 127, 128, -128, 2**31 - 1, -2**31, 300, -300]
EDGE_INT64 = EDGE_INT32 + [2**63 - 1, -2**63, 2**32, -2**32, 2**53 + 1]
EDGE_UINT32 = [0, 1, 127, 128, 16383, 16384, 2**32 - 1]
EDGE_UINT64 = EDGE_UINT32 + [2**64 - 1, 2**63, 2**56]
EDGE_FLOAT = [0.0, -0.0, 1.0, -1.5, 3.4028234663852886e38, 1.401298464324817e-45, float("inf"), float("-inf"), 0.1]
EDGE_DOUBLE = [0.0, -0.0, 1.0, -2.5, 1.7976931348623157e308, 5e-324, float("inf"), float("-inf"), 0.1, 1e21, 123456789.125]
STRINGS = ["", "a", "hello world", "ünïcödé", "emoji \U0001F600 pair", "quote \" backslash \\ slash /",
           "control \n\t\r\b\f \x01\x1f", "中文字符", "\u2028\u2029", "x" * 300]


def rand_int(rng, bits, signed):
    edges = (EDGE_INT64 if bits == 64 else EDGE_INT32) if signed else (EDGE_UINT64 if bits == 64 else EDGE_UINT32)
    if rng.random() < 0.5:
        return rng.choice(edges)
    if signed:
        return rng.randint(-2**(bits - 1), 2**(bits - 1) - 1)
    return rng.randint(0, 2**bits - 1)


def rand_float32(rng):
    import struct
    if rng.random() < 0.4:
        return rng.choice(EDGE_FLOAT)
    while True:
        v = struct.unpack("<f", struct.pack("<I", rng.getrandbits(32)))[0]
        if not math.isnan(v):
            return v


def rand_double(rng):
    import struct
    if rng.random() < 0.4:
        return rng.choice(EDGE_DOUBLE)
    while True:
        v = struct.unpack("<d", struct.pack("<Q", rng.getrandbits(64)))[0]
        if not math.isnan(v):
            return v


def rand_string(rng):
    if rng.random() < 0.6:
        return rng.choice(STRINGS)
    n = rng.randint(0, 20)
    out = []
    for _ in range(n):
        r = rng.random()
        if r < 0.6:
            out.append(chr(rng.randint(0x20, 0x7E)))
        elif r < 0.8:
            out.append(chr(rng.randint(0xA0, 0xD7FF)))
        else:
            out.append(chr(rng.randint(0x10000, 0x10FFFF)))
    return "".join(out)


def rand_scalar(rng, field):
    from google.protobuf.descriptor import FieldDescriptor as F
    t = field.type
    if t in (F.TYPE_INT32, F.TYPE_SINT32, F.TYPE_SFIXED32):
        return rand_int(rng, 32, True)
    if t in (F.TYPE_INT64, F.TYPE_SINT64, F.TYPE_SFIXED64):
        return rand_int(rng, 64, True)
    if t in (F.TYPE_UINT32, F.TYPE_FIXED32):
        return rand_int(rng, 32, False)
    if t in (F.TYPE_UINT64, F.TYPE_FIXED64):
        return rand_int(rng, 64, False)
    if t == F.TYPE_FLOAT:
        return rand_float32(rng)
    if t == F.TYPE_DOUBLE:
        return rand_double(rng)
    if t == F.TYPE_BOOL:
        return rng.random() < 0.5
    if t == F.TYPE_STRING:
        return rand_string(rng)
    if t == F.TYPE_BYTES:
        return bytes(rng.getrandbits(8) for _ in range(rng.randint(0, 12)))
    if t == F.TYPE_ENUM:
        values = [v.number for v in field.enum_type.values]
        # Open enums keep numbers the schema does not know.
        return rng.choice(values + [99, -7])
    raise ValueError(t)


def is_repeated(field):
    # protobuf 7 dropped FieldDescriptor.label in favour of is_repeated.
    if hasattr(field, "is_repeated"):
        return field.is_repeated
    return field.label == field.LABEL_REPEATED


def fill(rng, msg, depth):
    from google.protobuf.descriptor import FieldDescriptor as F
    desc = msg.DESCRIPTOR
    if desc.full_name == "google.protobuf.Timestamp":
        msg.seconds = rng.randint(-62135596800, 253402300799)
        msg.nanos = rng.choice([0, 0, 1, 999999999, 500000000, 123000, rng.randint(0, 999999999)])
        return
    if desc.full_name == "google.protobuf.Duration":
        s = rng.randint(-315576000000, 315576000000)
        n = rng.choice([0, rng.randint(0, 999999999)])
        msg.seconds = s
        msg.nanos = n if s > 0 else (-n if s < 0 else rng.choice([n, -n]))
        return
    chosen_oneofs = {}
    for oneof in desc.oneofs:
        if oneof.name.startswith("_"):
            continue  # synthetic oneof of a proto3 optional field
        if rng.random() < 0.5:
            chosen_oneofs[oneof.name] = rng.choice(oneof.fields).name
    for field in desc.fields:
        oneof = field.containing_oneof
        if oneof is not None and not oneof.name.startswith("_"):
            if chosen_oneofs.get(oneof.name) != field.name:
                continue
        elif rng.random() < 0.35:
            continue
        is_map = field.message_type is not None and field.message_type.GetOptions().map_entry
        if is_map:
            key_field = field.message_type.fields_by_name["key"]
            value_field = field.message_type.fields_by_name["value"]
            m = getattr(msg, field.name)
            for _ in range(rng.randint(0, 4)):
                k = rand_scalar(rng, key_field)
                if value_field.type == F.TYPE_MESSAGE:
                    if depth > 2:
                        continue
                    fill(rng, m[k], depth + 1)
                else:
                    m[k] = rand_scalar(rng, value_field)
        elif is_repeated(field):
            r = getattr(msg, field.name)
            for _ in range(rng.randint(0, 5)):
                if field.type == F.TYPE_MESSAGE:
                    if depth > 2:
                        break
                    fill(rng, r.add(), depth + 1)
                else:
                    r.append(rand_scalar(rng, field))
        elif field.type == F.TYPE_MESSAGE:
            if depth > 3:
                continue
            sub = getattr(msg, field.name)
            sub.SetInParent()
            fill(rng, sub, depth + 1)
        else:
            setattr(msg, field.name, rand_scalar(rng, field))


def cmd_generate(ns):
    from google.protobuf import json_format
    mod = load_module(ns.module_dir)
    rng = random.Random(ns.seed)
    out = os.path.join(ns.work, "py")
    os.makedirs(out, exist_ok=True)
    for i in range(ns.count):
        kind = "Tree" if i % 5 == 4 else "AllTypes"
        msg = getattr(mod, kind)()
        fill(rng, msg, 0)
        write_case(out, i, kind, msg, json_format)
    print("generated %d cases" % ns.count)


def differences(a, b):
    """The names of the top-level fields whose values differ, with both values (short)."""
    out = []
    names = set(f.name for f, _ in a.ListFields()) | set(f.name for f, _ in b.ListFields())
    for name in sorted(names):
        va, vb = getattr(a, name), getattr(b, name)
        if va != vb:
            out.append("%s: %r != %r" % (name, str(va)[:120], str(vb)[:120]))
    return "; ".join(out)


def canonical(msg):
    """Whether protobuf's bytes for msg are canonical: map order is not (implementations differ)."""
    for field, value in msg.ListFields():
        if field.message_type is not None and field.message_type.GetOptions().map_entry:
            if len(value) > 1:
                return False
            values = list(value.values()) if len(value) else []
            for v in values:
                if hasattr(v, "ListFields") and not canonical(v):
                    return False
        elif field.message_type is not None:
            items = value if is_repeated(field) else [value]
            for item in items:
                if not canonical(item):
                    return False
    return True


def write_case(out, i, kind, msg, json_format):
    with open(os.path.join(out, "%d.canonical" % i), "w") as f:
        f.write("1" if canonical(msg) else "0")
    with open(os.path.join(out, "%d.bin" % i), "wb") as f:
        f.write(msg.SerializeToString(deterministic=True))
    with open(os.path.join(out, "%d.json" % i), "w", encoding="utf-8") as f:
        f.write(json_format.MessageToJson(msg, indent=None))
    with open(os.path.join(out, "%d.kind" % i), "w") as f:
        f.write(kind)


def cmd_check(ns):
    from google.protobuf import json_format
    mod = load_module(ns.module_dir)
    failures = 0
    checked = 0
    # 1. Cases born in Python, re-encoded by Swift.
    for path in sorted(glob.glob(os.path.join(ns.work, "py", "*.bin"))):
        i = os.path.basename(path)[:-4]
        kind = open(os.path.join(ns.work, "py", i + ".kind")).read()
        original = getattr(mod, kind)()
        original.ParseFromString(open(path, "rb").read())
        swift_bin = open(os.path.join(ns.work, "swift", i + ".bin"), "rb").read()
        decoded = getattr(mod, kind)()
        decoded.ParseFromString(swift_bin)
        if decoded != original:
            failures += 1
            print("FAIL py case %s: Swift's binary re-encoding decodes to a different message" % i)
        elif canonical(original) and swift_bin != original.SerializeToString(deterministic=True):
            failures += 1
            print("FAIL py case %s: Swift's binary re-encoding is not byte-equal to protobuf's" % i)
        swift_json = open(os.path.join(ns.work, "swift", i + ".json"), encoding="utf-8").read()
        try:
            from_json = json_format.Parse(swift_json, getattr(mod, kind)())
            if from_json != original:
                failures += 1
                print("FAIL py case %s: Swift's JSON parses to a different message: %s" % (i, differences(from_json, original)))
        except Exception as e:  # noqa: BLE001 - report any parse failure
            failures += 1
            print("FAIL py case %s: Swift's JSON does not parse in protobuf: %s: %s" % (i, e, swift_json[:400]))
        checked += 1
    # 2. Cases born in Swift: decode, compare binary and JSON, re-encode for Swift to check.
    out = os.path.join(ns.work, "py_roundtrip")
    os.makedirs(out, exist_ok=True)
    for path in sorted(glob.glob(os.path.join(ns.work, "swift_origin", "*.bin"))):
        i = os.path.basename(path)[:-4]
        kind = open(os.path.join(ns.work, "swift_origin", i + ".kind")).read()
        data = open(path, "rb").read()
        msg = getattr(mod, kind)()
        try:
            msg.ParseFromString(data)
        except Exception as e:  # noqa: BLE001
            failures += 1
            print("FAIL swift case %s: protobuf cannot parse Swift's bytes: %s" % (i, e))
            continue
        if canonical(msg) and msg.SerializeToString(deterministic=True) != data:
            failures += 1
            print("FAIL swift case %s: Swift's bytes are not what protobuf writes for the same message" % i)
        text = open(os.path.join(ns.work, "swift_origin", i + ".json"), encoding="utf-8").read()
        try:
            from_json = json_format.Parse(text, getattr(mod, kind)())
            if from_json != msg:
                failures += 1
                print("FAIL swift case %s: Swift's JSON and binary disagree in protobuf: %s" % (i, differences(from_json, msg)))
        except Exception as e:  # noqa: BLE001
            failures += 1
            print("FAIL swift case %s: Swift's JSON does not parse in protobuf: %s: %s" % (i, e, text[:400]))
        write_case(out, int(i), kind, msg, json_format)
        checked += 1
    print("checked %d cases, %d failures" % (checked, failures))
    sys.exit(1 if failures else 0)


def cmd_deterministic(ns):
    # The pure-Python implementation: its deterministic mode sorts map keys by their natural
    # order, as C++'s does. The upb backend's does not (it writes integer keys in descending
    # order and the empty string last), so it cannot be the oracle of key order.
    os.environ["PROTOCOL_BUFFERS_PYTHON_IMPLEMENTATION"] = "python"
    from google.protobuf.internal import api_implementation
    if api_implementation.Type() != "python":
        print("FAIL the pure-Python protobuf implementation is not available")
        sys.exit(1)
    from google.protobuf import json_format
    mod = load_module(ns.module_dir)
    msg = mod.AllTypes()
    with open(ns.json, encoding="utf-8") as f:
        json_format.Parse(f.read(), msg)
    with open(ns.out, "wb") as f:
        f.write(msg.SerializeToString(deterministic=True))


def main():
    parser = argparse.ArgumentParser()
    sub = parser.add_subparsers(dest="cmd", required=True)
    p = sub.add_parser("compile")
    p.add_argument("--proto-path", action="append", default=[])
    p.add_argument("--out", required=True)
    p.add_argument("files", nargs="+")
    p = sub.add_parser("descriptors")
    p.add_argument("--proto-path", action="append", default=[])
    p.add_argument("--ours", required=True)
    p.add_argument("files", nargs="+")
    p = sub.add_parser("generate")
    p.add_argument("--module-dir", required=True)
    p.add_argument("--work", required=True)
    p.add_argument("--count", type=int, default=200)
    p.add_argument("--seed", type=int, default=1)
    p = sub.add_parser("check")
    p.add_argument("--module-dir", required=True)
    p.add_argument("--work", required=True)
    p = sub.add_parser("deterministic")
    p.add_argument("--module-dir", required=True)
    p.add_argument("--json", required=True)
    p.add_argument("--out", required=True)
    ns = parser.parse_args()
    {"compile": cmd_compile, "descriptors": cmd_descriptors, "generate": cmd_generate, "check": cmd_check,
     "deterministic": cmd_deterministic}[ns.cmd](ns)


if __name__ == "__main__":
    main()
