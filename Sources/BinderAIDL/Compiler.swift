/// The AIDL → Swift compiler: lexer → parser → resolver/validator → Swift emitter.
///
/// Pure: it reads nothing itself. The caller passes the input files and a loader for imports.
///
/// ```swift
/// let compiler = AIDLCompiler(moduleName: "Binder") { relativePath in
///     // e.g. look for "binder/BrokerStatus.aidl" under each -I root
/// }
/// let outputs = try compiler.compile([SourceFile(path: "Protocols/binder/IEcho.aidl", text: text)])
/// ```
public struct AIDLCompiler {
    /// One generated Swift file per input `.aidl` file.
    public struct Output: Sendable, Equatable {
        /// The input's path, as given.
        public var sourcePath: String
        /// `IFoo.swift` for `…/IFoo.aidl`.
        public var fileName: String
        public var contents: String
    }

    public var moduleName: String?
    /// Where the values go when they are split from the interfaces' service side (Protocols/AIDL.md,
    /// "Values below the runtime"): the compilation for this module gets the parcelables, unions,
    /// enums and interface codes, which need only BinderWire; one for any other module gets the
    /// interfaces' `Interface`, `Proxy` and `Stub`, as extensions. nil: everything in one file.
    public var valuesModule: String?
    public var loader: (String) -> SourceFile?
    /// Every file for a relative path, one per import root that has it (set by the `loadAll`
    /// initializer). With it, a type found under two roots is an ambiguous import, as AOSP's
    /// FailOnAmbiguousImports; with `loader` alone, the first root wins unseen.
    public var loadAll: ((String) -> [SourceFile])?

    /// - Parameters:
    ///   - moduleName: the Swift module the output is compiled into (`Binder` omits `import Binder`).
    ///   - valuesModule: the module the values are generated into, when split (see `valuesModule`).
    ///   - loader: returns the file for a path relative to an import root (`a/b/IFoo.aidl`), or nil.
    public init(moduleName: String? = nil, valuesModule: String? = nil, loader: @escaping (String) -> SourceFile? = { _ in nil }) {
        self.moduleName = moduleName
        self.valuesModule = valuesModule
        self.loader = loader
    }

    /// - Parameters:
    ///   - loadAll: returns the file for a path relative to an import root from every root that
    ///     has it, in root order; more than one is an ambiguous import.
    public init(moduleName: String? = nil, valuesModule: String? = nil, loadAll: @escaping (String) -> [SourceFile]) {
        self.init(moduleName: moduleName, valuesModule: valuesModule) { loadAll($0).first }
        self.loadAll = loadAll
    }

    private var part: SwiftEmitter.Part {
        guard let valuesModule else { return .all }
        return valuesModule == moduleName ? .values : .services(valuesModule: valuesModule)
    }

    /// Compiles `inputs` (and checks every file they import). An input whose declarations all
    /// belong to the other part of a split (a parcelable, for the services part) has no output.
    /// - Throws: `CompileErrors` with every diagnostic found.
    public func compile(_ inputs: [SourceFile]) throws(CompileErrors) -> [Output] {
        let loader = self.loader
        let resolver = Resolver(loadAll: loadAll ?? { loader($0).map { [$0] } ?? [] })
        let documents = inputs.map { resolver.add($0) }
        resolver.check()
        if part == .values, let moduleName { resolver.checkValuesNeedNoRuntime(documents.compactMap { $0 }, module: moduleName) }
        guard resolver.diagnostics.isEmpty else { throw CompileErrors(resolver.diagnostics) }
        var outputs: [Output] = []
        for (input, document) in zip(inputs, documents) {
            guard let document else { continue }
            var emitter = SwiftEmitter(document: document, moduleName: moduleName, part: part)
            guard let contents = emitter.emit() else { continue }
            let base = input.path.split(separator: "/").last.map(String.init) ?? input.path
            let stem = base.hasSuffix(".aidl") ? String(base.dropLast(5)) : base
            outputs.append(Output(sourcePath: input.path, fileName: stem + ".swift", contents: contents))
        }
        return outputs
    }
}
