/// The syntax tree of one `.aidl` file, as parsed. The resolver fills in the `resolved` fields.

/// `@name` or `@name(value)` or `@name(key = value, …)`.
struct Annotation {
    var name: String
    /// Parameters by name; a lone positional value is stored under `value`.
    var parameters: [(name: String, value: Expr)]
    var location: SourceLocation

    func parameter(_ name: String) -> Expr? { parameters.first { $0.name == name }?.value }
}

/// A constant expression.
indirect enum ExprKind {
    case integer(String)
    case float(String)
    case string(String)
    case character(String)
    case boolean(Bool)
    /// A dotted name: a constant, an enumerator, or `Type.CONSTANT`.
    case reference([String])
    case unary(String, Expr)
    case binary(String, Expr, Expr)
    case ternary(Expr, Expr, Expr)
    /// `{a, b, c}`, for array defaults and annotation parameters.
    case array([Expr])
}

struct Expr {
    var kind: ExprKind
    var location: SourceLocation
}

enum Primitive: String {
    case boolean, byte, char, int, long, float, double
}

/// What a type name resolved to.
enum ResolvedType {
    case void
    case primitive(Primitive)
    case string
    case binder
    case fileDescriptor
    case parcelFileDescriptor
    case list
    case map
    case declaration(Declaration)
    /// A type parameter of the enclosing generic parcelable or union.
    case typeParameter(String)
}

/// A use of a type: `@nullable List<String>[]`, `byte[16]`, `Foo<Bar>`.
final class TypeRef {
    var name: [String]
    var arguments: [TypeRef]
    /// One entry per `[...]`: nil for `[]`, the size expression for `[N]`.
    var dimensions: [Expr?]
    var annotations: [Annotation]
    var location: SourceLocation
    var resolved: ResolvedType?
    /// Evaluated sizes of fixed-size dimensions (filled by the resolver).
    var fixedSizes: [Int] = []

    init(name: [String], arguments: [TypeRef], dimensions: [Expr?], annotations: [Annotation], location: SourceLocation) {
        self.name = name
        self.arguments = arguments
        self.dimensions = dimensions
        self.annotations = annotations
        self.location = location
    }

    var dottedName: String { name.joined(separator: ".") }
    var isArray: Bool { !dimensions.isEmpty }
    var isNullable: Bool { annotations.contains { $0.name == "nullable" } }
    /// `@SwiftUnsigned int` / `long`: `UInt32` / `UInt64` in Swift, the same bytes on the wire.
    var isUnsigned: Bool { annotations.contains { $0.name == "SwiftUnsigned" } }
    var isHeap: Bool {
        guard let a = annotations.first(where: { $0.name == "nullable" }), let heap = a.parameter("heap") else { return false }
        if case .boolean(true) = heap.kind { return true }
        return false
    }

    /// The element type of an array: the same type without its outermost dimension.
    func elementType() -> TypeRef {
        let e = TypeRef(name: name, arguments: arguments, dimensions: Array(dimensions.dropFirst()), annotations: [], location: location)
        e.resolved = resolved
        e.fixedSizes = Array(fixedSizes.dropFirst())
        return e
    }

    /// The same type without `@nullable`.
    func nonNullable() -> TypeRef {
        let e = TypeRef(name: name, arguments: arguments, dimensions: dimensions, annotations: annotations.filter { $0.name != "nullable" }, location: location)
        e.resolved = resolved
        e.fixedSizes = fixedSizes
        return e
    }
}

enum Direction: String {
    case `in`, out, `inout`
}

final class Parameter {
    var name: String
    var type: TypeRef
    var direction: Direction?
    var directionLocation: SourceLocation?
    var location: SourceLocation
    init(name: String, type: TypeRef, direction: Direction?, directionLocation: SourceLocation?, location: SourceLocation) {
        self.name = name
        self.type = type
        self.direction = direction
        self.directionLocation = directionLocation
        self.location = location
    }
    /// `in` when no direction was written.
    var effectiveDirection: Direction { direction ?? .in }
}

final class Method {
    var name: String
    var location: SourceLocation
    var doc: String?
    var annotations: [Annotation]
    var isOneway: Bool
    var returnType: TypeRef
    var parameters: [Parameter]
    /// `= N` after the parameter list.
    var explicitID: (value: Int, location: SourceLocation)?
    /// The transaction code: 1 + the explicit id, or 1 + the declaration index (set by the resolver).
    var code: UInt32 = 0

    init(name: String, location: SourceLocation, doc: String?, annotations: [Annotation], isOneway: Bool, returnType: TypeRef, parameters: [Parameter], explicitID: (value: Int, location: SourceLocation)?) {
        self.name = name
        self.location = location
        self.doc = doc
        self.annotations = annotations
        self.isOneway = isOneway
        self.returnType = returnType
        self.parameters = parameters
        self.explicitID = explicitID
    }
}

/// A field of a parcelable or a member of a union.
final class Field {
    var name: String
    var type: TypeRef
    var defaultValue: Expr?
    var doc: String?
    var location: SourceLocation
    /// The evaluated default, converted to the field's type (set by the resolver).
    var evaluatedDefault: ConstValue?
    init(name: String, type: TypeRef, defaultValue: Expr?, doc: String?, location: SourceLocation) {
        self.name = name
        self.type = type
        self.defaultValue = defaultValue
        self.doc = doc
        self.location = location
    }
}

final class Constant {
    var name: String
    var type: TypeRef
    var value: Expr
    var doc: String?
    var location: SourceLocation
    weak var owner: Declaration?
    var evaluated: ConstValue?
    var evaluating = false
    var failed = false
    init(name: String, type: TypeRef, value: Expr, doc: String?, location: SourceLocation) {
        self.name = name
        self.type = type
        self.value = value
        self.doc = doc
        self.location = location
    }
}

final class Enumerator {
    var name: String
    var value: Expr?
    var doc: String?
    var location: SourceLocation
    weak var owner: Declaration?
    var evaluated: Int64?
    var evaluating = false
    var failed = false
    init(name: String, value: Expr?, doc: String?, location: SourceLocation) {
        self.name = name
        self.value = value
        self.doc = doc
        self.location = location
    }
}

enum DeclarationKind: String {
    case interface, parcelable, `enum`, union
    /// `parcelable Foo;` and `parcelable Foo cpp_header "…";`: no fields known to AIDL.
    case unstructuredParcelable = "unstructured parcelable"
}

final class Declaration {
    var kind: DeclarationKind
    var name: String
    var location: SourceLocation
    var doc: String?
    var annotations: [Annotation]
    var isOneway = false
    var typeParameters: [String] = []
    var fields: [Field] = []
    var methods: [Method] = []
    var constants: [Constant] = []
    var enumerators: [Enumerator] = []
    var nested: [Declaration] = []
    /// `cpp_header`, `ndk_header`, `rust_type`, `swift_type` of an unstructured parcelable.
    var headers: [String: String] = [:]
    weak var parent: Declaration?
    /// The package of the file the declaration is in.
    var package: String = ""
    weak var document: Document?

    init(kind: DeclarationKind, name: String, location: SourceLocation, doc: String?, annotations: [Annotation]) {
        self.kind = kind
        self.name = name
        self.location = location
        self.doc = doc
        self.annotations = annotations
    }

    /// The name inside its package: `Outer.Inner`.
    var localName: String { parent.map { $0.localName + "." + name } ?? name }
    /// `package.Outer.Inner`: the AIDL descriptor of an interface.
    var qualifiedName: String { package.isEmpty ? localName : package + "." + localName }

    func annotation(_ name: String) -> Annotation? { annotations.first { $0.name == name } }

    /// The enum's backing type (`@Backing(type="…")`, `byte` when absent as in AIDL).
    var backing: Primitive = .byte
}

struct Import {
    var name: [String]
    var location: SourceLocation
    var dotted: String { name.joined(separator: ".") }
}

final class Document {
    let file: SourceFile
    var package: String = ""
    var imports: [Import] = []
    var declarations: [Declaration] = []
    init(file: SourceFile) { self.file = file }
}
