import Binder
import BinderPlatform
import BinderTestTypes
import BinderWire
import Synchronization
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// Generated proxy in this process → binderd → generated stub in `binder test-types serve`
/// (Protocols/binder/test/ITestTypes.aidl), for every type binder-aidl supports.
@Suite("AIDL round trip through a real binderd")
struct AIDLRoundTripTests {
    /// A broker, the test-types service in its own process, and a client connection.
    final class Setup {
        let broker: TestBroker
        let server: Int32
        let client: BinderConnection
        let types: ITestTypes.Proxy

        init() throws {
            broker = try TestBroker()
            server = try ProcessControl.spawn(binDir + "/binder", ["test-types", "serve", "--name", "rt.types", "--quiet"], environment: broker.environment)
            client = try broker.connect(threads: 2)
            guard let binder = try client.serviceManager.waitForService("rt.types", timeout: .seconds(10)) else {
                ProcessControl.kill(server)
                ProcessControl.wait(server)
                throw TestFailure("test-types did not register")
            }
            types = ITestTypes.Proxy(binder)
        }

        deinit {
            ProcessControl.kill(server)
            ProcessControl.wait(server)
        }
    }

    final class Callback: ITestCallback.Interface {
        let pings = Mutex<[Int32]>([])
        let pinged = Latch()
        func name() throws -> String { "client-callback" }
        func ping(n: Int32) throws {
            pings.withLock { $0.append(n) }
            pinged.signal()
        }
    }

    final class Plain: BinderObject {
        func onTransact(code: UInt32, data: inout Parcel, reply: inout Parcel, context: TransactionContext) throws {
            reply.write(Int32(42))
        }
    }

    @Test("primitives, strings and nullable strings")
    func primitives() throws {
        let s = try Setup()
        let t = s.types
        #expect(try t.repeatBoolean(v: true) == true)
        #expect(try t.repeatByte(v: -128) == -128)
        #expect(try t.repeatChar(v: 0xFFFF) == 0xFFFF)
        #expect(try t.repeatInt(v: Int32.min) == Int32.min)
        #expect(try t.repeatLong(v: Int64.max) == Int64.max)
        #expect(try t.repeatFloat(v: -1.25) == -1.25)
        #expect(try t.repeatDouble(v: .pi) == .pi)
        #expect(try t.repeatString(v: "héllo ✓") == "héllo ✓")
        #expect(try t.repeatNullableString(v: nil) == nil)
        #expect(try t.repeatNullableString(v: "") == "")
        #expect(ITestTypes.VERSION == 3 && ITestTypes.GREETING == "hello, binder" && ITestTypes.BIG == (1 << 40) | 0xFF)
    }

    @Test("arrays, fixed arrays, lists, maps, out parameters")
    func collections() throws {
        let s = try Setup()
        let t = s.types
        var copy: [Int32] = [9]
        #expect(try t.reverseInts(v: [1, 2, 3], copy: &copy) == [3, 2, 1])
        #expect(copy == [1, 2, 3])
        #expect(try t.repeatBytes(v: [0, 1, 255]) == [0, 1, 255])
        #expect(try t.repeatNullableStrings(v: nil) == nil)
        #expect(try t.repeatNullableStrings(v: ["a", ""]) == ["a", ""])
        #expect(try t.repeatFixed(v: [1, 2, 3, 4]) == [1, 2, 3, 4])
        #expect(throws: StatusCode.badValue) { try t.repeatFixed(v: [1, 2]) }  // the stub checks T[N]
        #expect(try t.repeatList(v: ["x", "y"]) == ["x", "y"])
        let map = ["one": ITestTypes.Simple(number: 1), "two": ITestTypes.Simple(number: 2, text: "2", maybe: "m", kind: .C)]
        #expect(try t.repeatMap(v: map) == map)
        var values: [Int32] = [1, -2]
        var simple = ITestTypes.Simple(number: 21)
        try t.doubleInOut(values: &values, simple: &simple)
        #expect(values == [2, -4] && simple.number == 42 && simple.text == "seven")
        var filled = ITestTypes.AllTypes(i: 0)
        try t.fillOut(seed: 5, result: &filled)
        #expect(filled.i == 1024 + 5 && filled.list == ["seed 5"] && filled.s == "hello, binder")
    }

    @Test("parcelables with defaults, nested, nullable, recursive; enums (open); unions; generics")
    func structured() throws {
        let s = try Setup()
        let t = s.types
        let defaults = ITestTypes.AllTypes()
        #expect(defaults.b == -3 && defaults.c == 65 && defaults.l == ITestTypes.BIG && defaults.intEnum == .BAR)
        #expect(defaults.fixed == [0, 0, 0, 0] && defaults.fixedBytes == [1, 2] && defaults.ints == [1, 2, 3])
        #expect(ITestTypes.ByteEnum.C.rawValue == 4 && ITestTypes.IntEnum.BAZ.rawValue == -1 && ITestTypes.LongEnum.BIG.rawValue == 1 << 40)

        var all = ITestTypes.AllTypes()
        all.z = false
        all.ns = "ns"
        all.bytes = [7, 8, 9]
        all.strings = ["s1"]
        all.fixed = [4, 3, 2, 1]
        all.list = ["l"]
        all.map = ["k": ITestTypes.Simple(number: 3)]
        all.maybeSimple = ITestTypes.Simple(number: -1, maybe: "yes")
        all.simples = [ITestTypes.Simple(), ITestTypes.Simple(kind: .A)]
        all.intEnum = ITestTypes.IntEnum(rawValue: 12345)  // unknown to both sides: kept, not rejected
        all.longEnums = [.BIG, .SMALL]
        all.value = .numbers([5, 6])
        all.binder = s.client.binder(for: Plain())
        all.pair = Pair(first: "first", second: ITestTypes.Simple(number: 2))
        var inner = ITestTypes.AllTypes()
        inner.s = "inner"
        all.next = inner
        let back = try t.repeatAllTypes(v: all)
        #expect(back.z == false && back.ns == "ns" && back.bytes == [7, 8, 9] && back.strings == ["s1"])
        #expect(back.fixed == [4, 3, 2, 1] && back.list == ["l"] && back.map == all.map)
        #expect(back.maybeSimple == all.maybeSimple && back.simples == all.simples)
        #expect(back.intEnum.rawValue == 12345 && back.intEnum.description == "IntEnum(12345)")
        #expect(back.longEnums == [.BIG, .SMALL] && back.value == .numbers([5, 6]))
        #expect(back.pair.first == "first" && back.pair.second == ITestTypes.Simple(number: 2))
        #expect(back.next?.s == "inner" && back.next?.next == nil)
        #expect(back.callback == nil)
        let binder = try #require(back.binder)
        #expect(binder.isLocal, "our own object comes back as itself")
        var reply = try binder.transact(code: 1)
        #expect(try reply.read(Int32.self) == 42)

        #expect(try t.repeatNullableSimple(v: nil) == nil)
        #expect(try t.repeatNullableSimple(v: ITestTypes.Simple(number: 5)) == ITestTypes.Simple(number: 5))
        #expect(try t.repeatByteEnum(v: .C) == .C)
        #expect(try t.repeatIntEnums(v: [.FOO, .BAZ, ITestTypes.IntEnum(rawValue: 7)]) == [.FOO, .BAZ, ITestTypes.IntEnum(rawValue: 7)])
        for v: ITestTypes.Value in [.number(1), .text("t"), .simple(ITestTypes.Simple(number: 9)), .numbers([]), .enums(nil), .enums([.BAR])] {
            #expect(try t.repeatValue(v: v) == v)
        }
        #expect(ITestTypes.Value() == .number(0))
        let pair = try t.repeatPair(v: Pair(first: "a", second: ITestTypes.Simple(text: "b")))
        #expect(pair.first == "a" && pair.second.text == "b")
    }

    @Test("callbacks: the service calls back into the client during the call; interfaces and binders keep identity")
    func callbacks() throws {
        let s = try Setup()
        let t = s.types
        let callback = Callback()
        #expect(try t.callBack(callback: callback, suffix: "!") == "client-callback!")
        #expect(callback.pinged.wait(seconds: 5), "the one-way ping arrives")
        #expect(callback.pings.withLock { $0 } == [1])
        let same = try t.repeatCallback(callback: callback)
        #expect(try same.name() == "client-callback")
        let proxy = try #require(same as? ITestCallback.Proxy)
        #expect(proxy.binder.isLocal, "our own callback comes back as a local object")
        let again = try #require(try t.repeatCallback(callback: callback) as? ITestCallback.Proxy)
        #expect(again.binder == proxy.binder, "one implementation object is one binder")
        let services = try #require(try s.client.serviceManager.getService("rt.types"))
        #expect(try t.repeatBinder(binder: services) == services)
    }

    @Test("oneway calls, service errors, caller identity, interface token")
    func semantics() throws {
        let s = try Setup()
        let t = s.types
        try t.sendOneway(n: 77)
        let deadline = ContinuousClock.now + .seconds(5)
        while try t.lastOneway() != 77 && ContinuousClock.now < deadline { usleep(1000) }
        #expect(try t.lastOneway() == 77)
        #expect(throws: ServiceError(.serviceSpecific, "nope", serviceSpecificCode: 12)) {
            try t.throwServiceSpecific(code: 12, message: "nope")
        }
        #expect(try t.callingUid() == Int32(bitPattern: getuid()))

        // A request written for another interface is refused before it is decoded.
        var wrong = Parcel()
        wrong.writeInterfaceToken("binder.test.INotTestTypes")
        wrong.write(Int32(1))
        #expect(throws: StatusCode.badType) { try t.binder.transact(code: ITestTypes.Code.repeatInt.rawValue, data: wrong) }
        #expect(throws: StatusCode.unknownTransaction) { try t.binder.transact(code: 999) }
        var descriptor = try t.binder.transact(code: AIDLTransaction.interface)
        #expect(try descriptor.readString() == "binder.test.ITestTypes")
    }

    @Test("the async forms suspend and give the same results")
    func asyncForms() async throws {
        let s = try Setup()
        let t = s.types
        #expect(try await t.repeatString(v: "async") == "async")
        var copy: [Int32] = []
        #expect(try await t.reverseInts(v: [1, 2], copy: &copy) == [2, 1])
        #expect(copy == [1, 2])
        await #expect(throws: ServiceError.self) { try await t.throwServiceSpecific(code: 1, message: "x") }
    }

    @Test("file descriptors round trip: the service gets its own fd for the same file, and so do we")
    func fileDescriptors() throws {
        let s = try Setup()
        var fds: [Int32] = [0, 0]
        #expect(pipe(&fds) == 0)
        let readEnd = ParcelFileDescriptor(adopting: fds[0])
        let writeEnd = ParcelFileDescriptor(adopting: fds[1])
        let back = try #require(try s.types.repeatFd(fd: writeEnd))
        #expect(back.fd != writeEnd.fd)
        #expect(Glibc.write(back.fd, "fd!", 3) == 3)
        var buffer = [UInt8](repeating: 0, count: 3)
        #expect(Glibc.read(readEnd.fd, &buffer, 3) == 3)
        #expect(buffer == Array("fd!".utf8))
        #expect(try s.types.repeatFd(fd: nil) == nil)
    }
}
