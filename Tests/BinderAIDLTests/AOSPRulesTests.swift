import BinderAIDL
import Testing

/// AOSP `aidl`'s rules this compiler enforces too (issue 18): each invalid input is refused at its
/// source position with one error, and the nearest valid input still compiles.
@Suite("AOSP rules")
struct AOSPRulesTests {
    typealias Case = DiagnosticsTests.Case

    static let refused: [Case] = [
        Case(
            name: "empty-file",
            files: [("p/E.aidl", "")],
            header: "p/E.aidl:1:1: error: expected a declaration (interface, parcelable, enum or union), found end of file",
            line: "", column: 1),
        Case(
            name: "package-only",
            files: [("p/E.aidl", "package p;\n")],
            header: "p/E.aidl:1:11: error: expected a declaration (interface, parcelable, enum or union), found end of file",
            line: "package p;", column: 11),
        Case(
            name: "two-top-level-types",
            files: [("p/A.aidl", "package p;\nparcelable A { int x; }\nparcelable B { int y; }\n")],
            header: "p/A.aidl:3:12: error: 'B' is a second top-level type in this file (the first is 'A' at line 2): declare one type per file, or nest it",
            line: "parcelable B { int y; }", column: 12),
        Case(
            name: "duplicate-annotation-parameter",
            files: [("p/E.aidl", "package p;\n@Backing(type=\"int\", type=\"long\")\nenum E { A }\n")],
            header: "p/E.aidl:2:22: error: duplicate parameter 'type' in annotation '@Backing'",
            line: "@Backing(type=\"int\", type=\"long\")", column: 22),
        Case(
            name: "transaction-id-out-of-range",
            files: [("p/IFoo.aidl", "package p;\ninterface IFoo {\n    void f() = 16777215;\n}\n")],
            header: "p/IFoo.aidl:3:16: error: transaction id 16777215 is out of range (0…16777214)",
            line: "    void f() = 16777215;", column: 16),
        Case(
            name: "list-of-primitive",
            files: [("p/P.aidl", "package p;\nparcelable P {\n    List<int> a;\n}\n")],
            header: "p/P.aidl:3:10: error: a List cannot hold the primitive type 'int'; use an array ('int[]')",
            line: "    List<int> a;", column: 10),
        Case(
            name: "array-of-lists",
            files: [("p/P.aidl", "package p;\nparcelable P {\n    List<String>[] a;\n}\n")],
            header: "p/P.aidl:3:5: error: an array of lists 'List<String>[]' is not supported; use a List of arrays or a parcelable holding the list",
            line: "    List<String>[] a;", column: 5),
        Case(
            name: "file-descriptor-direction-missing",
            files: [("p/IFoo.aidl", "package p;\ninterface IFoo {\n    void f(ParcelFileDescriptor fd);\n}\n")],
            header: "p/IFoo.aidl:3:12: error: parameter 'fd' of type 'ParcelFileDescriptor' must declare a direction: in, out or inout",
            line: "    void f(ParcelFileDescriptor fd);", column: 12),
        Case(
            name: "file-descriptor-out",
            files: [("p/IFoo.aidl", "package p;\ninterface IFoo {\n    void f(out ParcelFileDescriptor fd);\n}\n")],
            header: "p/IFoo.aidl:3:12: error: parameter 'fd' of type 'ParcelFileDescriptor' cannot be 'out': use in or inout",
            line: "    void f(out ParcelFileDescriptor fd);", column: 12),
        Case(
            name: "parameter-java-keyword",
            files: [("p/IFoo.aidl", "package p;\ninterface IFoo {\n    void f(int new);\n}\n")],
            header: "p/IFoo.aidl:3:16: error: parameter name 'new' is a Java keyword",
            line: "    void f(int new);", column: 16),
        Case(
            name: "parameter-aidl-prefix",
            files: [("p/IFoo.aidl", "package p;\ninterface IFoo {\n    void f(int _aidl_data);\n}\n")],
            header: "p/IFoo.aidl:3:16: error: parameter name '_aidl_data' starts with '_aidl', which is reserved for generated code",
            line: "    void f(int _aidl_data);", column: 16),
        Case(
            name: "repeated-type-parameter",
            files: [("p/G.aidl", "package p;\nparcelable G<T, T> {\n    T a;\n}\n")],
            header: "p/G.aidl:2:12: error: type parameter 'T' of 'G' is repeated",
            line: "parcelable G<T, T> {", column: 12),
        Case(
            name: "nested-in-generic",
            files: [("p/G.aidl", "package p;\nparcelable G<T> {\n    T a;\n    parcelable In { int x; }\n}\n")],
            header: "p/G.aidl:4:16: error: 'In' cannot be nested in the generic parcelable 'G'",
            line: "    parcelable In { int x; }", column: 16),
        Case(
            name: "nested-named-like-parent",
            files: [("p/P.aidl", "package p;\nparcelable P {\n    parcelable P { int x; }\n}\n")],
            header: "p/P.aidl:3:16: error: nested type 'P' has the same name as its parent",
            line: "    parcelable P { int x; }", column: 16),
        Case(
            name: "nested-unstructured-parcelable",
            files: [("p/P.aidl", "package p;\nparcelable P {\n    parcelable L;\n    int x;\n}\n")],
            header: "p/P.aidl:3:16: error: unstructured parcelable 'L' cannot be nested: declare it at the top level of its own file",
            line: "    parcelable L;", column: 16),
        Case(
            name: "union-first-member-enum",
            files: [("p/U.aidl", "package p;\nimport p.E;\nunion U {\n    E e;\n    int x;\n}\n"), ("p/E.aidl", "package p;\nenum E { A = 1 }\n")],
            header: "p/U.aidl:4:7: error: the first member 'e' of union 'U' is an enum with no default: give it one (= E.…), a default union holds it",
            line: "    E e;", column: 7),
        Case(
            name: "char-control-character",
            files: [("p/IFoo.aidl", "package p;\ninterface IFoo {\n    const char C = '\\n';\n}\n")],
            header: "p/IFoo.aidl:3:20: error: a character literal cannot hold the control character U+000A",
            line: "    const char C = '\\n';", column: 20),
        Case(
            name: "char-backslash",
            files: [("p/IFoo.aidl", "package p;\ninterface IFoo {\n    const char C = '\\\\';\n}\n")],
            header: "p/IFoo.aidl:3:20: error: a character literal cannot hold a backslash",
            line: "    const char C = '\\\\';", column: 20),
        Case(
            name: "logical-on-string",
            files: [("p/IFoo.aidl", "package p;\ninterface IFoo {\n    const int A = \"a\" && 1;\n}\n")],
            header: "p/IFoo.aidl:3:23: error: operator '&&' cannot be applied to a string and an integer",
            line: "    const int A = \"a\" && 1;", column: 23),
        Case(
            name: "recursive-parcelable-direct",
            files: [("p/P.aidl", "package p;\nparcelable P {\n    P next;\n}\n")],
            header: "p/P.aidl:3:5: error: parcelable 'P' contains itself by value (P.next → P): hold it in an array or a List, or mark the field @nullable(heap=true)",
            line: "    P next;", column: 5),
        Case(
            name: "recursive-parcelable-nullable",
            files: [("p/P.aidl", "package p;\nparcelable P {\n    @nullable P next;\n}\n")],
            header: "p/P.aidl:3:15: error: parcelable 'P' contains itself by value (P.next → P): hold it in an array or a List, or mark the field @nullable(heap=true)",
            line: "    @nullable P next;", column: 15),
        Case(
            name: "recursive-parcelable-indirect",
            files: [
                ("p/P.aidl", "package p;\nimport p.Q;\nparcelable P {\n    int x;\n    Q q;\n}\n"),
                ("p/Q.aidl", "package p;\nimport p.P;\nunion Q {\n    int y;\n    P p;\n}\n"),
            ],
            header: "p/P.aidl:5:5: error: parcelable 'P' contains itself by value (P.q → Q.p → P): hold it in an array or a List, or mark the field @nullable(heap=true)",
            line: "    Q q;", column: 5),
    ]

    @Test("invalid input AOSP refuses is refused at its position", arguments: refused)
    func refusedInput(_ c: Case) throws {
        do {
            _ = try compile(c.files, module: c.module, valuesModule: c.valuesModule)
            Issue.record("compiled without an error")
        } catch {
            let first = try #require(error.diagnostics.first)
            #expect(first.description == c.header)
            if !c.line.isEmpty {
                let caret = String(repeating: " ", count: c.column - 1) + "^"
                #expect(first.rendered == "\(c.header)\n\(c.line)\n\(caret)\n")
            }
            #expect(error.diagnostics.count == 1, "one error, not a cascade: \(error)")
        }
    }

    /// The valid neighbours of the refused cases: each compiles.
    static let accepted: [(String, [(String, String)])] = [
        ("one type with a nested one", [("p/A.aidl", "package p;\nparcelable A { parcelable B { int y; } int x; }\n")]),
        (
            "recursion broken by an array, a List or @nullable(heap=true)",
            [("p/P.aidl", "package p;\nparcelable P { P[] a; List<P> l; @nullable(heap=true) P h; parcelable In { @nullable(heap=true) P p; } In i; }\n")]
        ),
        ("distinct annotation parameters", [("p/P.aidl", "package p;\nparcelable P { @nullable(heap=true) P next; }\n")]),
        ("the highest and lowest transaction ids", [("p/IFoo.aidl", "package p;\ninterface IFoo { void f() = 16777214; void g() = 0; }\n")]),
        ("a List of objects and of arrays", [("p/P.aidl", "package p;\nparcelable P { List<String> a; List<int[]> b; String[] c; }\n")]),
        (
            "ParcelFileDescriptor in, inout, and out in an array",
            [("p/IFoo.aidl", "package p;\ninterface IFoo { void f(in ParcelFileDescriptor a, inout ParcelFileDescriptor b, out ParcelFileDescriptor[] c); }\n")]
        ),
        ("parameter names that are Swift but not Java keywords", [("p/IFoo.aidl", "package p;\ninterface IFoo { void f(int protocol, int aidl_x, int _aid); }\n")]),
        ("a generic parcelable with distinct type parameters", [("p/G.aidl", "package p;\nparcelable G<K, V> { K k; V v; }\n")]),
        ("a nested type named unlike its parent", [("p/P.aidl", "package p;\nparcelable P { parcelable Q { int x; } Q q; }\n")]),
        ("a top-level unstructured parcelable", [("p/L.aidl", "package p;\nparcelable L swift_type \"M.L\";\n")]),
        (
            "a union whose first enum member has a default, or whose enum member is not first",
            [
                ("p/U.aidl", "package p;\nimport p.E;\nunion U { E e = E.A; int x; }\n"), ("p/E.aidl", "package p;\nenum E { A = 1 }\n"),
                ("p/V.aidl", "package p;\nimport p.E;\nunion V { int x; E e; }\n"),
            ]
        ),
        (
            "an imported enum keeps its @Backing",
            [
                ("p/P.aidl", "package p;\nimport q.E;\nparcelable P { E e = E.FOO; }\n"),
                ("q/E.aidl", "package q;\n@Backing(type=\"int\")\nenum E { FOO = 1000 }\n"),
            ]
        ),
    ]

    @Test("C promotion in constant expressions: a comparison or logical result is the int 0 or 1 where an integer is expected")
    func cPromotion() throws {
        let out = try #require(try compile([("p/IFoo.aidl", """
            package p;
            interface IFoo {
                const int A = (~(-1)) == 0;
                const int B = (1 < 2) + (2 < 1) + 1;
                const long C = 3 > 2;
                const int D = !0 + !5;
                const int E = 2 && 0 || 7;
                const int F = 5 ? 10 : 20;
                const boolean G = 1 == 1 && !false;
                const char H = 'A';
                const char Q = '\\'';
            }
            """)]).first).contents
        for line in [
            "public static let A: Int32 = 1", "public static let B: Int32 = 2", "public static let C: Int64 = 1",
            "public static let D: Int32 = 1", "public static let E: Int32 = 1", "public static let F: Int32 = 10",
            "public static let G: Bool = true", "public static let H: UInt16 = 65", "public static let Q: UInt16 = 39",
        ] {
            #expect(out.contains(line), "missing: \(line)")
        }
        let e = try #require(try compile([("p/E.aidl", "package p;\nenum E { A = 1 > 0, B = (2 == 2) + 1 }\n")]).first).contents
        #expect(e.contains("public static let A = E(rawValue: 1)") && e.contains("public static let B = E(rawValue: 2)"))
    }

    @Test("an import found under two roots is ambiguous; under one root it is not")
    func ambiguousImport() throws {
        let roots: [String: [String: String]] = [
            "r1": ["q/A.aidl": "package q;\nparcelable A { int x; }\n", "q/B.aidl": "package q;\nparcelable B { int y; }\n"],
            "r2": ["q/A.aidl": "package q;\nparcelable A { long x; }\n"],
        ]
        let compiler = AIDLCompiler { relative in
            ["r1", "r2"].compactMap { root in roots[root]?[relative].map { SourceFile(path: root + "/" + relative, text: $0) } }
        }
        let source = "package p;\nimport q.A;\nparcelable P { A a; }\n"
        do {
            _ = try compiler.compile([SourceFile(path: "p/P.aidl", text: source)])
            Issue.record("compiled without an error")
        } catch {
            #expect(error.diagnostics.map(\.description) == [
                "p/P.aidl:2:8: error: import 'q.A' is ambiguous: it is found as r1/q/A.aidl and r2/q/A.aidl"
            ])
        }
        _ = try compiler.compile([SourceFile(path: "p/P.aidl", text: "package p;\nimport q.B;\nparcelable P { B b; }\n")])
    }

    @Test("the valid neighbours of the refused inputs compile", arguments: accepted.indices)
    func acceptedInput(_ i: Int) throws {
        let (name, files) = Self.accepted[i]
        do { _ = try compile(files) } catch { Issue.record("\(name): \(error)") }
    }
}
