import Foundation
import RPC
import RPCSchema

/// The OpenAPI 3.1 document of the gateway, generated from the schema: every legacy `/api/v1`
/// route (from `(gateway.v1.http)`, with its access rule as security) and every `/rpc` method, with
/// the messages as canonical proto3 JSON schemas. Served at `/api/v1/openapi.json` and committed
/// as `Generated/openapi.json` (a test keeps it fresh).
enum OpenAPI {
    static func document(pool: DescriptorPool, routes: RouteTable, methods: [MethodDescriptor]) -> [String: Any] {
        var paths: [String: [String: Any]] = [:]
        var used: Set<String> = []
        for route in routes.routes {
            guard let info = pool.methods["\(route.method.service)/\(route.method.method)"] else { continue }
            var operation: [String: Any] = [
                "operationId": "legacy." + route.method.service + "." + route.method.method,
                "summary": "\(route.method.method) (\(route.method.service)); legacy contract",
                "tags": [String(route.method.service.split(separator: ".").last ?? "")],
                "security": security(route.access),
                "responses": [
                    "200": [
                        "description":
                            "The legacy envelope `{success, data, message: \"\(route.message.isEmpty ? "Success" : route.message)\", error: null}`"
                            + (route.presentation.isEmpty
                                ? "; data is the canonical response" : "; data shaped as '\(route.presentation)'"),
                        "content": ["application/json": ["schema": ["$ref": "#/components/schemas/LegacyEnvelope"]]],
                    ],
                    "default": [
                        "description": "`{\"detail\": \"…\"}`",
                        "content": ["application/json": ["schema": ["$ref": "#/components/schemas/LegacyError"]]],
                    ],
                ] as [String: Any],
            ]
            var parameters: [[String: Any]] = []
            for case .variable(let name) in route.segments {
                parameters.append([
                    "name": name, "in": "path", "required": true, "schema": ["type": "integer", "format": "int64"],
                ])
            }
            if route.verb == "GET", let message = pool.messages[info.inputType] {
                let pathNames = Set(route.segments.compactMap { if case .variable(let n) = $0 { n } else { nil } })
                for field in message.fields where !pathNames.contains(field.name) && !field.isRepeated {
                    if case .message(let name) = field.kind, name != "marketplace.v1.Money" { continue }
                    parameters.append([
                        "name": field.name == "role" ? "role_id" : field.name, "in": "query", "required": false,
                        "schema": fieldSchema(field, pool: pool, used: &used),
                    ])
                }
            }
            if let message = pool.messages[info.inputType] {
                for binding in route.headers {
                    guard let field = message.field(named: binding.field) else { continue }
                    parameters.append([
                        "name": binding.name, "in": "header", "required": false,
                        "description": "Fills `\(binding.field)` when the body leaves it empty.",
                        "schema": fieldSchema(field, pool: pool, used: &used),
                    ])
                }
            }
            if !parameters.isEmpty { operation["parameters"] = parameters }
            if route.body == "*" {
                used.insert(info.inputType)
                operation["requestBody"] = [
                    "required": true,
                    "content": ["application/json": ["schema": ["$ref": ref(info.inputType)]]],
                ]
            }
            let path = route.path
            paths[path, default: [:]][route.verb.lowercased()] = operation
        }
        for method in methods {
            guard let info = pool.methods["\(method.service)/\(method.method)"], !method.kind.clientStreams,
                !method.kind.serverStreams
            else { continue }
            used.insert(info.inputType)
            used.insert(info.outputType)
            paths["/rpc/\(method.service)/\(method.method)"] = [
                "post": [
                    "operationId": method.service + "." + method.method,
                    "tags": ["rpc"],
                    "security": security(method.accessRule),
                    "requestBody": [
                        "required": true, "content": ["application/json": ["schema": ["$ref": ref(info.inputType)]]],
                    ],
                    "responses": [
                        "200": [
                            "description": "The response message (proto3 JSON)",
                            "content": ["application/json": ["schema": ["$ref": ref(info.outputType)]]],
                        ],
                        "default": [
                            "description": "`{\"code\": \"NOT_FOUND\", \"message\": \"…\"}`",
                            "content": ["application/json": ["schema": ["$ref": "#/components/schemas/RPCError"]]],
                        ],
                    ] as [String: Any],
                ] as [String: Any]
            ]
        }
        // Every message reachable from the used ones.
        var schemas: [String: Any] = [
            "LegacyEnvelope": [
                "type": "object", "required": ["success", "data", "message", "error"],
                "properties": [
                    "success": ["type": "boolean"], "data": [:] as [String: Any], "message": ["type": "string"],
                    "error": ["type": "null"],
                ],
            ],
            "LegacyError": ["type": "object", "required": ["detail"], "properties": ["detail": [:] as [String: Any]]],
            "RPCError": [
                "type": "object", "required": ["code", "message"],
                "properties": ["code": ["type": "string"], "message": ["type": "string"]],
            ],
        ]
        var pending = Array(used)
        var done: Set<String> = []
        while let name = pending.popLast() {
            guard done.insert(name).inserted else { continue }
            var referenced: Set<String> = []
            schemas[name] = messageSchema(name, pool: pool, used: &referenced)
            pending += referenced.subtracting(done)
        }
        return [
            "openapi": "3.1.0",
            "info": [
                "title": "Home-services marketplace", "version": "1.0.0",
                "description":
                    "The legacy /api/v1 contract and the canonical /rpc JSON endpoints, generated from Protos/.",
            ],
            "paths": paths,
            "components": [
                "schemas": schemas,
                "securitySchemes": ["bearer": ["type": "http", "scheme": "bearer", "bearerFormat": "JWT (EdDSA)"]],
            ] as [String: Any],
        ]
    }

    static func security(_ rule: AccessRule?) -> [[String: [String]]] {
        guard let rule, !rule.public else { return [] }
        return [["bearer": rule.roles]]
    }

    static func ref(_ name: String) -> String { "#/components/schemas/" + name }

    static func messageSchema(_ name: String, pool: DescriptorPool, used: inout Set<String>) -> [String: Any] {
        switch name {
        case "google.protobuf.Timestamp": return ["type": "string", "format": "date-time"]
        case "google.protobuf.Duration": return ["type": "string", "pattern": "^-?[0-9]+(\\.[0-9]+)?s" + OpenAPI.end]
        case "google.protobuf.Empty": return ["type": "object"]
        default: break
        }
        guard let message = pool.messages[name] else { return ["type": "object"] }
        var properties: [String: Any] = [:]
        for field in message.fields { properties[field.jsonName] = fieldSchema(field, pool: pool, used: &used) }
        return requirements(
            ["type": "object", "properties": properties, "additionalProperties": false],
            message: message,
            pool: pool
        )
    }

    static func fieldSchema(_ field: DescriptorPool.Field, pool: DescriptorPool, used: inout Set<String>) -> [String:
        Any]
    {
        if field.isRepeated, case .message(let entryName) = field.kind, let entry = pool.messages[entryName],
            entry.isMapEntry,
            let value = entry.field(number: 2)
        {
            return ["type": "object", "additionalProperties": single(value.kind, pool: pool, used: &used)]
        }
        let schema = single(field.kind, pool: pool, used: &used)
        return constrained(
            field.isRepeated ? ["type": "array", "items": schema] : schema,
            field: field,
            pool: pool,
            used: &used
        )
    }

    static func single(_ kind: DescriptorPool.FieldKind, pool: DescriptorPool, used: inout Set<String>) -> [String: Any]
    {
        switch kind {
        case .int32, .sint32, .sfixed32, .uint32, .fixed32: return ["type": "integer", "format": "int32"]
        case .int64, .sint64, .sfixed64: return int64Schema(unsigned: false)
        case .uint64, .fixed64: return int64Schema(unsigned: true)
        case .double, .float: return ["type": "number"]
        case .bool: return ["type": "boolean"]
        case .string: return ["type": "string"]
        case .bytes: return ["type": "string", "contentEncoding": "base64"]
        case .enumeration(let name): return ["type": "string", "enum": pool.enums[name]?.values.map(\.name) ?? []]
        case .message(let name):
            used.insert(name)
            return ["$ref": ref(name)]
        }
    }

    /// The document as pretty, key-sorted JSON (what is served and committed).
    static func bytes(pool: DescriptorPool, routes: RouteTable, methods: [MethodDescriptor]) -> [UInt8] {
        let object = document(pool: pool, routes: routes, methods: methods)
        guard
            let data = try? JSONSerialization.data(
                withJSONObject: object,
                options: [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
            )
        else {
            return Array("{}".utf8)
        }
        return [UInt8](data) + [0x0A]
    }
}

extension Gateway {
    /// The OpenAPI document (`/api/v1/openapi.json`, `Generated/openapi.json`).
    public var openAPIDocument: [UInt8] { openAPI }

    /// The OpenAPI document without running a gateway (for `marketplace openapi`).
    public static func openAPIDocument() throws -> [UInt8] {
        let schema = try GatewaySchema.marketplace()
        return OpenAPI.bytes(pool: schema.pool, routes: schema.routes, methods: schema.methods)
    }
}
