/// Recursive parcelables, refused as AOSP does: a parcelable or union that holds itself by value
/// has no finite layout (a Swift struct cannot contain itself, nor a C++ class). Only an array, a
/// `List`/`Map` or `@nullable(heap=true)` puts a field behind a reference and breaks the cycle; a
/// plain `@nullable` field is an optional value, still inline.
extension Resolver {
    /// Reports each cycle once, at the field of the first declaration (in load order) on it.
    func checkRecursiveValues() {
        var reported: Set<ObjectIdentifier> = []
        for doc in documents {
            for d in doc.declarations { checkRecursive(d, reported: &reported) }
        }
    }

    private func checkRecursive(_ d: Declaration, reported: inout Set<ObjectIdentifier>) {
        for n in d.nested { checkRecursive(n, reported: &reported) }
        guard !reported.contains(ObjectIdentifier(d)), let path = cycle(from: d) else { return }
        for step in path { reported.insert(ObjectIdentifier(step.owner)) }
        let shown = path.map { "\($0.owner.name).\($0.field.name)" }.joined(separator: " → ")
        report(error(
            path[0].field.type.location,
            "\(d.kind.rawValue) '\(d.name)' contains itself by value (\(shown) → \(d.name)): "
                + "hold it in an array or a List, or mark the field @nullable(heap=true)"))
    }

    /// The fields that hold a parcelable or union inline, by value.
    private static func valueFields(of d: Declaration) -> [(field: Field, type: Declaration)] {
        guard d.kind == .parcelable || d.kind == .union else { return [] }
        return d.fields.compactMap { f in
            guard !f.type.isArray, !f.type.isHeap, case .declaration(let t)? = f.type.resolved,
                t.kind == .parcelable || t.kind == .union
            else { return nil }
            return (f, t)
        }
    }

    /// A path of by-value fields from `start` back to `start`, or nil.
    private func cycle(from start: Declaration) -> [(owner: Declaration, field: Field)]? {
        var visited: Set<ObjectIdentifier> = []
        func search(_ d: Declaration, _ path: [(owner: Declaration, field: Field)]) -> [(owner: Declaration, field: Field)]? {
            for (f, t) in Self.valueFields(of: d) {
                let next = path + [(d, f)]
                if t === start { return next }
                if visited.insert(ObjectIdentifier(t)).inserted, let found = search(t, next) { return found }
            }
            return nil
        }
        return search(start, [])
    }
}
