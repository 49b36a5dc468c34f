extension Resolver {
    /// Values generated below the runtime (`valuesModule`) can hold only what BinderWire can
    /// express: an `IBinder`, an interface or a file descriptor is a runtime type (`BinderProxy`,
    /// a `Proxy`, `ParcelFileDescriptor`), so a field of one is an error there. Such a parcelable
    /// belongs in a module generated without a split.
    func checkValuesNeedNoRuntime(_ documents: [Document], module: String) {
        for document in documents {
            for d in document.declarations { checkValueFields(d, module: module) }
        }
    }

    private func checkValueFields(_ d: Declaration, module: String) {
        for n in d.nested { checkValueFields(n, module: module) }
        guard d.kind == .parcelable || d.kind == .union else { return }
        for f in d.fields {
            guard let what = Self.runtimeType(in: f.type) else { continue }
            report(error(
                f.type.location,
                "field '\(f.name)' of '\(d.localName)' is \(what), which needs the Binder runtime: values generated into \(module) cannot hold one"))
        }
    }

    /// What in `t` (or its elements and type arguments) is a runtime type, if anything.
    private static func runtimeType(in t: TypeRef) -> String? {
        if let inner = t.arguments.lazy.compactMap(Self.runtimeType(in:)).first { return inner }
        switch t.resolved {
        case .binder?: return "an IBinder"
        case .fileDescriptor?, .parcelFileDescriptor?: return "a file descriptor"
        case .declaration(let d)? where d.kind == .interface: return "an interface (\(d.name))"
        default: return nil
        }
    }
}
