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
