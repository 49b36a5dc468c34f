/// The value of a constant expression.
enum ConstValue {
    /// An integer and the AIDL type it has (`byte`, `int`, `long` or `char`).
    case integer(Int64, Primitive)
    /// A floating-point value; `isFloat` for a `f`-suffixed literal (else double).
    case float(Double, isFloat: Bool)
    case boolean(Bool)
    case string(String)
    /// An enumerator of an AIDL enum, with its value.
    case enumerator(Declaration, String, Int64)
    case array([ConstValue])

    var kindName: String {
        switch self {
        case .integer(_, .char): "a char"
        case .integer: "an integer"
        case .float: "a floating-point value"
        case .boolean: "a boolean"
        case .string: "a string"
        case .enumerator(let d, _, _): "an enumerator of '\(d.name)'"
        case .array: "an array"
        }
    }

    /// The integer value of integers and enumerators.
    var integerValue: Int64? {
        switch self {
        case .integer(let v, _), .enumerator(_, _, let v): v
        default: nil
        }
    }

    /// A boolean as the C `int` 0 or 1 (what a comparison gives in C and in AOSP's evaluator);
    /// any other value as it is.
    var promotingBoolean: ConstValue {
        if case .boolean(let b) = self { return .integer(b ? 1 : 0, .int) }
        return self
    }

    /// The value as a condition: a boolean, or an integer (nonzero is true); nil for others.
    var truth: Bool? {
        if case .boolean(let b) = self { return b }
        return integerValue.map { $0 != 0 }
    }
}

extension Primitive {
    func fits(_ v: Int64) -> Bool {
        switch self {
        case .byte: v >= -128 && v <= 127
        case .char: v >= 0 && v <= 65535
        case .int: v >= Int64(Int32.min) && v <= Int64(Int32.max)
        default: true
        }
    }

    /// The integer type arithmetic on two operands produces (`char` and `byte` promote to `int`).
    static func promoted(_ a: Primitive, _ b: Primitive) -> Primitive {
        a == .long || b == .long ? .long : .int
    }
}

extension Resolver {
    // MARK: Literals

    func integerLiteral(_ text: String, at: SourceLocation) throws(Diagnostic) -> ConstValue {
        var digits = text
        var suffix = ""
        for s in ["u8", "U8", "L", "l"] where digits.hasSuffix(s) {
            suffix = s.lowercased()
            digits.removeLast(s.count)
            break
        }
        let hex = digits.hasPrefix("0x") || digits.hasPrefix("0X")
        guard let magnitude = hex ? UInt64(digits.dropFirst(2), radix: 16) : UInt64(digits, radix: 10) else {
            throw error(at, "invalid integer literal '\(text)'")
        }
        switch suffix {
        case "u8":
            guard magnitude <= 0xFF else { throw error(at, "integer literal '\(text)' does not fit in 'byte'") }
            return .integer(Int64(Int8(truncatingIfNeeded: magnitude)), .byte)
        case "l":
            guard hex || magnitude <= UInt64(Int64.max) else { throw error(at, "integer literal '\(text)' does not fit in 'long'") }
            return .integer(Int64(bitPattern: magnitude), .long)
        default:
            // As AOSP: a hex literal is the bit pattern of the smallest of int and long that holds it.
            if hex {
                if magnitude <= 0xFFFF_FFFF { return .integer(Int64(Int32(truncatingIfNeeded: magnitude)), .int) }
                return .integer(Int64(bitPattern: magnitude), .long)
            }
            if magnitude <= UInt64(Int32.max) { return .integer(Int64(magnitude), .int) }
            // 2147483648 and 9223372036854775808 only make sense after a minus sign.
            if magnitude <= UInt64(Int64.max) { return .integer(Int64(magnitude), .long) }
            if magnitude == UInt64(Int64.max) + 1 { return .integer(Int64.min, .long) }
            throw error(at, "integer literal '\(text)' does not fit in 'long'")
        }
    }

    // MARK: Evaluation

    /// Evaluates an expression in the scope of `scope` (for constant names) and, for enumerators,
    /// with the enum's earlier enumerators in scope.
    func evaluate(_ e: Expr, scope: Declaration?, document: Document) throws(Diagnostic) -> ConstValue {
        switch e.kind {
        case .integer(let t):
            return try integerLiteral(t, at: e.location)
        case .float(let t):
            var digits = t
            var isFloat = false
            if digits.hasSuffix("f") || digits.hasSuffix("F") {
                isFloat = true
                digits.removeLast()
            } else if digits.hasSuffix("d") || digits.hasSuffix("D") {
                digits.removeLast()
            }
            guard let v = Double(digits) else { throw error(e.location, "invalid floating-point literal '\(t)'") }
            return .float(v, isFloat: isFloat)
        case .string(let s):
            return .string(s)
        case .character(let s):
            guard s.unicodeScalars.count == 1, let c = s.unicodeScalars.first, c.value <= 0xFFFF else {
                throw error(e.location, "a character literal must hold one UTF-16 character")
            }
            // As AOSP: no control characters (escaped or not) and no backslash in a char literal.
            if c.value < 0x20 || c.value == 0x7F {
                let hex = String(c.value, radix: 16, uppercase: true)
                throw error(e.location, "a character literal cannot hold the control character U+\(String(repeating: "0", count: 4 - hex.count) + hex)")
            }
            if c == "\\" { throw error(e.location, "a character literal cannot hold a backslash") }
            return .integer(Int64(c.value), .char)
        case .boolean(let b):
            return .boolean(b)
        case .array(let items):
            var values: [ConstValue] = []
            for item in items { values.append(try evaluate(item, scope: scope, document: document)) }
            return .array(values)
        case .reference(let name):
            return try reference(name, at: e.location, scope: scope, document: document)
        case .unary(let op, let operand):
            let evaluated = try evaluate(operand, scope: scope, document: document)
            // C promotion: a boolean is the int 0 or 1 under an arithmetic operator; `!` of an integer is `== 0`.
            if op == "!", let x = evaluated.integerValue { return .boolean(x == 0) }
            let v = op == "!" ? evaluated : evaluated.promotingBoolean
            switch (op, v) {
            case ("+", .integer), ("+", .float): return v
            case ("-", .integer), ("-", .enumerator):
                let x = v.integerValue!
                let t: Primitive
                if case .integer(_, let it) = v { t = it } else { t = .int }
                let type = Primitive.promoted(t, t)
                let (r, overflow) = Int64(0).subtractingReportingOverflow(x)
                guard !overflow, type.fits(r) else { throw error(e.location, "integer overflow in constant expression") }
                return .integer(r, type)
            case ("-", .float(let x, let f)): return .float(-x, isFloat: f)
            case ("~", .integer(let x, let t)):
                let type = Primitive.promoted(t, t)
                return .integer(type == .long ? ~x : Int64(~Int32(truncatingIfNeeded: x)), type)
            case ("!", .boolean(let b)): return .boolean(!b)
            default:
                throw error(e.location, "operator '\(op)' cannot be applied to \(v.kindName)")
            }
        case .ternary(let c, let a, let b):
            guard let cond = try evaluate(c, scope: scope, document: document).truth else {
                throw error(c.location, "the condition of '?:' must be a boolean or an integer")
            }
            return try evaluate(cond ? a : b, scope: scope, document: document)
        case .binary(let op, let l, let r):
            let lv = try evaluate(l, scope: scope, document: document)
            let rv = try evaluate(r, scope: scope, document: document)
            return try binary(op, lv, rv, at: e.location)
        }
    }

    private func binary(_ op: String, _ lv: ConstValue, _ rv: ConstValue, at: SourceLocation) throws(Diagnostic) -> ConstValue {
        func mismatch() -> Diagnostic {
            error(at, "operator '\(op)' cannot be applied to \(lv.kindName) and \(rv.kindName)")
        }
        // C promotion, as AOSP: `&&` and `||` take integers as truth values; a boolean met by an
        // integer, or under an arithmetic operator, is the int 0 or 1.
        if op == "&&" || op == "||" {
            guard let a = lv.truth, let b = rv.truth else { throw mismatch() }
            return .boolean(op == "&&" ? a && b : a || b)
        }
        var lv = lv
        var rv = rv
        if case .boolean = lv, case .boolean = rv, op == "==" || op == "!=" {
        } else {
            lv = lv.promotingBoolean
            rv = rv.promotingBoolean
        }
        switch (lv, rv) {
        case (.string(let a), .string(let b)):
            if op == "+" { return .string(a + b) }
            guard let c = comparison(op, a, b) else { throw mismatch() }
            return c
        case (.boolean(let a), .boolean(let b)):
            return .boolean(op == "==" ? a == b : a != b)
        case (.float, _), (_, .float):
            func number(_ v: ConstValue) -> (Double, Bool)? {
                switch v {
                case .float(let d, let f): (d, f)
                case .integer(let i, _): (Double(i), true)
                default: nil
                }
            }
            guard let (a, fa) = number(lv), let (b, fb) = number(rv) else { throw mismatch() }
            let isFloat = fa && fb
            switch op {
            case "+": return .float(a + b, isFloat: isFloat)
            case "-": return .float(a - b, isFloat: isFloat)
            case "*": return .float(a * b, isFloat: isFloat)
            case "/": return .float(a / b, isFloat: isFloat)
            default:
                guard let c = comparison(op, a, b) else { throw mismatch() }
                return c
            }
        default:
            break
        }
        func integerType(_ v: ConstValue) -> Primitive? {
            switch v {
            case .integer(_, let t): t
            case .enumerator(let d, _, _): d.backing
            default: nil
            }
        }
        guard let a = lv.integerValue, let b = rv.integerValue, let ta = integerType(lv), let tb = integerType(rv) else {
            throw mismatch()
        }
        let type = Primitive.promoted(ta, tb)
        func checked(_ r: (partialValue: Int64, overflow: Bool)) throws(Diagnostic) -> ConstValue {
            guard !r.overflow, type.fits(r.partialValue) else { throw error(at, "integer overflow in constant expression") }
            return .integer(r.partialValue, type)
        }
        func wrapped(_ v: Int64) -> ConstValue {
            .integer(type == .long ? v : Int64(Int32(truncatingIfNeeded: v)), type)
        }
        switch op {
        case "+": return try checked(a.addingReportingOverflow(b))
        case "-": return try checked(a.subtractingReportingOverflow(b))
        case "*": return try checked(a.multipliedReportingOverflow(by: b))
        case "/", "%":
            guard b != 0 else { throw error(at, "division by zero in constant expression") }
            return try checked(op == "/" ? a.dividedReportingOverflow(by: b) : a.remainderReportingOverflow(dividingBy: b))
        case "&": return wrapped(a & b)
        case "|": return wrapped(a | b)
        case "^": return wrapped(a ^ b)
        case "<<", ">>":
            // Shifts keep the left operand's (promoted) type and wrap, as Java and C++ do.
            let shiftType = Primitive.promoted(ta, ta)
            guard b >= 0, b < (shiftType == .long ? 64 : 32) else { throw error(at, "shift amount \(b) is out of range for '\(shiftType)'") }
            if shiftType == .long { return .integer(op == "<<" ? a << b : a >> b, .long) }
            let x = Int32(truncatingIfNeeded: a)
            return .integer(Int64(op == "<<" ? x << Int32(b) : x >> Int32(b)), .int)
        default:
            guard let c = comparison(op, a, b) else { throw mismatch() }
            return c
        }
    }

    /// `==`, `!=`, `<`, `>`, `<=` and `>=`; nil for any other operator.
    private func comparison<T: Comparable>(_ op: String, _ a: T, _ b: T) -> ConstValue? {
        switch op {
        case "==": .boolean(a == b)
        case "!=": .boolean(a != b)
        case "<": .boolean(a < b)
        case ">": .boolean(a > b)
        case "<=": .boolean(a <= b)
        case ">=": .boolean(a >= b)
        default: nil
        }
    }

    private func reference(_ name: [String], at: SourceLocation, scope: Declaration?, document: Document) throws(Diagnostic) -> ConstValue {
        let dotted = name.joined(separator: ".")
        if name.count == 1 {
            var s = scope
            while let d = s {
                if let e = d.enumerators.first(where: { $0.name == name[0] }) { return try enumeratorValue(e, at: at) }
                if let c = d.constants.first(where: { $0.name == name[0] }) { return try constantValue(c, at: at) }
                s = d.parent
            }
            throw error(at, "unknown constant '\(dotted)'")
        }
        let member = name[name.count - 1]
        guard let owner = lookupDeclaration(Array(name.dropLast()), scope: scope, document: document) else {
            throw error(at, "unknown constant '\(dotted)'")
        }
        if let e = owner.enumerators.first(where: { $0.name == member }) { return try enumeratorValue(e, at: at) }
        if let c = owner.constants.first(where: { $0.name == member }) { return try constantValue(c, at: at) }
        throw error(at, "'\(owner.name)' has no constant or enumerator named '\(member)'")
    }

    func constantValue(_ c: Constant, at: SourceLocation?) throws(Diagnostic) -> ConstValue {
        if let v = c.evaluated { return v }
        if c.evaluating { throw error(at ?? c.location, "circular reference to constant '\(c.name)'") }
        if c.failed { throw Diagnostic(c.location, "") }
        c.evaluating = true
        defer { c.evaluating = false }
        guard let owner = c.owner, let document = owner.document ?? root(of: owner).document else {
            throw error(c.location, "internal error: constant without a declaration")
        }
        if c.type.resolved == nil { resolve(c.type, scope: owner, document: document, allowVoid: false) }
        do {
            let raw = try evaluate(c.value, scope: owner, document: document)
            let v = try convert(raw, to: c.type, at: c.value.location)
            c.evaluated = v
            return v
        } catch {
            c.failed = true
            throw error
        }
    }

    func enumeratorValue(_ e: Enumerator, at: SourceLocation?) throws(Diagnostic) -> ConstValue {
        guard let owner = e.owner else { throw error(e.location, "internal error: enumerator without an enum") }
        if let v = e.evaluated { return .enumerator(owner, e.name, v) }
        if e.evaluating { throw error(at ?? e.location, "circular reference to enumerator '\(e.name)'") }
        if e.failed { throw Diagnostic(e.location, "") }
        e.evaluating = true
        defer { e.evaluating = false }
        do {
            let v = try evaluateEnumerator(e, owner: owner)
            e.evaluated = v
            return .enumerator(owner, e.name, v)
        } catch {
            e.failed = true
            throw error
        }
    }

    private func evaluateEnumerator(_ e: Enumerator, owner: Declaration) throws(Diagnostic) -> Int64 {
        guard let document = root(of: owner).document else { throw error(e.location, "internal error") }
        let value: Int64
        if let expr = e.value {
            let raw = try evaluate(expr, scope: owner, document: document)
            guard let v = raw.promotingBoolean.integerValue else {
                throw error(expr.location, "cannot use \(raw.kindName) as the value of enumerator '\(e.name)'")
            }
            value = v
        } else if let i = owner.enumerators.firstIndex(where: { $0 === e }), i > 0 {
            guard case .enumerator(_, _, let previous) = try enumeratorValue(owner.enumerators[i - 1], at: e.location) else { return 0 }
            value = previous + 1
        } else {
            value = 0
        }
        guard owner.backing.fits(value) else {
            throw error(e.value?.location ?? e.location, "enumerator '\(e.name)' = \(value) does not fit the backing type '\(owner.backing)'")
        }
        return value
    }

    /// Converts an evaluated value to a declared type, checking kind and range.
    func convert(_ v: ConstValue, to type: TypeRef, at: SourceLocation) throws(Diagnostic) -> ConstValue {
        let typeName = type.displayName
        func mismatch() -> Diagnostic { error(at, "cannot use \(v.kindName) as '\(typeName)'") }
        if type.isArray {
            guard case .array(let items) = v else { throw mismatch() }
            let element = type.elementType()
            if let n = type.fixedSizes.first, items.count != n {
                throw error(at, "'\(typeName)' needs \(n) elements, found \(items.count)")
            }
            var out: [ConstValue] = []
            for item in items { out.append(try convert(item, to: element, at: at)) }
            return .array(out)
        }
        switch type.resolved {
        case .primitive(let p):
            switch (p, v) {
            case (.boolean, .boolean): return v
            case (.float, .float(let d, _)), (.double, .float(let d, _)): return .float(d, isFloat: p == .float)
            case (.float, .integer(let i, _)), (.double, .integer(let i, _)): return .float(Double(i), isFloat: p == .float)
            case (.char, .boolean), (.byte, .boolean), (.int, .boolean), (.long, .boolean):
                return try convert(v.promotingBoolean, to: type, at: at)
            case (.char, .integer(let i, _)), (.byte, .integer(let i, _)), (.int, .integer(let i, _)), (.long, .integer(let i, _)):
                guard p.fits(i) else { throw error(at, "value \(i) does not fit in '\(p)'") }
                return .integer(i, p)
            default: throw mismatch()
            }
        case .string:
            guard case .string = v else { throw mismatch() }
            return v
        case .declaration(let d) where d.kind == .enum:
            guard case .enumerator(let e, _, _) = v, e === d else { throw mismatch() }
            return v
        default:
            throw error(at, "a default value is not supported for '\(typeName)'")
        }
    }
}

extension TypeRef {
    /// The type as written, for messages.
    var displayName: String {
        var s = dottedName
        if !arguments.isEmpty { s += "<" + arguments.map(\.displayName).joined(separator: ", ") + ">" }
        for (i, d) in dimensions.enumerated() {
            if d == nil { s += "[]" } else { s += "[\(i < fixedSizes.count ? String(fixedSizes[i]) : "N")]" }
        }
        return s
    }
}
