import BinderAIDL
import Testing

/// One case per kind of error: the exact `file:line:column: error: message`, the source line
/// and the caret under the column.
@Suite("Diagnostics")
struct DiagnosticsTests {
    struct Case: CustomTestStringConvertible, Sendable {
        var name: String
        /// (path relative to the import root, text); the first file is compiled.
        var files: [(String, String)]
        var header: String
        var line: String
        var column: Int
        /// The compilation's `--module` and `--values-module`.
        var module: String? = nil
        var valuesModule: String? = nil
        var testDescription: String { name }
    }

    static let cases: [Case] = [
        Case(
            name: "lexer-bad-character",
            files: [("p/IFoo.aidl", "package p;\ninterface IFoo {\n    void f(); #\n}\n")],
            header: "p/IFoo.aidl:3:15: error: unexpected character '#'",
            line: "    void f(); #", column: 15),
        Case(
            name: "lexer-unterminated-string",
            files: [("p/IFoo.aidl", "package p;\ninterface IFoo {\n    const String S = \"abc;\n}\n")],
            header: "p/IFoo.aidl:3:22: error: unterminated string literal",
            line: "    const String S = \"abc;", column: 22),
        Case(
            name: "lexer-unterminated-comment",
            files: [("p/IFoo.aidl", "package p;\n/* a comment\ninterface IFoo {}\n")],
            header: "p/IFoo.aidl:2:1: error: unterminated comment",
            line: "/* a comment", column: 1),
        Case(
            name: "parser-unexpected-token",
            files: [("p/IFoo.aidl", "package p;\ninterface IFoo {\n    void f(int);\n}\n")],
            header: "p/IFoo.aidl:3:15: error: expected a parameter name, found ')'",
            line: "    void f(int);", column: 15),
        Case(
            name: "parser-missing-semicolon",
            files: [("p/IFoo.aidl", "package p;\ninterface IFoo {\n    void f()\n    void g();\n}\n")],
            header: "p/IFoo.aidl:3:13: error: expected ';' after method declaration",
            line: "    void f()", column: 13),
        Case(
            name: "unknown-type",
            files: [("p/IFoo.aidl", "package p;\ninterface IFoo {\n    void f(in Bar b);\n}\n")],
            header: "p/IFoo.aidl:3:15: error: unknown type 'Bar'",
            line: "    void f(in Bar b);", column: 15),
        Case(
            name: "unknown-import",
            files: [("p/IFoo.aidl", "package p;\nimport q.Missing;\ninterface IFoo {}\n")],
            header: "p/IFoo.aidl:2:8: error: unknown import 'q.Missing': no such type in the import paths",
            line: "import q.Missing;", column: 8),
        Case(
            name: "duplicate-declaration",
            files: [("p/IFoo.aidl", "package p;\ninterface IFoo {\n    parcelable A { int x; }\n    enum A { X }\n}\n")],
            header: "p/IFoo.aidl:4:10: error: duplicate declaration of 'p.IFoo.A'; the first is at p/IFoo.aidl:3:16",
            line: "    enum A { X }", column: 10),
        Case(
            name: "duplicate-method",
            files: [("p/IFoo.aidl", "package p;\ninterface IFoo {\n    void f();\n    int f(int x);\n}\n")],
            header: "p/IFoo.aidl:4:9: error: duplicate method 'f'; the first is at line 3",
            line: "    int f(int x);", column: 9),
        Case(
            name: "direction-on-primitive",
            files: [("p/IFoo.aidl", "package p;\ninterface IFoo {\n    void f(out int x);\n}\n")],
            header: "p/IFoo.aidl:3:12: error: parameter 'x' of type 'int' can only be an 'in' parameter",
            line: "    void f(out int x);", column: 12),
        Case(
            name: "direction-missing",
            files: [("p/IFoo.aidl", "package p;\ninterface IFoo {\n    parcelable P { int x; }\n    void f(P p);\n}\n")],
            header: "p/IFoo.aidl:4:12: error: parameter 'p' of type 'P' must declare a direction: in, out or inout",
            line: "    void f(P p);", column: 12),
        Case(
            name: "oneway-returns",
            files: [("p/IFoo.aidl", "package p;\ninterface IFoo {\n    oneway int f();\n}\n")],
            header: "p/IFoo.aidl:3:12: error: oneway method 'f' cannot return a value",
            line: "    oneway int f();", column: 12),
        Case(
            name: "oneway-out",
            files: [("p/IFoo.aidl", "package p;\noneway interface IFoo {\n    void f(out int[] x);\n}\n")],
            header: "p/IFoo.aidl:3:12: error: oneway method 'f' cannot have 'out' parameters",
            line: "    void f(out int[] x);", column: 12),
        Case(
            name: "mixed-ids",
            files: [("p/IFoo.aidl", "package p;\ninterface IFoo {\n    void f() = 1;\n    void g();\n}\n")],
            header: "p/IFoo.aidl:4:10: error: method 'g' has no transaction id, but other methods of 'IFoo' do: give every method an id (= N) or none",
            line: "    void g();", column: 10),
        Case(
            name: "duplicate-id",
            files: [("p/IFoo.aidl", "package p;\ninterface IFoo {\n    void f() = 3;\n    void g() = 3;\n}\n")],
            header: "p/IFoo.aidl:4:16: error: transaction id 3 is already used by method 'f'",
            line: "    void g() = 3;", column: 16),
        Case(
            name: "const-type-mismatch",
            files: [("p/IFoo.aidl", "package p;\ninterface IFoo {\n    const int X = \"seven\";\n}\n")],
            header: "p/IFoo.aidl:3:19: error: cannot use a string as 'int'",
            line: "    const int X = \"seven\";", column: 19),
        Case(
            name: "const-overflow",
            files: [("p/IFoo.aidl", "package p;\ninterface IFoo {\n    const byte B = 100 + 100;\n}\n")],
            header: "p/IFoo.aidl:3:24: error: value 200 does not fit in 'byte'",
            line: "    const byte B = 100 + 100;", column: 24),
        Case(
            name: "const-arithmetic-overflow",
            files: [("p/IFoo.aidl", "package p;\ninterface IFoo {\n    const int X = 0x7FFFFFFF + 1;\n}\n")],
            header: "p/IFoo.aidl:3:30: error: integer overflow in constant expression",
            line: "    const int X = 0x7FFFFFFF + 1;", column: 30),
        Case(
            name: "const-cycle",
            files: [("p/IFoo.aidl", "package p;\ninterface IFoo {\n    const int A = B + 1;\n    const int B = A * 2;\n}\n")],
            header: "p/IFoo.aidl:4:19: error: circular reference to constant 'A'",
            line: "    const int B = A * 2;", column: 19),
        Case(
            name: "unknown-constant",
            files: [("p/IFoo.aidl", "package p;\ninterface IFoo {\n    const int A = NOPE;\n}\n")],
            header: "p/IFoo.aidl:3:19: error: unknown constant 'NOPE'",
            line: "    const int A = NOPE;", column: 19),
        Case(
            name: "unknown-annotation",
            files: [("p/IFoo.aidl", "package p;\n@Frobnicate\ninterface IFoo {}\n")],
            header: "p/IFoo.aidl:2:1: error: unknown annotation '@Frobnicate'",
            line: "@Frobnicate", column: 1),
        Case(
            name: "unstructured-parcelable",
            files: [("p/IFoo.aidl", "package p;\nimport p.Legacy;\ninterface IFoo {\n    void f(in Legacy l);\n}\n"), ("p/Legacy.aidl", "package p;\nparcelable Legacy cpp_header \"legacy/Legacy.h\";\n")],
            header: "p/IFoo.aidl:4:15: error: unstructured parcelable 'Legacy' has no Swift definition: declare its fields, or name a hand-written Swift type with swift_type \"Module.Type\"",
            line: "    void f(in Legacy l);", column: 15),
        Case(
            name: "generic-arity",
            files: [("p/IFoo.aidl", "package p;\ninterface IFoo {\n    parcelable Pair<A, B> { A a; B b; }\n    void f(in Pair<String> p);\n}\n")],
            header: "p/IFoo.aidl:4:15: error: 'Pair' expects 2 type arguments, found 1",
            line: "    void f(in Pair<String> p);", column: 15),
        Case(
            name: "enum-backing",
            files: [("p/E.aidl", "package p;\n@Backing(type=\"float\")\nenum E { A, B }\n")],
            header: "p/E.aidl:2:15: error: invalid @Backing type 'float': use \"byte\", \"int\" or \"long\"",
            line: "@Backing(type=\"float\")", column: 15),
        Case(
            name: "enum-range",
            files: [("p/E.aidl", "package p;\nenum E { A = 127, B }\n")],
            header: "p/E.aidl:2:19: error: enumerator 'B' = 128 does not fit the backing type 'byte'",
            line: "enum E { A = 127, B }", column: 19),
        Case(
            name: "nullable-primitive",
            files: [("p/IFoo.aidl", "package p;\ninterface IFoo {\n    void f(@nullable int x);\n}\n")],
            header: "p/IFoo.aidl:3:22: error: primitive type 'int' cannot be @nullable",
            line: "    void f(@nullable int x);", column: 22),
        Case(
            name: "unsigned-byte",
            files: [("p/P.aidl", "package p;\nparcelable P {\n    @SwiftUnsigned byte b;\n}\n")],
            header: "p/P.aidl:3:20: error: @SwiftUnsigned only applies to int and long, not 'byte'",
            line: "    @SwiftUnsigned byte b;", column: 20),
        Case(
            name: "unsigned-array",
            files: [("p/P.aidl", "package p;\nparcelable P {\n    @SwiftUnsigned int[] a;\n}\n")],
            header: "p/P.aidl:3:20: error: @SwiftUnsigned only applies to int and long, not 'int[]'",
            line: "    @SwiftUnsigned int[] a;", column: 20),
        Case(
            name: "unsigned-negative-default",
            files: [("p/P.aidl", "package p;\nparcelable P {\n    @SwiftUnsigned int x = -1;\n}\n")],
            header: "p/P.aidl:3:28: error: -1 is negative, but 'int' is @SwiftUnsigned",
            line: "    @SwiftUnsigned int x = -1;", column: 28),
        Case(
            name: "values-module-binder",
            files: [("p/P.aidl", "package p;\nparcelable P {\n    IBinder b;\n}\n")],
            header: "p/P.aidl:3:5: error: field 'b' of 'P' is an IBinder, which needs the Binder runtime: values generated into W cannot hold one",
            line: "    IBinder b;", column: 5, module: "W", valuesModule: "W"),
    ]

    @Test("each error kind is reported at its source position", arguments: cases)
    func diagnostic(_ c: Case) throws {
        do {
            _ = try compile(c.files, module: c.module, valuesModule: c.valuesModule)
            Issue.record("compiled without an error")
        } catch {
            let first = try #require(error.diagnostics.first)
            #expect(first.description == c.header)
            let caret = String(repeating: " ", count: c.column - 1) + "^"
            #expect(first.rendered == "\(c.header)\n\(c.line)\n\(caret)\n")
            #expect(error.diagnostics.count == 1, "one error, not a cascade: \(error)")
        }
    }

    @Test("annotations for other backends are accepted and ignored; unstructured parcelables parse")
    func acceptedAnnotations() throws {
        let source = """
            package p;
            import p.Legacy;
            import p.OtherLegacy;
            @VintfStability @JavaDerive(equals=true, toString=true) @JavaOnlyImmutable @RustDerive(Clone=true)
            @SuppressWarnings(value={"inout-parameter"}) @Hide @FixedSize @SensitiveData @JavaDefault
            @Descriptor(value="p.IOther") @UnsupportedAppUsage @Deprecated @PropagateAllowBlocking
            @JavaPassthrough(annotation="@android.annotation.SystemApi")
            interface IFoo {
                @EnforcePermission("NETWORK_STACK") void f(@utf8InCpp String s);
                @RequiresNoPermission void g();
            }
            """
        let out = try compile([
            ("p/IFoo.aidl", source),
            ("p/Legacy.aidl", "package p;\n@NdkOnlyStableParcelable parcelable Legacy cpp_header \"legacy.h\" ndk_header \"legacy_ndk.h\";\n"),
            ("p/OtherLegacy.aidl", "package p;\n@JavaOnlyStableParcelable parcelable OtherLegacy;\n"),
        ])
        #expect(out.map(\.fileName) == ["IFoo.swift"])
    }

    @Test("a rendered diagnostic keeps tabs so the caret lines up")
    func tabs() {
        let d = Diagnostic(SourceLocation(path: "f.aidl", line: 1, column: 3), "bad", sourceLine: "\tx y")
        #expect(d.rendered == "f.aidl:1:3: error: bad\n\tx y\n\t ^\n")
    }
}
