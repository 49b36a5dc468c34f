import Binder
import BinderAIDL
import BinderWire
import NetdFixtureGenerated
import Testing

@Suite("Compiler")
struct CompilerTests {
    private func swift(_ source: String, path: String = "p/IFoo.aidl", extra: [(String, String)] = []) throws -> String {
        try #require(try compile([(path, source)] + extra).first).contents
    }

    @Test("constant expressions: literals, suffixes, hex bit patterns, arithmetic, shifts, ternaries, references")
    func constants() throws {
        let out = try swift("""
            package p;
            import p.Other;
            interface IFoo {
                const int HEX = 0xFFFFFFFF;
                const long HEX_LONG = 0x100000000;
                const byte U8 = 0xFFu8;
                const long L = 1L << 40;
                const int MIN = -2147483648;
                const int SHIFT = 1 << 31;
                const int MIXED = (3 + 4) * 2 - 10 / 3 % 2;
                const int BITS = ~0 & 0xF0 | 0x0F ^ 0x3;
                const int TERNARY = 1 > 2 ? 10 : 20;
                const boolean LOGIC = !(1 == 2) && (3 >= 3 || false);
                const String JOINED = "a" + "b" + Other.NAME;
                const int FROM_OTHER = p.Other.VALUE + IFoo.HEX;
                const char C = 'x';
                const double D = 1.0 / 4;
                const float F = 2.5f;
                const int SHR = -16 >> 2;
                const int NESTED_GENERIC_OK = 1;
                void f(in Map<String, List<List<String>>> m);
            }
            """, extra: [("p/Other.aidl", "package p; parcelable Other { const int VALUE = 41; const String NAME = \"c\"; }")])
        for line in [
            "public static let HEX: Int32 = -1", "public static let HEX_LONG: Int64 = 4294967296",
            "public static let U8: Int8 = -1", "public static let L: Int64 = 1099511627776",
            "public static let MIN: Int32 = -2147483648", "public static let SHIFT: Int32 = -2147483648",
            "public static let MIXED: Int32 = 13", "public static let BITS: Int32 = 252",
            "public static let TERNARY: Int32 = 20", "public static let LOGIC: Bool = true",
            "public static let JOINED: String = \"abc\"", "public static let FROM_OTHER: Int32 = 40",
            "public static let C: UInt16 = 120", "public static let D: Double = 0.25", "public static let F: Float = 2.5",
            "public static let SHR: Int32 = -4", "func f(m: [String: [[String]]]) throws",
        ] {
            #expect(out.contains(line), "missing: \(line)")
        }
    }

    @Test("transaction codes: 1 + declaration index, or 1 + explicit id (FIRST_CALL_TRANSACTION + id)")
    func codes() throws {
        let implicit = try swift("package p; interface IFoo { void a(); void b(); }")
        #expect(implicit.contains("case a = 1") && implicit.contains("case b = 2"))
        let explicit = try swift("package p; interface IFoo { void a() = 10; void b() = 0; }")
        #expect(explicit.contains("case a = 11") && explicit.contains("case b = 1"))
    }

    @Test("--values-module: values, constants and codes below the runtime; Interface, Proxy and Stub extend them in the runtime's module")
    func valuesSplit() throws {
        let files = [
            ("p/IFoo.aidl", "package p;\nimport p.P;\ninterface IFoo {\n    parcelable Inner { int x; }\n    const int K = 1;\n    P f(in Inner i);\n}\n"),
            ("p/P.aidl", "package p;\nparcelable P { @SwiftUnsigned long n; @SwiftUnsigned int m = 7; }\n"),
        ]
        let values = try #require(try compile(files, module: "W", valuesModule: "W").first).contents
        for part in ["import BinderWire\n", "public enum IFoo {", "public static let K: Int32 = 1", "public enum Code: UInt32, Sendable {", "case f = 1", "public struct Inner: AIDLValue, Equatable {"] {
            #expect(values.contains(part), "\(part)")
        }
        for part in ["import Binder\n", "import W\n", "protocol Interface", "class Proxy", "class Stub"] { #expect(!values.contains(part), "\(part)") }
        // In BinderWire itself: nothing to import.
        #expect(!(try compile(files, module: "BinderWire", valuesModule: "BinderWire")[0].contents.contains("import ")))

        let services = try #require(try compile(files, module: "Binder", valuesModule: "W").first).contents
        for part in ["import BinderWire\nimport W\n", "extension IFoo {", "public protocol Interface: AnyObject, Sendable {", "func f(i: IFoo.Inner) throws -> P", "public final class Proxy: Interface, AIDLProxy {", "public final class Stub: BinderObject {"] {
            #expect(services.contains(part), "\(part)")
        }
        for part in ["import Binder\n", "public enum IFoo", "enum Code", "struct Inner"] { #expect(!services.contains(part), "\(part)") }

        // A file with no interface belongs to the values part only; unsigned fields keep int/long bytes.
        let parcelable = [files[1], files[0]]
        #expect(try compile(parcelable, module: "Binder", valuesModule: "W").isEmpty)
        let p = try #require(try compile(parcelable, module: "W", valuesModule: "W").first).contents
        for part in ["public var n: UInt64 = 0", "public var m: UInt32 = 7", "value.n = try parcel.read(UInt64.self)", "parcel.write(self.m)"] {
            #expect(p.contains(part), "\(part)")
        }
    }

    @Test("doc comments carry over; the header names the source; nested types and descriptors")
    func shape() throws {
        let out = try swift("""
            package p.q;
            /**
             * The interface.
             *
             * Second paragraph.
             */
            oneway interface IFoo {
                /** A nested parcelable. */
                parcelable Inner { int x = 3; }
                /** Does f. */
                void f(in Inner i);
            }
            """, path: "p/q/IFoo.aidl")
        #expect(out.hasPrefix("// DO NOT EDIT. Generated by binder-aidl from p/q/IFoo.aidl.\n"))
        #expect(out.contains("/// The interface.\n///\n/// Second paragraph.\npublic enum IFoo {"))
        #expect(out.contains("public static let descriptor = \"p.q.IFoo\""))
        #expect(out.contains("    /// A nested parcelable.\n    public struct Inner: AIDLValue, Equatable {"))
        #expect(out.contains("/// Does f.\n        func f(i: IFoo.Inner) throws"))
        #expect(out.contains("flags: .oneWay"))
        #expect(out.contains("import Binder\nimport BinderWire\n"))
        let inBinder = try #require(try AIDLCompiler(moduleName: "Binder").compile([SourceFile(path: "x/IFoo.aidl", text: "package x; interface IFoo {}")]).first)
        #expect(!inBinder.contents.contains("import Binder\n"))
    }

    @Test("Swift keywords are escaped")
    func keywords() throws {
        let out = try swift("package p; parcelable Foo { int default; String protocol; }", path: "p/Foo.aidl")
        #expect(out.contains("public var `default`: Int32 = 0") && out.contains("value.`protocol` = try parcel.readNonNullString()"))
    }

    @Test("the generated netd fixture encodes and decodes (it also has to build: NetdFixtureGenerated)")
    func netd() throws {
        var config = NativeNetworkConfig(netId: 100, permission: INetd.PERMISSION_NETWORK, secure: true)
        #expect(config.networkType == .PHYSICAL && config.vpnType == .PLATFORM)
        config.vpnType = .OEM
        var p = Parcel()
        config.write(to: &p, resolver: nil)
        #expect(try NativeNetworkConfig.read(from: &p, resolver: nil) == config)
        #expect(NativeVpnType.MAX == NativeVpnType.OEM && NativeVpnType.OEM.rawValue == 4 && NativeVpnType.MAX.description == "OEM")

        let rule = FirewallRule.uidRange(UidRangeParcel(start: 10000, stop: 19999))
        var q = Parcel()
        rule.write(to: &q, resolver: nil)
        #expect(q.bytes.prefix(4) == [1, 0, 0, 0], "a union starts with its member's index")
        #expect(try FirewallRule.read(from: &q, resolver: nil) == rule)

        #expect(INetd.FWMARK_CLAT == Int32(bitPattern: 0xdeadc1a7) && INetd.QUOTA_ONE_TERABYTE == 1 << 40)
        #expect(INetd.Code.getUidRanges.rawValue == 99 && INetd.descriptor == "android.net.INetd")
        #expect(TetherOffloadRuleParcel().pmtu == 1500)
    }

    @Test("a parcelable reader skips fields a newer writer appended, and refuses a short parcelable")
    func evolution() throws {
        var p = Parcel()
        p.writeParcelable { p in
            p.write(Int32(1))
            p.write(Int32(2))
            p.write("appended by a newer writer")
        }
        p.write(Int32(77))
        #expect(try MarkMaskParcel.read(from: &p, resolver: nil) == MarkMaskParcel(mark: 1, mask: 2))
        #expect(try p.read(Int32.self) == 77)
        var short = Parcel()
        short.writeParcelable { p in p.write(Int32(1)) }
        #expect(throws: StatusCode.notEnoughData) { try MarkMaskParcel.read(from: &short, resolver: nil) }
    }
}
