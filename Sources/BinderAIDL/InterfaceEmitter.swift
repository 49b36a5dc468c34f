/// Interfaces: the namespace with the descriptor and codes, and the `Interface`, `Proxy` and `Stub`
/// over the Binder runtime.
extension SwiftEmitter {
    // MARK: File descriptors

    /// Whether values of this type can carry fds (the Stub must then opt in to receiving them).
    func carriesFileDescriptors(_ t: TypeRef, _ seen: inout Set<ObjectIdentifier>) -> Bool {
        if t.arguments.contains(where: { carriesFileDescriptors($0, &seen) }) { return true }
        switch t.resolved {
        case .fileDescriptor?, .parcelFileDescriptor?: return true
        case .declaration(let d)? where d.kind == .parcelable || d.kind == .union:
            guard seen.insert(ObjectIdentifier(d)).inserted else { return false }
            return d.fields.contains { carriesFileDescriptors($0.type, &seen) }
        default: return false
        }
    }

    func acceptsFileDescriptors(_ d: Declaration) -> Bool {
        var seen: Set<ObjectIdentifier> = []
        return d.methods.contains { m in m.parameters.contains { carriesFileDescriptors($0.type, &seen) } }
    }

    // MARK: Interfaces

    func usesToken(_ d: Declaration) -> Bool { d.annotation("SwiftNoInterfaceToken") == nil }

    func signature(_ m: Method) -> String {
        let params = m.parameters.map { p in
            "\(Self.identifier(p.name)): \(p.effectiveDirection == .in ? "" : "inout ")\(swiftType(p.type))"
        }
        return "func \(Self.identifier(m.name))(\(params.joined(separator: ", ")))"
    }

    func returnsValue(_ m: Method) -> Bool {
        if case .void? = m.returnType.resolved { return false }
        return true
    }

    func returns(_ m: Method) -> String { returnsValue(m) ? " -> \(swiftType(m.returnType))" : "" }

    /// The interface's namespace. With every part (no `--values-module`) it holds the service
    /// side too; in the values part only the descriptor, constants, codes and nested values.
    mutating func interface(_ d: Declaration) {
        doc(d.doc)
        block("public enum \(Self.identifier(d.name))") { e in
            e.line("/// The interface descriptor\(e.usesToken(d) ? ", written as the interface token at the start of every request" : "").")
            e.line("public static let descriptor = \(Self.stringLiteral(d.qualifiedName))")
            e.constants(d)
            e.line()
            if d.methods.isEmpty {
                e.line("/// Transaction codes (this interface has no methods).")
                e.line("public enum Code: Sendable {}")
            } else {
                e.line("/// Transaction codes: 1 + the method's index, or 1 + its explicit id (AIDL's FIRST_CALL_TRANSACTION + id).")
                e.block("public enum Code: UInt32, Sendable") { e in
                    for m in d.methods { e.line("case \(Self.identifier(m.name)) = \(m.code)") }
                }
            }
            if e.part == .all {
                e.line()
                e.service(d)
            }
            e.nested(d)
        }
    }

    /// The services part of an interface: its service side, extending the namespace that the
    /// values part generated into `valuesModule`.
    mutating func serviceExtension(_ d: Declaration, valuesModule: String) {
        line("/// `\(d.localName)` over the Binder runtime: its descriptor, codes and values are generated into \(valuesModule).")
        block("extension \(d.localName)") { e in e.service(d) }
    }

    /// `Interface`, `Proxy` and `Stub`.
    mutating func service(_ d: Declaration) {
        let ns = d.localName
        line("/// What an `\(d.name)` implementation provides; `Stub` serves one, `Proxy` calls a remote one.")
        block("public protocol Interface: AnyObject, Sendable") { e in
            for m in d.methods {
                e.doc(m.doc)
                e.line("\(e.signature(m)) throws\(e.returns(m))")
            }
        }
        line()
        proxy(d, ns: ns)
        line()
        stub(d, ns: ns)
    }

    mutating func proxy(_ d: Declaration, ns: String) {
        line("/// Calls a remote `\(d.name)` through its binder. Every method has a blocking and an async form.")
        block("public final class Proxy: Interface, AIDLProxy") { e in
            e.line("public let binder: BinderProxy")
            e.line("/// How long each call waits for its reply (a deadline in the frame, WIRE.md §3.2); nil: no limit")
            e.line("/// of its own (a call made while serving one with a deadline inherits it).")
            e.line("public let timeout: Duration?")
            e.line("public convenience init(_ binder: BinderProxy) { self.init(binder, timeout: nil) }")
            e.block("public init(_ binder: BinderProxy, timeout: Duration?)") { e in
                e.line("self.binder = binder")
                e.line("self.timeout = timeout")
            }
            e.line("/// This proxy with every call limited to `timeout`.")
            e.line("public func withTimeout(_ timeout: Duration?) -> Proxy { Proxy(binder, timeout: timeout) }")
            for m in d.methods {
                for isAsync in [false, true] {
                    e.line()
                    e.doc(m.doc)
                    e.block("public \(e.signature(m)) \(isAsync ? "async " : "")throws\(e.returns(m))") { e in
                        e.proxyBody(d, m, ns: ns, isAsync: isAsync)
                    }
                }
            }
        }
    }

    mutating func proxyBody(_ d: Declaration, _ m: Method, ns: String, isAsync: Bool) {
        let c = "self.binder.connection"
        let oneway = m.isOneway || d.isOneway
        let inputs = m.parameters.filter { $0.effectiveDirection != .out }
        line("\(usesToken(d) || !inputs.isEmpty ? "var" : "let") _data = Parcel()")
        if usesToken(d) { line("_data.writeInterfaceToken(\(ns).descriptor)") }
        for p in inputs { line(write(p.type, Self.identifier(p.name), "_data", c)) }
        let call = "try \(isAsync ? "await " : "")self.binder.transact(code: \(ns).Code.\(Self.identifier(m.name)).rawValue, data: _data"
        if oneway {
            line(call + ", flags: .oneWay, timeout: self.timeout)")
            return
        }
        line("var _reply = " + call + ", timeout: self.timeout)")
        line("try _reply.readException()")
        let outs = m.parameters.filter { $0.effectiveDirection != .in }
        if returnsValue(m) { line("\(outs.isEmpty ? "return" : "let _result =") \(read(m.returnType, "_reply", c))") }
        for p in outs {
            line("\(Self.identifier(p.name)) = \(read(p.type, "_reply", c))")
        }
        if returnsValue(m) && !outs.isEmpty { line("return _result") }
    }

    mutating func stub(_ d: Declaration, ns: String) {
        line("/// Serves an `Interface` implementation: checks, decodes and dispatches each call.")
        block("public final class Stub: BinderObject") { e in
            e.line("public let impl: any Interface")
            e.line("public init(_ impl: any Interface) { self.impl = impl }")
            if e.acceptsFileDescriptors(d) {
                e.line("/// Requests of this interface carry file descriptors.")
                e.line("public var acceptsFileDescriptors: Bool { true }")
            }
            e.line()
            e.block("public func onTransact(code _code: UInt32, data _data: inout Parcel, reply _reply: inout Parcel, context _context: TransactionContext) throws") { e in
                e.block("if _code == AIDLTransaction.interface") { e in
                    e.line("_reply.write(\(ns).descriptor)")
                    e.line("return")
                }
                if d.methods.isEmpty {
                    e.line("throw StatusCode.unknownTransaction")
                    return
                }
                e.line("guard let _method = \(ns).Code(rawValue: _code) else { throw StatusCode.unknownTransaction }")
                if e.usesToken(d) { e.line("try _data.enforceInterface(\(ns).descriptor)") }
                // The runtime has made `_context` the thread's current call (`TransactionContext.current`).
                e.line("switch _method {")
                for m in d.methods {
                    e.line("case .\(Self.identifier(m.name)):")
                    e.indent += 1
                    e.stubCase(d, m)
                    e.indent -= 1
                }
                e.line("}")
            }
        }
    }

    mutating func stubCase(_ d: Declaration, _ m: Method) {
        let c = "_context.connection"
        for p in m.parameters {
            let name = Self.identifier(p.name)
            switch p.effectiveDirection {
            case .in: line("let \(name) = \(read(p.type, "_data", c))")
            case .inout: line("var \(name) = \(read(p.type, "_data", c))")
            case .out: line("var \(name): \(swiftType(p.type)) = \(defaultValue(p.type, nil))")
            }
        }
        let args = m.parameters.map { p in
            "\(Self.identifier(p.name)): \(p.effectiveDirection == .in ? "" : "&")\(Self.identifier(p.name))"
        }.joined(separator: ", ")
        line("\(returnsValue(m) ? "let _result = " : "")try self.impl.\(Self.identifier(m.name))(\(args))")
        if m.isOneway || d.isOneway { return }
        line("_reply.writeNoException()")
        if returnsValue(m) { line(write(m.returnType, "_result", "_reply", c)) }
        for p in m.parameters where p.effectiveDirection != .in {
            line(write(p.type, Self.identifier(p.name), "_reply", c))
        }
    }
}
