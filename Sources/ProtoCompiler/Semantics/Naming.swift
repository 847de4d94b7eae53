/// Name transformations shared by the resolver and the emitters, following protoc's rules.
public enum ProtoNaming {
    /// protoc's default JSON name: drop underscores, capitalise the letter after each one.
    public static func jsonName(_ fieldName: String) -> String { camelCase(fieldName, capitalizeFirst: false) }

    /// protoc's map entry message name: `my_map` becomes `MyMapEntry`.
    public static func mapEntryName(_ fieldName: String) -> String {
        camelCase(fieldName, capitalizeFirst: true) + "Entry"
    }

    static func camelCase(_ name: String, capitalizeFirst: Bool) -> String {
        var result = ""
        var capitalizeNext = capitalizeFirst
        for ch in name {
            if ch == "_" {
                capitalizeNext = true
            } else if capitalizeNext {
                result += ch.uppercased()
                capitalizeNext = false
            } else {
                result.append(ch)
            }
        }
        return result
    }

    /// `ORDER_STATUS_PENDING` without the enum-name prefix (`OrderStatus` gives `ORDER_STATUS_`),
    /// used for the proto3 case-insensitive uniqueness check and for Swift case names.
    public static func strippingEnumPrefix(_ valueName: String, enumName: String) -> String {
        let prefix = Array(enumName.lowercased().filter { $0 != "_" })
        let chars = Array(valueName)
        var i = 0
        var j = 0
        while i < chars.count && j < prefix.count {
            if chars[i] == "_" {
                i += 1
                continue
            }
            guard Character(chars[i].lowercased()) == prefix[j] else { return valueName }
            i += 1
            j += 1
        }
        guard j == prefix.count else { return valueName }
        while i < chars.count && chars[i] == "_" { i += 1 }
        guard i < chars.count else { return valueName }
        return String(chars[i...])
    }
}
