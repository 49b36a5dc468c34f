/// A recursive-descent parser for AIDL: tokens → `Document`. Stops at the first syntax error.
struct Parser {
    private let file: SourceFile
    private var tokens: [Token]
    private var index = 0

    init(_ file: SourceFile) throws(Diagnostic) {
        self.file = file
        var lexer = Lexer(file)
        self.tokens = try lexer.tokenize()
    }

    // MARK: Token helpers

    private var current: Token { tokens[index] }
    private var previous: Token { tokens[max(0, index - 1)] }
    private func peek(_ k: Int) -> Token { tokens[min(index + k, tokens.count - 1)] }

    @discardableResult
    private mutating func next() -> Token {
        let t = tokens[index]
        if index < tokens.count - 1 { index += 1 }
        return t
    }

    private func error(_ at: SourceLocation, _ message: String) -> Diagnostic {
        Diagnostic(at, message, sourceLine: file.line(at.line))
    }

    private func unexpected(_ expected: String) -> Diagnostic {
        error(current.location, "expected \(expected), found \(current)")
    }

    private mutating func accept(_ symbol: String) -> Bool {
        if current.is(symbol) {
            next()
            return true
        }
        return false
    }

    private mutating func expect(_ symbol: String) throws(Diagnostic) {
        guard accept(symbol) else { throw unexpected("'\(symbol)'") }
    }

    /// A missing `;` is reported just after the token it should follow, as C compilers do.
    private mutating func expectSemicolon(after what: String) throws(Diagnostic) {
        guard accept(";") else { throw error(previous.endLocation, "expected ';' after \(what)") }
    }

    private static let keywords: Set<String> = [
        "package", "import", "interface", "parcelable", "enum", "union", "oneway", "in", "out", "inout", "const",
        "cpp_header", "ndk_header", "rust_type", "swift_type", "true", "false",
    ]

    private mutating func identifier(_ what: String) throws(Diagnostic) -> Token {
        guard current.kind == .identifier, !Self.keywords.contains(current.text) else { throw unexpected(what) }
        return next()
    }

    private mutating func qualifiedName(_ what: String) throws(Diagnostic) -> ([String], SourceLocation) {
        let first = try identifier(what)
        var parts = [first.text]
        while current.is("."), peek(1).kind == .identifier {
            next()
            parts.append(next().text)
        }
        return (parts, first.location)
    }

    // MARK: Document

    mutating func parseDocument() throws(Diagnostic) -> Document {
        let doc = Document(file: file)
        if current.is("package") {
            next()
            doc.package = try qualifiedName("a package name").0.joined(separator: ".")
            try expectSemicolon(after: "package declaration")
        }
        while current.is("import") {
            next()
            let (name, at) = try qualifiedName("a type name to import")
            doc.imports.append(Import(name: name, location: at))
            try expectSemicolon(after: "import")
        }
        // A file must declare a type (AOSP refuses an empty file and one with only `package`); the
        // error sits just after the last token, where the declaration is missing.
        if current.kind == .end {
            let at = tokens.count == 1 ? current.location : previous.endLocation
            throw error(at, "expected a declaration (interface, parcelable, enum or union), found end of file")
        }
        while current.kind != .end {
            if current.is("import") || current.is("package") {
                throw error(current.location, "'\(current.text)' must come before the first declaration")
            }
            let d = try declaration(parent: nil)
            doc.declarations.append(d)
        }
        return doc
    }

    // MARK: Annotations

    private mutating func annotations() throws(Diagnostic) -> [Annotation] {
        var list: [Annotation] = []
        while current.is("@") {
            let at = next().location
            let name = try identifier("an annotation name")
            var params: [(String, Expr)] = []
            if accept("(") {
                if !current.is(")") {
                    if current.kind == .identifier && peek(1).is("=") {
                        repeat {
                            let key = try identifier("an annotation parameter name")
                            // AOSP refuses a repeated parameter rather than letting one value win.
                            if params.contains(where: { $0.0 == key.text }) {
                                throw error(key.location, "duplicate parameter '\(key.text)' in annotation '@\(name.text)'")
                            }
                            try expect("=")
                            params.append((key.text, try expression()))
                        } while accept(",")
                    } else {
                        params.append(("value", try expression()))
                    }
                }
                try expect(")")
            }
            list.append(Annotation(name: name.text, parameters: params, location: at))
        }
        return list
    }

    // MARK: Declarations

    private mutating func declaration(parent: Declaration?) throws(Diagnostic) -> Declaration {
        let doc = current.doc
        let annotations = try annotations()
        let docHere = doc ?? current.doc
        var oneway = false
        if current.is("oneway") {
            oneway = true
            next()
        }
        let keyword = current
        switch keyword.kind == .identifier ? keyword.text : "" {
        case "interface":
            next()
            let name = try identifier("an interface name")
            let d = Declaration(kind: .interface, name: name.text, location: name.location, doc: docHere, annotations: annotations)
            d.isOneway = oneway
            d.parent = parent
            try expect("{")
            try interfaceBody(d)
            return d
        case "parcelable", "union", "enum":
            if oneway { throw error(keyword.location, "only interfaces and methods can be oneway") }
            next()
            let name = try identifier("a \(keyword.text) name")
            let kind: DeclarationKind = keyword.text == "parcelable" ? .parcelable : keyword.text == "union" ? .union : .enum
            let d = Declaration(kind: kind, name: name.text, location: name.location, doc: docHere, annotations: annotations)
            d.parent = parent
            if kind != .enum, accept("<") {
                repeat { d.typeParameters.append(try identifier("a type parameter name").text) } while accept(",")
                try expect(">")
            }
            if kind == .parcelable, !current.is("{") {
                // Unstructured: `parcelable Foo;` or `parcelable Foo cpp_header "foo.h" …;`
                d.kind = .unstructuredParcelable
                while ["cpp_header", "ndk_header", "rust_type", "swift_type"].contains(current.text) && current.kind == .identifier {
                    let key = next().text
                    guard current.kind == .string else { throw unexpected("a string after '\(key)'") }
                    d.headers[key] = next().text
                }
                try expectSemicolon(after: "parcelable declaration")
                return d
            }
            try expect("{")
            if kind == .enum {
                try enumBody(d)
            } else {
                try parcelableBody(d)
            }
            return d
        default:
            throw unexpected(parent == nil ? "a declaration (interface, parcelable, enum or union)" : "a member")
        }
    }

    private mutating func enumBody(_ d: Declaration) throws(Diagnostic) {
        while !current.is("}") {
            let doc = current.doc
            _ = try annotations()
            let name = try identifier("an enumerator name")
            var value: Expr?
            if accept("=") { value = try expression() }
            let e = Enumerator(name: name.text, value: value, doc: doc ?? name.doc, location: name.location)
            e.owner = d
            d.enumerators.append(e)
            if !accept(",") { break }
        }
        try expect("}")
    }

    private mutating func constant(_ d: Declaration, doc: String?) throws(Diagnostic) {
        next()  // const
        let type = try typeRef(annotations: [])
        let name = try identifier("a constant name")
        try expect("=")
        let value = try expression()
        try expectSemicolon(after: "constant declaration")
        let c = Constant(name: name.text, type: type, value: value, doc: doc, location: name.location)
        c.owner = d
        d.constants.append(c)
    }

    private func skipAnnotationsLookahead() -> Int {
        // Index of the first token after leading annotations (used to classify a member).
        var k = 0
        while peek(k).is("@") {
            k += 2
            if peek(k).is("(") {
                var depth = 0
                repeat {
                    if peek(k).is("(") { depth += 1 }
                    if peek(k).is(")") { depth -= 1 }
                    k += 1
                } while depth > 0 && peek(k).kind != .end
            }
        }
        return k
    }

    /// Parses a nested declaration or a constant of `d` if one starts at the cursor. In an
    /// interface `oneway` starts a method unless `interface` follows it.
    private mutating func nestedOrConstant(_ d: Declaration, doc: String?) throws(Diagnostic) -> Bool {
        let k = skipAnnotationsLookahead()
        let t = peek(k)
        if t.kind == .identifier,
            ["interface", "parcelable", "enum", "union"].contains(t.text)
                || (t.text == "oneway" && (d.kind != .interface || peek(k + 1).is("interface")))
        {
            d.nested.append(try declaration(parent: d))
            return true
        }
        if current.is("const") {
            try constant(d, doc: doc)
            return true
        }
        return false
    }

    private mutating func parcelableBody(_ d: Declaration) throws(Diagnostic) {
        while !accept("}") {
            if current.kind == .end { throw unexpected("'}'") }
            let doc = current.doc
            if try nestedOrConstant(d, doc: doc) { continue }
            let annotations = try annotations()
            let type = try typeRef(annotations: annotations)
            let name = try identifier("a field name")
            if current.is("(") { throw error(current.location, "a \(d.kind.rawValue) cannot have methods") }
            var value: Expr?
            if accept("=") { value = try expression() }
            try expectSemicolon(after: "field declaration")
            d.fields.append(Field(name: name.text, type: type, defaultValue: value, doc: doc, location: name.location))
        }
    }

    private mutating func interfaceBody(_ d: Declaration) throws(Diagnostic) {
        while !accept("}") {
            if current.kind == .end { throw unexpected("'}'") }
            let doc = current.doc
            if try nestedOrConstant(d, doc: doc) { continue }
            let annotations = try annotations()
            var oneway = false
            if accept("oneway") { oneway = true }
            let returnType: TypeRef
            if current.is("void") {
                returnType = TypeRef(name: ["void"], arguments: [], dimensions: [], annotations: annotations, location: current.location)
                next()
            } else {
                returnType = try typeRef(annotations: annotations.filter { $0.name == "nullable" || $0.name == "utf8InCpp" })
            }
            let name = try identifier("a method name")
            try expect("(")
            var params: [Parameter] = []
            if !current.is(")") {
                repeat { params.append(try parameter()) } while accept(",")
            }
            try expect(")")
            var id: (Int, SourceLocation)?
            if accept("=") {
                guard current.kind == .integer, let v = Int(current.text) else { throw unexpected("a transaction id (a decimal integer)") }
                id = (v, current.location)
                next()
            }
            try expectSemicolon(after: "method declaration")
            d.methods.append(Method(
                name: name.text, location: name.location, doc: doc, annotations: annotations, isOneway: oneway,
                returnType: returnType, parameters: params, explicitID: id))
        }
    }

    private mutating func parameter() throws(Diagnostic) -> Parameter {
        var annotations = try annotations()
        var direction: Direction?
        var directionAt: SourceLocation?
        if current.kind == .identifier, let dir = Direction(rawValue: current.text) {
            direction = dir
            directionAt = next().location
            annotations += try self.annotations()
        }
        let type = try typeRef(annotations: annotations)
        let name = try identifier("a parameter name")
        return Parameter(name: name.text, type: type, direction: direction, directionLocation: directionAt, location: name.location)
    }

    // MARK: Types

    private mutating func typeRef(annotations leading: [Annotation]) throws(Diagnostic) -> TypeRef {
        let annotations = leading + (try self.annotations())
        let at = current.location
        let (name, _) = try qualifiedName("a type")
        var args: [TypeRef] = []
        if accept("<") {
            repeat { args.append(try typeRef(annotations: [])) } while accept(",")
            try expect(">")
        }
        var dims: [Expr?] = []
        while accept("[") {
            if accept("]") {
                dims.append(nil)
            } else {
                dims.append(try expression())
                try expect("]")
            }
        }
        return TypeRef(name: name, arguments: args, dimensions: dims, annotations: annotations, location: at)
    }

    // MARK: Constant expressions (C precedence)

    private static let binaryPrecedence: [String: Int] = [
        "||": 1, "&&": 2, "|": 3, "^": 4, "&": 5, "==": 6, "!=": 6, "<": 7, ">": 7, "<=": 7, ">=": 7,
        "<<": 8, ">>": 8, "+": 9, "-": 9, "*": 10, "/": 10, "%": 10,
    ]

    /// The binary operator at the cursor; `>` `>` with nothing between is a right shift (the lexer
    /// keeps `>` single so that `List<List<T>>` closes two type argument lists).
    private func binaryOperator() -> (String, Int)? {
        guard current.kind == .symbol else { return nil }
        if current.text == ">", peek(1).is(">"), peek(1).location.line == current.location.line,
            peek(1).location.column == current.location.column + 1
        {
            return (">>", 2)
        }
        return Self.binaryPrecedence[current.text] != nil ? (current.text, 1) : nil
    }

    mutating func expression() throws(Diagnostic) -> Expr {
        let condition = try binary(minPrecedence: 1)
        guard current.is("?") else { return condition }
        next()
        let a = try expression()
        try expect(":")
        let b = try expression()
        return Expr(kind: .ternary(condition, a, b), location: condition.location)
    }

    private mutating func binary(minPrecedence: Int) throws(Diagnostic) -> Expr {
        var lhs = try unary()
        while let (op, width) = binaryOperator(), let prec = Self.binaryPrecedence[op], prec >= minPrecedence {
            let at = current.location
            for _ in 0..<width { next() }
            let rhs = try binary(minPrecedence: prec + 1)
            lhs = Expr(kind: .binary(op, lhs, rhs), location: at)
        }
        return lhs
    }

    private mutating func unary() throws(Diagnostic) -> Expr {
        if current.kind == .symbol, ["-", "+", "~", "!"].contains(current.text) {
            let op = next()
            return Expr(kind: .unary(op.text, try unary()), location: op.location)
        }
        return try primary()
    }

    private mutating func primary() throws(Diagnostic) -> Expr {
        let t = current
        switch t.kind {
        case .integer:
            next()
            return Expr(kind: .integer(t.text), location: t.location)
        case .float:
            next()
            return Expr(kind: .float(t.text), location: t.location)
        case .string:
            next()
            return Expr(kind: .string(t.text), location: t.location)
        case .character:
            next()
            return Expr(kind: .character(t.text), location: t.location)
        case .identifier where t.text == "true" || t.text == "false":
            next()
            return Expr(kind: .boolean(t.text == "true"), location: t.location)
        case .identifier:
            let (name, at) = try qualifiedName("an expression")
            return Expr(kind: .reference(name), location: at)
        case .symbol where t.text == "(":
            next()
            let e = try expression()
            try expect(")")
            return e
        case .symbol where t.text == "{":
            next()
            var items: [Expr] = []
            while !current.is("}") {
                items.append(try expression())
                if !accept(",") { break }
            }
            try expect("}")
            return Expr(kind: .array(items), location: t.location)
        default:
            throw unexpected("an expression")
        }
    }
}
