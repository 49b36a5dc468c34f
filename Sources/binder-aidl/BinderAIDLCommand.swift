import ArgumentParser
import BinderAIDL

#if canImport(Glibc)
import Glibc
#endif

/// `binder-aidl [-I DIR]... --out DIR FILE.aidl...`: the thin CLI over `BinderAIDL`. It only reads
/// the files, resolves imports under the -I roots, and writes the outputs.
@main
struct BinderAIDLCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "binder-aidl",
        abstract: "Compile AIDL interfaces, parcelables, enums and unions to Swift over the Binder runtime.",
        discussion: "Writes one Swift file per input (FILE.aidl → OUT/FILE.swift). Imports are found as ROOT/package/path/Type.aidl under each -I root. Errors are printed as file:line:column: error: message and the exit status is 1.")

    @Option(name: .customShort("I", allowingJoined: true), help: ArgumentHelp("An import root (repeatable).", valueName: "DIR"))
    var importRoots: [String] = []

    @Option(name: .long, help: ArgumentHelp("Where to write the Swift files.", valueName: "DIR"))
    var out: String

    @Option(name: .long, help: "The Swift module the output is compiled into (Binder: no `import Binder`).")
    var module: String?

    @Argument(help: "The .aidl files to compile.")
    var files: [String]

    func run() throws {
        var inputs: [SourceFile] = []
        for path in files {
            guard let text = readFile(path) else {
                printError("binder-aidl: cannot read '\(path)'")
                throw ExitCode(1)
            }
            inputs.append(SourceFile(path: path, text: text))
        }
        let roots = importRoots
        let compiler = AIDLCompiler(moduleName: module) { relative in
            for root in roots {
                let path = root.hasSuffix("/") ? root + relative : root + "/" + relative
                if let text = readFile(path) { return SourceFile(path: path, text: text) }
            }
            return nil
        }
        let outputs: [AIDLCompiler.Output]
        do {
            outputs = try compiler.compile(inputs)
        } catch {
            printError(error.description)
            throw ExitCode(1)
        }
        guard makeDirectories(out) else {
            printError("binder-aidl: cannot create '\(out)'")
            throw ExitCode(1)
        }
        for o in outputs {
            let path = out.hasSuffix("/") ? out + o.fileName : out + "/" + o.fileName
            if readFile(path) == o.contents { continue }  // leave unchanged files alone for incremental builds
            guard writeFile(path, o.contents) else {
                printError("binder-aidl: cannot write '\(path)'")
                throw ExitCode(1)
            }
        }
    }
}

/// Writes `s` to fd 2, ending it with a newline if it has none.
private func printError(_ s: String) {
    let text = s.hasSuffix("\n") ? s : s + "\n"
    _ = text.withCString { write(2, $0, strlen($0)) }
}

private func readFile(_ path: String) -> String? {
    guard let f = fopen(path, "rb") else { return nil }
    defer { fclose(f) }
    var bytes: [UInt8] = []
    var chunk = [UInt8](repeating: 0, count: 65536)
    while true {
        let n = fread(&chunk, 1, chunk.count, f)
        if n > 0 { bytes.append(contentsOf: chunk[0..<n]) }
        if n < chunk.count { break }
    }
    guard ferror(f) == 0 else { return nil }
    return String(validating: bytes, as: UTF8.self)
}

private func writeFile(_ path: String, _ text: String) -> Bool {
    guard let f = fopen(path, "wb") else { return false }
    let bytes = Array(text.utf8)
    let n = fwrite(bytes, 1, bytes.count, f)
    return fclose(f) == 0 && n == bytes.count
}

private func makeDirectories(_ path: String) -> Bool {
    var current = path.hasPrefix("/") ? "/" : ""
    for part in path.split(separator: "/") {
        current += part + "/"
        if mkdir(current, 0o755) != 0 && errno != EEXIST { return false }
    }
    return true
}
