/// AOSP's rules on what a `List` may hold and on which parameters must state a direction.
extension Resolver {
    /// `List<int>` and `List<T>[]` are refused, as AOSP does: a list holds objects (an array is
    /// the container of primitives), and an array of lists has no parcel form in the other
    /// backends. A list of arrays (`List<int[]>`) stays accepted.
    func checkList(_ t: TypeRef) {
        guard case .list? = t.resolved else { return }
        if t.isArray {
            report(error(t.location, "an array of lists '\(t.displayName)' is not supported; use a List of arrays or a parcelable holding the list"))
            return
        }
        for a in t.arguments where !a.isArray {
            if case .primitive(let p)? = a.resolved {
                report(error(a.location, "a List cannot hold the primitive type '\(p)'; use an array ('\(p)[]')"))
            }
        }
    }

    /// Whether a parameter type may be `out`/`inout` (and then must say its direction). As AOSP's
    /// `CanBeOutParameter`: arrays, lists, maps, parcelables, unions and `ParcelFileDescriptor`.
    func isOutable(_ t: TypeRef) -> Bool {
        if t.isArray { return true }
        switch t.resolved {
        case .list, .map, .typeParameter, .parcelFileDescriptor: return true
        case .declaration(let d): return d.kind == .parcelable || d.kind == .union || d.kind == .unstructuredParcelable
        default: return false
        }
    }

    /// A lone `ParcelFileDescriptor` can be `in` or `inout` but not `out`: a stub has no file
    /// descriptor to start an `out` one from (the Swift type is not optional).
    func refusesOut(_ t: TypeRef) -> Bool {
        if case .parcelFileDescriptor? = t.resolved, !t.isArray { return true }
        return false
    }
}
