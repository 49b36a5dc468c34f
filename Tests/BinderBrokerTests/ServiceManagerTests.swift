import BinderWire
import Testing

@testable import BinderBrokerCore

@Suite("Service manager (handle 0)")
struct ServiceManagerTests {
    @Test("add, get, check and list")
    func addAndLookUp() throws {
        let h = CoreHarness()
        let owner = h.connect(1)
        let client = h.connect(2)
        var reply = h.addService("b.svc", from: owner, cookie: 1)!.parcel
        try reply.readException()
        _ = h.addService("a.svc", from: owner, cookie: 2)
        #expect(try h.getService("b.svc", from: client) == .handle(1))
        #expect(try h.getService("a.svc", from: client) == .handle(2))
        #expect(try h.getService("b.svc", from: client) == .handle(1), "the same object keeps its handle")
        #expect(try h.getService("missing", from: client) == .null)
        #expect(try h.getService("b.svc", from: owner) == .local(1), "the owner sees its own cookie")
        var list = h.callServiceManager(from: client, .listServices) { _ in }!.parcel
        try list.readException()
        #expect(try list.readArray { p throws(StatusCode) in try p.readNonNullString() } == ["a.svc", "b.svc"])
    }

    @Test("bad names are refused with illegalArgument", arguments: ["", "has space", String(repeating: "n", count: 128), "semi;colon"])
    func badNames(_ name: String) throws {
        let h = CoreHarness()
        let owner = h.connect(1)
        var reply = h.addService(name, from: owner, cookie: 1)!.parcel
        #expect(throws: ServiceError.self) { try reply.readException() }
        reply.readPosition = 0
        #expect(try reply.read(Int32.self) == ExceptionCode.illegalArgument.rawValue)
    }

    @Test("a name held by one uid cannot be taken by another; the same uid may replace it")
    func ownership() throws {
        let h = CoreHarness()
        let first = h.connect(1, uid: 1000)
        let other = h.connect(2, uid: 2000)
        let same = h.connect(3, uid: 1000)
        _ = h.addService("owned", from: first, cookie: 1)
        var denied = h.addService("owned", from: other, cookie: 1)!.parcel
        #expect(throws: ServiceError(.security, "'owned' is held by uid 1000")) { try denied.readException() }
        var replaced = h.addService("owned", from: same, cookie: 5)!.parcel
        try replaced.readException()
        #expect(try h.getService("owned", from: same) == .local(5))
    }

    @Test("a service disappears when its owner's connection closes")
    func ownerLeaves() throws {
        let h = CoreHarness()
        let owner = h.connect(1)
        let client = h.connect(2)
        _ = h.addService("svc", from: owner, cookie: 1)
        h.core.connectionClosed(owner, out: &h.out)
        #expect(try h.getService("svc", from: client) == .null)
    }

    @Test("registering with a handle the caller does not hold is BAD_VALUE")
    func foreignHandle() {
        let h = CoreHarness()
        let owner = h.connect(1)
        let reply = h.callServiceManager(from: owner, .addService) { p in
            p.write("svc")
            p.write(object: .handle(99))
        }
        #expect(reply?.header.status == .badValue)
    }

    @Test("waitForService answers when the name registers")
    func waitWakes() throws {
        let h = CoreHarness()
        let owner = h.connect(1)
        let waiter = h.connect(2)
        let early = h.callServiceManager(from: waiter, .waitForService) { p in
            p.write("late")
            p.write(Int64(60_000))
        }
        #expect(early == nil, "no reply while the name is missing")
        #expect(h.core.nextDeadline == h.now + 60_000_000_000)
        _ = h.addService("late", from: owner, cookie: 3)
        let woken = h.out.sent.first { $0.to == waiter && $0.header.command == .reply }
        var p = try #require(woken).parcel
        try p.readException()
        #expect(try p.readObject() == .handle(1))
        #expect(h.core.nextDeadline == nil)
    }

    @Test("waitForService times out with a null binder")
    func waitTimesOut() throws {
        let h = CoreHarness()
        let waiter = h.connect(2)
        _ = h.callServiceManager(from: waiter, .waitForService) { p in
            p.write("never")
            p.write(Int64(500))
        }
        h.core.expireTimers(now: h.now + 499_000_000, out: &h.out)
        #expect(!h.out.sent.contains { $0.to == waiter && $0.header.command == .reply })
        h.core.expireTimers(now: h.now + 500_000_000, out: &h.out)
        var p = try #require(h.out.sent.last { $0.to == waiter && $0.header.command == .reply }).parcel
        try p.readException()
        #expect(try p.readObject() == .null)
    }

    @Test("listeners hear of registrations, at once if the name exists, until they unregister")
    func notifications() throws {
        let h = CoreHarness()
        let owner = h.connect(1)
        let listener = h.connect(2)
        _ = h.addService("first", from: owner, cookie: 1)
        _ = h.callServiceManager(from: listener, .registerForNotifications) { p in
            p.write("first")
            p.write(object: .local(77))
        }
        var immediate = try #require(h.out.sent.last { $0.to == listener && $0.header.command == .transaction })
        #expect(immediate.header.target == 77 && immediate.header.flags.contains(.oneWay))
        #expect(immediate.header.code == IServiceCallback.Code.onRegistration.rawValue)
        #expect(try immediate.parcel.readNonNullString() == "first")
        #expect(try immediate.parcel.readObject() == .handle(1))
        let count = h.out.sent.count
        _ = h.addService("first", from: owner, cookie: 2)
        #expect(h.out.sent[count...].contains { $0.to == listener && $0.header.target == 77 })
        var unregister = h.callServiceManager(from: listener, .unregisterForNotifications) { p in
            p.write("first")
            p.write(object: .local(77))
        }!.parcel
        try unregister.readException()
        let after = h.out.sent.count
        _ = h.addService("first", from: owner, cookie: 3)
        #expect(!h.out.sent[after...].contains { $0.to == listener && $0.header.command == .transaction })
    }

    @Test("unregistering a callback that was never registered is an error and creates nothing")
    func unregisterUnknown() throws {
        let h = CoreHarness()
        let c = h.connect(1)
        var reply = h.callServiceManager(from: c, .unregisterForNotifications) { p in
            p.write("x")
            p.write(object: .local(5))
        }!.parcel
        #expect(throws: ServiceError.self) { try reply.readException() }
        #expect(h.core.status(now: h.now).connections[0].objects == 0)
    }

    @Test("unknown service-manager codes are UNKNOWN_TRANSACTION; short requests NOT_ENOUGH_DATA")
    func badRequests() {
        let h = CoreHarness()
        let c = h.connect(1)
        h.deliver(from: c, FrameHeader(command: .transaction, transactionID: 1, target: 0, code: 999))
        #expect(h.out.sent.last?.header.status == .unknownTransaction)
        #expect(h.callServiceManager(from: c, .getService) { _ in }?.header.status == .notEnoughData)
    }

    @Test("status lists connections and services")
    func status() {
        let h = CoreHarness()
        let owner = h.connect(1, uid: 1000)
        _ = h.connect(2)
        _ = h.addService("svc", from: owner, cookie: 1)
        let s = h.core.status(now: h.now)
        #expect(s.connections.map(\.id) == [1, 2])
        #expect(s.services == [BrokerStatus.Service(name: "svc", connection: 1, pid: 100, uid: 1000, container: 0)])
    }
}
