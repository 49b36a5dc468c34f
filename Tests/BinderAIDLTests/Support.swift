import BinderAIDL
import BinderPlatform

#if canImport(Glibc)
import Glibc
#endif

/// The repository root, found from this file's path (Tests/BinderAIDLTests/Support.swift).
let repositoryRoot: String = {
    var parts = #filePath.split(separator: "/", omittingEmptySubsequences: false)
    parts.removeLast(3)
    return parts.joined(separator: "/")
}()

/// `.aidl` files under `dir` (relative to the repository root), recursively, in byte order.
func aidlFiles(under dir: String, recursive: Bool) -> [String] {
    var out: [String] = []
    for name in FileSystem.listDirectory(repositoryRoot + "/" + dir) ?? [] {
        let path = dir + "/" + name
        if name.hasSuffix(".aidl") {
            out.append(path)
        } else if recursive, !name.contains(".") {
            out += aidlFiles(under: path, recursive: true)  // a plain file lists as empty
        }
    }
    return out.sorted { $0.utf8.lexicographicallyPrecedes($1.utf8) }
}

/// A compiler whose imports come from directories under the repository root.
func compiler(module: String?, valuesModule: String? = nil, roots: [String]) -> AIDLCompiler {
    AIDLCompiler(moduleName: module, valuesModule: valuesModule) { relative in
        for root in roots {
            let path = root + "/" + relative
            if let text = FileSystem.readText(repositoryRoot + "/" + path) { return SourceFile(path: path, text: text) }
        }
        return nil
    }
}

/// Compiles in-memory files (path → text); the first is the input, all can be imported.
func compile(_ files: [(String, String)], module: String? = nil, valuesModule: String? = nil) throws(CompileErrors) -> [AIDLCompiler.Output] {
    let table = Dictionary(uniqueKeysWithValues: files)
    let c = AIDLCompiler(moduleName: module, valuesModule: valuesModule) { relative in table[relative].map { SourceFile(path: relative, text: $0) } }
    return try c.compile([SourceFile(path: files[0].0, text: files[0].1)])
}
