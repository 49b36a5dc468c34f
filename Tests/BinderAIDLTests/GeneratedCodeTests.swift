import BinderAIDL
import BinderPlatform
import Testing

/// Every committed generated file must be what the compiler produces now (`make aidl` fixes it).
@Suite("Committed generated Swift is fresh")
struct GeneratedCodeTests {
    struct Set: CustomTestStringConvertible, Sendable {
        var inputs: String
        var recursive: Bool
        var roots: [String]
        var module: String
        /// Where the values go when split from the interfaces' service side (`--values-module`).
        var valuesModule: String? = nil
        var output: String
        var testDescription: String { "\(inputs) → \(output)" }
    }

    static let sets: [Set] = [
        Set(inputs: "Protocols/binder", recursive: false, roots: ["Protocols"], module: "BinderWire", valuesModule: "BinderWire", output: "Sources/BinderWire/Generated"),
        Set(inputs: "Protocols/binder", recursive: false, roots: ["Protocols"], module: "Binder", valuesModule: "BinderWire", output: "Sources/Binder/Generated"),
        Set(inputs: "Protocols/binder/test", recursive: false, roots: ["Protocols"], module: "BinderTestTypes", output: "Sources/BinderTestTypes/Generated"),
        Set(inputs: "Protocols/binder/net", recursive: false, roots: ["Protocols"], module: "BinderNet", output: "Sources/BinderNet/Generated"),
        Set(
            inputs: "Tests/BinderAIDLTests/Fixtures/netd", recursive: true, roots: ["Tests/BinderAIDLTests/Fixtures/netd"],
            module: "NetdFixtureGenerated", output: "Tests/NetdFixtureGenerated"),
    ]

    @Test("regenerating in memory gives the committed files", arguments: sets)
    func fresh(_ set: Set) throws {
        let paths = aidlFiles(under: set.inputs, recursive: set.recursive)
        #expect(!paths.isEmpty)
        let inputs = paths.map { SourceFile(path: $0, text: FileSystem.readText(repositoryRoot + "/" + $0)!) }
        let outputs = try compiler(module: set.module, valuesModule: set.valuesModule, roots: set.roots).compile(inputs)
        let committed = (FileSystem.listDirectory(repositoryRoot + "/" + set.output) ?? []).filter { $0.hasSuffix(".swift") }
        #expect(committed == outputs.map(\.fileName).sorted(), "generated files added or removed: run `make aidl`")
        for o in outputs {
            let fresh = FileSystem.readText(repositoryRoot + "/" + set.output + "/" + o.fileName) == o.contents
            #expect(fresh, "\(set.output)/\(o.fileName) is stale: run `make aidl`")
        }
    }
}
