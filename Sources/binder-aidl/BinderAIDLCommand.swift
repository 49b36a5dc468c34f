import ArgumentParser
import BinderAIDL
import BinderPlatform

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

    @Option(
        name: .customLong("values-module"),
        help: ArgumentHelp(
            "Split values from services: with --module MODULE, write only the parcelables, unions, enums and interface codes (Swift that needs only BinderWire); with any other --module, only the interfaces' Interface, Proxy and Stub, extending MODULE's namespaces (inputs with no interface write no file).",
            valueName: "MODULE"))
    var valuesModule: String?

    @Argument(help: "The .aidl files to compile.")
    var files: [String]

    func run() throws {
        var inputs: [SourceFile] = []
        for path in files {
            guard let text = FileSystem.readText(path) else {
                ProcessControl.printError("binder-aidl: cannot read '\(path)'")
                throw ExitCode(1)
            }
            inputs.append(SourceFile(path: path, text: text))
        }
        let roots = importRoots
        // Every root's file, so that a type under two roots is reported as an ambiguous import.
        let compiler = AIDLCompiler(moduleName: module, valuesModule: valuesModule) { relative in
            roots.compactMap { root in
                let path = root.hasSuffix("/") ? root + relative : root + "/" + relative
                return FileSystem.readText(path).map { SourceFile(path: path, text: $0) }
            }
        }
        let outputs: [AIDLCompiler.Output]
        do {
            outputs = try compiler.compile(inputs)
        } catch {
            ProcessControl.printError(error.description)
            throw ExitCode(1)
        }
        do { try FileSystem.makeDirectories(out) } catch {
            ProcessControl.printError("binder-aidl: cannot create '\(out)': \(error)")
            throw ExitCode(1)
        }
        for o in outputs {
            let path = out.hasSuffix("/") ? out + o.fileName : out + "/" + o.fileName
            if FileSystem.readText(path) == o.contents { continue }  // leave unchanged files alone for incremental builds
            do { try FileSystem.writeText(path, o.contents) } catch {
                ProcessControl.printError("binder-aidl: cannot write '\(path)': \(error)")
                throw ExitCode(1)
            }
        }
    }
}
