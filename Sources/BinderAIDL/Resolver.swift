/// Loads the documents a compilation needs, resolves every type name, evaluates constants and
/// enforces AIDL's rules. Collects diagnostics instead of stopping at the first one.
final class Resolver {
    /// Returns the files at a path relative to the import roots (`android/net/INetd.aidl`), one
    /// per root that has it.
    let loadAll: (String) -> [SourceFile]
    /// Loaded files that more than one import root has: their path → every root's path.
    var ambiguousFiles: [String: [String]] = [:]
    private(set) var documents: [Document] = []
    private var symbols: [String: Declaration] = [:]
    private var files: [String: SourceFile] = [:]
    private var triedPaths: Set<String> = []
    var diagnostics: [Diagnostic] = []
    private var importMaps: [ObjectIdentifier: [String: Declaration]] = [:]

    init(loadAll: @escaping (String) -> [SourceFile]) {
        self.loadAll = loadAll
    }

    func error(_ at: SourceLocation, _ message: String) -> Diagnostic {
        Diagnostic(at, message, sourceLine: files[at.path]?.line(at.line) ?? "")
    }

    func report(_ d: Diagnostic) {
        // An empty message stands for an error already reported (a constant that failed before).
        if !d.message.isEmpty && !diagnostics.contains(d) { diagnostics.append(d) }
    }

    func root(of d: Declaration) -> Declaration {
        var r = d
        while let p = r.parent { r = p }
        return r
    }

    // MARK: Loading

    /// Parses a file and registers its declarations; nil (with a diagnostic) on a syntax error.
    @discardableResult
    func add(_ file: SourceFile) -> Document? {
        files[file.path] = file
        let doc: Document
        do {
            var parser = try Parser(file)
            doc = try parser.parseDocument()
        } catch {
            report(error)
            return nil
        }
        documents.append(doc)
        checkOneTypePerFile(doc)
        for d in doc.declarations { register(d, document: doc) }
        return doc
    }

    private func register(_ d: Declaration, document: Document) {
        d.package = document.package
        d.document = document
        // Known before any check: an importer may evaluate an enumerator before this file is checked.
        if d.kind == .enum, let p = Self.backing(of: d) { d.backing = p }
        let q = d.qualifiedName
        if let existing = symbols[q] {
            report(error(d.location, "duplicate declaration of '\(q)'; the first is at \(existing.location)"))
        } else {
            symbols[q] = d
        }
        for n in d.nested {
            n.parent = d
            register(n, document: document)
        }
    }

    /// Loads `a/b/C.aidl` for a qualified name's prefix, once.
    private func load(_ parts: ArraySlice<String>) {
        let path = parts.joined(separator: "/") + ".aidl"
        guard triedPaths.insert(path).inserted else { return }
        let found = loadAll(path)
        guard let file = found.first else { return }
        if found.count > 1 { ambiguousFiles[file.path] = found.map(\.path) }
        add(file)
    }

    /// The declaration with a fully qualified name, loading files through the import roots as needed.
    func qualified(_ parts: [String]) -> Declaration? {
        let name = parts.joined(separator: ".")
        if let d = symbols[name] { return d }
        // Longest file prefix first: a.b.C.Inner may live in a/b/C.aidl.
        for k in stride(from: parts.count, through: 1, by: -1) {
            let prefix = parts[0..<k].joined(separator: ".")
            if symbols[prefix] == nil { load(parts[0..<k]) }
            if let top = symbols[prefix] { return descend(top, Array(parts[k...])) }
        }
        return nil
    }

    private func descend(_ d: Declaration, _ rest: [String]) -> Declaration? {
        var current = d
        for part in rest {
            guard let n = current.nested.first(where: { $0.name == part }) else { return nil }
            current = n
        }
        return current
    }

    // MARK: Names

    func imports(of document: Document) -> [String: Declaration] {
        if let m = importMaps[ObjectIdentifier(document)] { return m }
        var m: [String: Declaration] = [:]
        for i in document.imports {
            if let d = qualified(i.name) {
                m[i.name.last!] = d
                checkUnambiguous(i, d)
            } else {
                report(error(i.location, "unknown import '\(i.dotted)': no such type in the import paths"))
            }
        }
        importMaps[ObjectIdentifier(document)] = m
        return m
    }

    /// Finds the declaration a (possibly dotted) type name means at `scope`: nested types of the
    /// enclosing declarations, the file's own declarations, imports, the same package, then a
    /// fully qualified name.
    func lookupDeclaration(_ name: [String], scope: Declaration?, document: Document) -> Declaration? {
        guard let head = name.first else { return nil }
        let rest = Array(name.dropFirst())
        var s = scope
        while let d = s {
            if let n = d.nested.first(where: { $0.name == head }) { return descend(n, rest) }
            if d.name == head { return descend(d, rest) }
            s = d.parent
        }
        if let d = document.declarations.first(where: { $0.name == head }) { return descend(d, rest) }
        if let d = imports(of: document)[head] { return descend(d, rest) }
        if let d = qualified((document.package.isEmpty ? [] : document.package.split(separator: ".").map(String.init)) + [head]) {
            return descend(d, rest)
        }
        if name.count > 1 { return qualified(name) }
        return nil
    }

    private func typeParameters(of scope: Declaration?) -> Set<String> {
        var out: Set<String> = []
        var s = scope
        while let d = s {
            out.formUnion(d.typeParameters)
            s = d.parent
        }
        return out
    }

    // MARK: Types

    nonisolated(unsafe) private static let builtins: [String: ResolvedType] = [
        "void": .void, "boolean": .primitive(.boolean), "byte": .primitive(.byte), "char": .primitive(.char),
        "int": .primitive(.int), "long": .primitive(.long), "float": .primitive(.float), "double": .primitive(.double),
        "String": .string, "CharSequence": .string, "IBinder": .binder, "FileDescriptor": .fileDescriptor,
        "ParcelFileDescriptor": .parcelFileDescriptor, "List": .list, "Map": .map,
    ]

    /// Resolves a type use and its arguments, reporting what is wrong with it.
    func resolve(_ t: TypeRef, scope: Declaration?, document: Document, allowVoid: Bool) {
        checkAnnotations(t.annotations)
        let resolved: ResolvedType
        if t.name.count == 1, let b = Self.builtins[t.name[0]] {
            resolved = b
        } else if t.name.count == 1, typeParameters(of: scope).contains(t.name[0]) {
            resolved = .typeParameter(t.name[0])
        } else if let d = lookupDeclaration(t.name, scope: scope, document: document) {
            resolved = .declaration(d)
        } else {
            report(error(t.location, "unknown type '\(t.dottedName)'"))
            return
        }
        t.resolved = resolved
        for a in t.arguments { resolve(a, scope: scope, document: document, allowVoid: false) }

        let expected: Int
        switch resolved {
        case .list: expected = 1
        case .map: expected = 2
        case .declaration(let d): expected = d.typeParameters.count
        default: expected = 0
        }
        if t.arguments.count != expected {
            let what = expected == 0 ? "'\(t.dottedName)' does not take type arguments" :
                "'\(t.dottedName)' expects \(expected) type argument\(expected == 1 ? "" : "s"), found \(t.arguments.count)"
            report(error(t.location, what))
            return
        }
        switch resolved {
        case .void where !allowVoid || t.isArray:
            report(error(t.location, "'void' can only be the return type of a method"))
        case .primitive(let p) where t.isNullable && !t.isArray:
            report(error(t.location, "primitive type '\(p)' cannot be @nullable"))
        case _ where t.isUnsigned && !Self.canBeUnsigned(t):
            report(error(t.location, "@SwiftUnsigned only applies to int and long, not '\(t.displayName)'"))
        case .map:
            if let key = t.arguments.first, !key.isArray {
                switch key.resolved {
                case .string, .primitive(.int), .primitive(.long), .primitive(.byte), .primitive(.char): break
                case .declaration(let d) where d.kind == .enum: break
                default: report(error(key.location, "a Map key must be String, an integer type or an enum"))
                }
            } else if let key = t.arguments.first {
                report(error(key.location, "a Map key must be String, an integer type or an enum"))
            }
        case .declaration(let d) where d.kind == .unstructuredParcelable && d.headers["swift_type"] == nil:
            report(error(
                t.location,
                "unstructured parcelable '\(d.name)' has no Swift definition: declare its fields, or name a hand-written Swift type with swift_type \"Module.Type\""))
        default:
            break
        }
        checkList(t)
        for a in t.arguments {
            if case .primitive(let p)? = a.resolved, !a.isArray, case .declaration = resolved {
                report(error(a.location, "a generic parcelable cannot have the primitive type argument '\(p)'"))
            }
        }
        // Arrays: `T[]` or fixed `T[N]…`, not arrays of dynamic arrays.
        if t.dimensions.count > 1 && t.dimensions.contains(where: { $0 == nil }) {
            report(error(t.location, "arrays of arrays are not supported; use a fixed-size array T[N][M] or List<T[]>"))
        }
        t.fixedSizes = []
        for d in t.dimensions {
            guard let d else { continue }
            do {
                let v = try evaluate(d, scope: scope, document: document)
                guard let n = v.integerValue, n > 0, n <= 0x7FFF_FFFF else {
                    report(error(d.location, "a fixed array size must be a positive integer"))
                    continue
                }
                t.fixedSizes.append(Int(n))
            } catch {
                report(error)
            }
        }
    }

    // MARK: Annotations

    /// Annotations AOSP's compiler knows, and this backend's own. The Swift backend uses `nullable`,
    /// `Backing`, `SwiftNoInterfaceToken` and `SwiftUnsigned`; the rest steer other backends and
    /// are accepted and ignored.
    static let knownAnnotations: Set<String> = [
        "nullable", "utf8InCpp", "Backing", "VintfStability", "UnsupportedAppUsage", "Hide", "JavaOnlyStableParcelable",
        "NdkOnlyStableParcelable", "RustOnlyStableParcelable", "JavaOnlyImmutable", "FixedSize", "Descriptor",
        "RustDerive", "SuppressWarnings", "JavaPassthrough", "JavaDerive", "JavaDefault", "JavaDelegator",
        "JavaSuppressLint", "EnforcePermission", "RequiresNoPermission", "PermissionManuallyEnforced", "SensitiveData",
        "PropagateAllowBlocking", "Deprecated", "SwiftNoInterfaceToken", "SwiftUnsigned",
    ]

    /// `@SwiftUnsigned` fits `int` and `long`, whose unsigned Swift types have the same bytes. Not
    /// `byte`, which is sign-extended on the wire, nor arrays (their elements carry no annotation).
    private static func canBeUnsigned(_ t: TypeRef) -> Bool {
        guard !t.isArray else { return false }
        switch t.resolved {
        case .primitive(.int)?, .primitive(.long)?: return true
        default: return false
        }
    }

    /// An unsigned constant or default cannot be negative: Swift would not compile its literal.
    private func checkUnsigned(_ t: TypeRef, _ value: ConstValue?, at location: SourceLocation) {
        guard t.isUnsigned, let v = value?.integerValue, v < 0 else { return }
        report(error(location, "\(v) is negative, but '\(t.displayName)' is @SwiftUnsigned"))
    }

    func checkAnnotations(_ list: [Annotation]) {
        for a in list where !Self.knownAnnotations.contains(a.name) {
            report(error(a.location, "unknown annotation '@\(a.name)'"))
        }
    }

    // MARK: Checking

    /// Resolves and checks every loaded document, including files loaded while doing so.
    func check() {
        var done = 0
        while done < documents.count {
            let doc = documents[done]
            done += 1
            _ = imports(of: doc)
            for d in doc.declarations { check(d, document: doc) }
        }
        // After every file is checked: a cycle can run through imported types.
        checkRecursiveValues()
    }

    private func checkUnique<T>(_ items: [T], _ what: String, name: (T) -> String, location: (T) -> SourceLocation) {
        var seen: [String: SourceLocation] = [:]
        for item in items {
            let n = name(item)
            if let first = seen[n] {
                report(error(location(item), "duplicate \(what) '\(n)'; the first is at line \(first.line)"))
            } else {
                seen[n] = location(item)
            }
        }
    }

    private func check(_ d: Declaration, document: Document) {
        checkAnnotations(d.annotations)
        checkNesting(d)
        for n in d.nested { check(n, document: document) }
        checkUnique(d.constants.map { ($0.name, $0.location) } + d.fields.map { ($0.name, $0.location) }, "member", name: \.0, location: \.1)
        for c in d.constants {
            resolve(c.type, scope: d, document: document, allowVoid: false)
            guard c.type.resolved != nil else { continue }
            switch c.type.resolved {
            case .primitive, .string: break
            default:
                report(error(c.type.location, "a constant must have a primitive type or String, not '\(c.type.displayName)'"))
                continue
            }
            if c.type.isArray {
                report(error(c.type.location, "a constant cannot be an array"))
                continue
            }
            do { checkUnsigned(c.type, try constantValue(c, at: nil), at: c.type.location) } catch { report(error) }
        }
        switch d.kind {
        case .interface: checkInterface(d, document: document)
        case .parcelable, .union:
            checkFields(d, document: document)
            checkUnionFirstMember(d)
        case .enum: checkEnum(d)
        case .unstructuredParcelable: break
        }
        if d.kind != .enum, let b = d.annotation("Backing") {
            report(error(b.location, "@Backing only applies to enums"))
        }
        if d.kind != .interface, let a = d.annotation("SwiftNoInterfaceToken") {
            report(error(a.location, "@SwiftNoInterfaceToken only applies to interfaces"))
        }
    }

    /// The valid `@Backing(type=…)` of an enum, or nil (absent or invalid).
    private static func backing(of d: Declaration) -> Primitive? {
        guard case .string(let s)? = d.annotation("Backing")?.parameter("type")?.kind, let p = Primitive(rawValue: s) else { return nil }
        return p == .byte || p == .int || p == .long ? p : nil
    }

    private func checkEnum(_ d: Declaration) {
        if let b = d.annotation("Backing") {
            let value = b.parameter("type")
            if Self.backing(of: d) == nil {
                var shown = "?"
                if case .string(let s)? = value?.kind { shown = s }
                report(error(value?.location ?? b.location, "invalid @Backing type '\(shown)': use \"byte\", \"int\" or \"long\""))
            }
        }
        if d.enumerators.isEmpty { report(error(d.location, "enum '\(d.name)' has no enumerators")) }
        checkUnique(d.enumerators, "enumerator", name: \.name, location: \.location)
        for e in d.enumerators {
            do { _ = try enumeratorValue(e, at: nil) } catch { report(error) }
        }
    }

    private func checkFields(_ d: Declaration, document: Document) {
        if d.kind == .union && d.fields.isEmpty { report(error(d.location, "union '\(d.name)' has no members")) }
        for f in d.fields {
            resolve(f.type, scope: d, document: document, allowVoid: false)
            guard f.type.resolved != nil else { continue }
            if let e = f.defaultValue {
                do {
                    let v = try evaluate(e, scope: d, document: document)
                    f.evaluatedDefault = try convert(v, to: f.type, at: e.location)
                    checkUnsigned(f.type, f.evaluatedDefault, at: e.location)
                } catch {
                    report(error)
                }
            }
        }
    }

    private func checkInterface(_ d: Declaration, document: Document) {
        checkUnique(d.methods, "method", name: \.name, location: \.location)
        let withID = d.methods.filter { $0.explicitID != nil }
        if !withID.isEmpty && withID.count != d.methods.count, let missing = d.methods.first(where: { $0.explicitID == nil }) {
            report(error(
                missing.location,
                "method '\(missing.name)' has no transaction id, but other methods of '\(d.name)' do: give every method an id (= N) or none"))
        }
        var ids: [Int: String] = [:]
        for (i, m) in d.methods.enumerated() {
            checkAnnotations(m.annotations)
            if let (id, at) = m.explicitID {
                if id < 0 || id > 0x00FF_FFFE {
                    report(error(at, "transaction id \(id) is out of range (0…16777214)"))
                } else if let other = ids[id] {
                    report(error(at, "transaction id \(id) is already used by method '\(other)'"))
                } else {
                    ids[id] = m.name
                }
                m.code = UInt32(max(0, id)) + 1
            } else {
                m.code = UInt32(i) + 1
            }
            let oneway = m.isOneway || d.isOneway
            resolve(m.returnType, scope: d, document: document, allowVoid: true)
            if oneway, m.returnType.resolved.map({ if case .void = $0 { return false } else { return true } }) == true {
                report(error(m.returnType.location, "oneway method '\(m.name)' cannot return a value"))
            }
            checkUnique(m.parameters, "parameter", name: \.name, location: \.location)
            for p in m.parameters {
                checkParameterName(p)
                resolve(p.type, scope: d, document: document, allowVoid: false)
                guard p.type.resolved != nil else { continue }
                let outable = isOutable(p.type)
                if let dir = p.direction, dir != .in, !outable {
                    report(error(
                        p.directionLocation ?? p.location,
                        "parameter '\(p.name)' of type '\(p.type.displayName)' can only be an 'in' parameter"))
                } else if p.direction == .out && refusesOut(p.type) {
                    report(error(
                        p.directionLocation ?? p.location,
                        "parameter '\(p.name)' of type '\(p.type.displayName)' cannot be 'out': use in or inout"))
                } else if p.direction == nil && outable {
                    report(error(
                        p.type.location, "parameter '\(p.name)' of type '\(p.type.displayName)' must declare a direction: in, out or inout"))
                } else if oneway, let dir = p.direction, dir != .in {
                    report(error(p.directionLocation ?? p.location, "oneway method '\(m.name)' cannot have '\(dir)' parameters"))
                }
            }
        }
    }
}
