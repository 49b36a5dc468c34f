/// Ambiguous imports, refused as AOSP's FailOnAmbiguousImports: when two `-I` roots both hold
/// the imported type's file, which one is meant depends on the order of the roots, so a build
/// could silently pick another definition.
extension Resolver {
    func checkUnambiguous(_ i: Import, _ d: Declaration) {
        guard let path = root(of: d).document?.file.path, let paths = ambiguousFiles[path] else { return }
        report(error(i.location, "import '\(i.dotted)' is ambiguous: it is found as \(paths.joined(separator: " and "))"))
    }
}
