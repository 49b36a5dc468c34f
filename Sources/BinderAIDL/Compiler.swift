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
    public var loader: (String) -> SourceFile?

    /// - Parameters:
    ///   - moduleName: the Swift module the output is compiled into (`Binder` omits `import Binder`).
    ///   - loader: returns the file for a path relative to an import root (`a/b/IFoo.aidl`), or nil.
    public init(moduleName: String? = nil, loader: @escaping (String) -> SourceFile? = { _ in nil }) {
        self.moduleName = moduleName
        self.loader = loader
    }

    /// Compiles `inputs` (and checks every file they import).
    /// - Throws: `CompileErrors` with every diagnostic found.
    public func compile(_ inputs: [SourceFile]) throws(CompileErrors) -> [Output] {
        let resolver = Resolver(loader: loader)
        let documents = inputs.map { resolver.add($0) }
        resolver.check()
        guard resolver.diagnostics.isEmpty else { throw CompileErrors(resolver.diagnostics) }
        var outputs: [Output] = []
        for (input, document) in zip(inputs, documents) {
            guard let document else { continue }
            var emitter = SwiftEmitter(document: document, moduleName: moduleName)
            let base = input.path.split(separator: "/").last.map(String.init) ?? input.path
            let stem = base.hasSuffix(".aidl") ? String(base.dropLast(5)) : base
            outputs.append(Output(sourcePath: input.path, fileName: stem + ".swift", contents: emitter.emit()))
        }
        return outputs
    }
}
