/// Parcelables, unions and enums: the values (`AIDLValue`), which need no Binder runtime.
extension SwiftEmitter {
    // MARK: Equatable

    mutating func isEquatable(_ t: TypeRef) -> Bool {
        if t.isArray { return isEquatable(t.elementType()) }
        switch t.resolved {
        case .primitive?, .string?, .binder?: return true
        case .list?: return isEquatable(t.arguments[0])
        case .map?: return isEquatable(t.arguments[1])
        case .declaration(let d)?: return isEquatable(d)
        default: return false
        }
    }

    mutating func isEquatable(_ d: Declaration) -> Bool {
        switch d.kind {
        case .enum: return true
        case .interface, .unstructuredParcelable: return false
        case .parcelable, .union:
            if !d.typeParameters.isEmpty { return false }
            let key = ObjectIdentifier(d)
            if let known = equatableMemo[key] { return known }
            equatableMemo[key] = true  // assume so inside a cycle
            let result = d.fields.allSatisfy { isEquatable(fieldType($0.type)) }
            equatableMemo[key] = result
            return result
        }
    }

    // MARK: Constants

    mutating func constants(_ d: Declaration) {
        for c in d.constants {
            doc(c.doc)
            line("public static let \(Self.identifier(c.name)): \(swiftType(c.type)) = \(c.evaluated.map { literal($0, c.type) } ?? "0")")
        }
    }

    mutating func nested(_ d: Declaration) {
        for n in d.nested {
            line()
            declaration(n)
        }
    }

    /// `public struct Name<T: AIDLValue>: AIDLValue, Equatable` for a parcelable or union (`keyword`).
    mutating func valueTypeOpener(_ keyword: String, _ d: Declaration) -> String {
        let generics = d.typeParameters.isEmpty ? "" : "<" + d.typeParameters.map { "\($0): AIDLValue" }.joined(separator: ", ") + ">"
        return "public \(keyword) \(Self.identifier(d.name))\(generics): AIDLValue\(isEquatable(d) ? ", Equatable" : "")"
    }

    /// The `AIDLValue` requirements every parcelable, union and enum implements.
    static func readSignature(_ name: String) -> String {
        "public static func read(from parcel: inout Parcel, resolver: (any BinderResolver)?) throws(StatusCode) -> \(name)"
    }
    static let writeSignature = "public func write(to parcel: inout Parcel, resolver: (any BinderResolver)?)"

    // MARK: Parcelables

    mutating func parcelable(_ d: Declaration) {
        doc(d.doc)
        let name = Self.identifier(d.name)
        block(valueTypeOpener("struct", d)) { e in
            e.constants(d)
            if !d.constants.isEmpty { e.line() }
            for f in d.fields {
                let t = e.fieldType(f.type)
                e.doc(f.doc)
                e.line("\(f.type.isHeap ? "@AIDLIndirect " : "")public var \(Self.identifier(f.name)): \(e.swiftType(t)) = \(e.defaultValue(t, f.evaluatedDefault))")
            }
            if !d.fields.isEmpty { e.line() }
            e.line("public init() {}")
            let params = d.fields.map { f in
                let t = e.fieldType(f.type)
                return "\(Self.identifier(f.name)): \(e.swiftType(t)) = \(e.defaultValue(t, f.evaluatedDefault))"
            }
            if !params.isEmpty {
                let list = params.count > 3 ? "\n" + params.map { String(repeating: "    ", count: e.indent + 1) + $0 }.joined(separator: ",\n") + "\n" + String(repeating: "    ", count: e.indent) : params.joined(separator: ", ")
                e.block("public init(\(list))") { e in
                    for f in d.fields { e.line("self.\(Self.identifier(f.name)) = \(Self.identifier(f.name))") }
                }
            }
            e.line()
            e.block(Self.readSignature(name)) { e in
                e.line("let end = try parcel.beginParcelable()")
                e.line("\(d.fields.isEmpty ? "let" : "var") value = \(name)()")
                for f in d.fields {
                    e.line("value.\(Self.identifier(f.name)) = \(e.read(e.fieldType(f.type), "parcel", "resolver"))")
                }
                e.line("try parcel.endParcelable(end)")
                e.line("return value")
            }
            e.line()
            e.block(Self.writeSignature) { e in
                if d.fields.isEmpty {
                    e.line("parcel.writeParcelable { _ in }")
                } else {
                    e.scope("parcel.writeParcelable { parcel in") { e in
                        for f in d.fields {
                            e.line(e.write(e.fieldType(f.type), "self.\(Self.identifier(f.name))", "parcel", "resolver"))
                        }
                    }
                }
            }
            e.nested(d)
        }
    }

    // MARK: Unions

    mutating func union(_ d: Declaration) {
        doc(d.doc)
        let name = Self.identifier(d.name)
        block(valueTypeOpener("enum", d)) { e in
            for f in d.fields {
                e.doc(f.doc)
                e.line("case \(Self.identifier(f.name))(\(e.swiftType(e.fieldType(f.type))))")
            }
            e.line()
            e.constants(d)
            if !d.constants.isEmpty { e.line() }
            e.line("/// The tag written before the value: the member's index in declaration order.")
            e.block("public enum Tag: Int32, Sendable") { e in
                for (i, f) in d.fields.enumerated() { e.line("case \(Self.identifier(f.name)) = \(i)") }
            }
            e.line()
            e.block("public var tag: Tag") { e in
                e.line("switch self {")
                for f in d.fields { e.line("case .\(Self.identifier(f.name)): .\(Self.identifier(f.name))") }
                e.line("}")
            }
            e.line()
            if let first = d.fields.first {
                e.line("/// AIDL's default: the first member with its default value.")
                let t = e.fieldType(first.type)
                e.line("public init() { self = .\(Self.identifier(first.name))(\(e.defaultValue(t, first.evaluatedDefault))) }")
                e.line()
            }
            e.block(Self.readSignature(name)) { e in
                e.line("switch try parcel.read(Int32.self) {")
                for (i, f) in d.fields.enumerated() {
                    e.line("case \(i): return .\(Self.identifier(f.name))(\(e.read(e.fieldType(f.type), "parcel", "resolver")))")
                }
                e.line("default: throw .badValue")
                e.line("}")
            }
            e.line()
            e.block(Self.writeSignature) { e in
                e.line("switch self {")
                for (i, f) in d.fields.enumerated() {
                    e.line("case .\(Self.identifier(f.name))(let value):")
                    e.indent += 1
                    e.line("parcel.write(Int32(\(i)))")
                    e.line(e.write(e.fieldType(f.type), "value", "parcel", "resolver"))
                    e.indent -= 1
                }
                e.line("}")
            }
            e.nested(d)
        }
    }

    // MARK: Enums

    mutating func enumeration(_ d: Declaration) {
        doc(d.doc)
        let name = Self.identifier(d.name)
        let raw: String
        switch d.backing {
        case .long: raw = "Int64"
        case .int: raw = "Int32"
        default: raw = "Int8"
        }
        line("/// An open set: values this side does not know are kept, not rejected (AIDL enums may grow).")
        block("public struct \(name): RawRepresentable, Hashable, CaseIterable, CustomStringConvertible, AIDLValue") { e in
            e.line("public var rawValue: \(raw)")
            e.line("public init(rawValue: \(raw)) { self.rawValue = rawValue }")
            e.line("public init() { self.init(rawValue: 0) }")
            e.line()
            for en in d.enumerators {
                e.doc(en.doc)
                e.line("public static let \(Self.identifier(en.name)) = \(name)(rawValue: \(en.evaluated ?? 0))")
            }
            e.line()
            e.line("public static let allCases: [\(name)] = [\(d.enumerators.map { "." + Self.identifier($0.name) }.joined(separator: ", "))]")
            e.line()
            e.block("public var description: String") { e in
                e.line("switch rawValue {")
                var seen: Set<Int64> = []
                for en in d.enumerators where seen.insert(en.evaluated ?? 0).inserted {
                    e.line("case \(en.evaluated ?? 0): \(Self.stringLiteral(en.name))")
                }
                e.line("default: \"\(d.name)(\\(rawValue))\"")
                e.line("}")
            }
            e.line()
            e.block(Self.readSignature(name)) { e in
                e.line("\(name)(rawValue: try parcel.read(\(raw).self))")
            }
            e.line()
            e.line(Self.writeSignature + " { parcel.write(rawValue) }")
            e.nested(d)
        }
    }
}
