/// Rules on the shape of declarations: how many a file holds and what may nest in what. AOSP's
/// compiler enforces these; without them a file means something there and something else here.
extension Resolver {
    /// One top-level type per file, as AOSP requires: imports find a type by its file's path, so
    /// a second type in the file could not be imported.
    func checkOneTypePerFile(_ doc: Document) {
        guard let first = doc.declarations.first else { return }
        for d in doc.declarations.dropFirst() {
            report(error(
                d.location,
                "'\(d.name)' is a second top-level type in this file (the first is '\(first.name)' at line \(first.location.line)): "
                    + "declare one type per file, or nest it"))
        }
    }
}

extension Resolver {
    /// What may nest, as AOSP: no nested types in a generic parcelable or union (their names
    /// would need the type arguments), no nested type named like its parent (Java and C++ refuse a
    /// member class with the enclosing class's name), and no unstructured parcelable below the top
    /// level (its definition lives outside AIDL, at a path of its own).
    func checkNesting(_ d: Declaration) {
        var seen: Set<String> = []
        for t in d.typeParameters where !seen.insert(t).inserted {
            report(error(d.location, "type parameter '\(t)' of '\(d.name)' is repeated"))
        }
        if !d.typeParameters.isEmpty, let n = d.nested.first {
            report(error(n.location, "'\(n.name)' cannot be nested in the generic \(d.kind.rawValue) '\(d.name)'"))
        }
        for n in d.nested {
            if n.name == d.name {
                report(error(n.location, "nested type '\(n.name)' has the same name as its parent"))
            }
            if n.kind == .unstructuredParcelable {
                report(error(n.location, "unstructured parcelable '\(n.name)' cannot be nested: declare it at the top level of its own file"))
            }
        }
    }

    /// A default union holds its first member with that member's default, and an enum has no
    /// default AOSP accepts (0 need not be an enumerator): the first member, if an enum, needs one.
    func checkUnionFirstMember(_ d: Declaration) {
        guard d.kind == .union, let f = d.fields.first, f.defaultValue == nil, !f.type.isArray,
            case .declaration(let e)? = f.type.resolved, e.kind == .enum
        else { return }
        report(error(
            f.location,
            "the first member '\(f.name)' of union '\(d.name)' is an enum with no default: give it one (= \(e.name).…), a default union holds it"))
    }
}
