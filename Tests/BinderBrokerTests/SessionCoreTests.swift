import BinderWire
import Testing

@testable import BinderBrokerCore

@Suite("Broker core: resuming a session (WIRE.md §2.1)")
struct SessionCoreTests {
    /// Opens connection `raw` with a 1.1 hello for `session` whose handles start at `firstHandle`.
    private static func resume(_ h: CoreHarness, _ raw: UInt32, session: UInt64, firstHandle: UInt32) -> ConnectionID {
        let id = ConnectionID(raw)
        h.core.connectionOpened(id, identity: PeerIdentity(pid: Int32(raw) * 100, uid: 0, gid: 0))
        var hello = Parcel()
        Hello(session: session, firstHandle: firstHandle).write(to: &hello)
        h.deliver(from: id, FrameHeader(command: .hello), hello)
        _ = h.out.sent.removeLast()
        return id
    }

    private static func resumeService(_ h: CoreHarness, from id: ConnectionID, _ name: String, at handle: Int32) -> RecordingOutbox.Sent? {
        h.callServiceManager(from: id, .resumeService) { p in
            p.write(name)
            p.write(handle)
            p.write(Int64(10_000))
        }
    }

    @Test("resumeService waits for the name and delivers it at the handle the session held; new handles start at firstHandle")
    func pinnedHandle() throws {
        let h = CoreHarness()
        let client = Self.resume(h, 2, session: 0xABCD, firstHandle: 5)
        #expect(h.core.connections[client]?.session == 0xABCD)
        // Not registered yet: no answer until it is.
        #expect(Self.resumeService(h, from: client, "svc", at: 3) == nil)
        let service = h.connect(1)
        _ = h.addService("svc", from: service, cookie: 9)
        var answer = try #require(h.out.sent.last { $0.to == client && $0.header.command == .reply }).parcel
        try answer.readException()
        #expect(try answer.readObject() == .handle(3))
        // The handle works, and a new one is above every handle the session kept.
        h.deliver(from: client, FrameHeader(command: .transaction, transactionID: 40, target: 3, code: 1))
        #expect(h.out.sent.last?.to == service && h.out.sent.last?.header.target == 9)
        _ = h.addService("other", from: service, cookie: 10)
        #expect(try h.getService("other", from: client) == .handle(5))
    }

    @Test("a handle the session did not keep, or one that is taken, cannot be resumed")
    func refusals() throws {
        let h = CoreHarness()
        let service = h.connect(1)
        _ = h.addService("a", from: service, cookie: 1)
        _ = h.addService("b", from: service, cookie: 2)
        let client = Self.resume(h, 2, session: 1, firstHandle: 4)
        for (name, handle) in [("a", Int32(4)), ("a", 0)] {
            var reply = try #require(Self.resumeService(h, from: client, name, at: handle)).parcel
            #expect(throws: ServiceError.self) { try reply.readException() }
        }
        var first = try #require(Self.resumeService(h, from: client, "a", at: 2)).parcel
        try first.readException()
        #expect(try first.readObject() == .handle(2))
        // Taken by "a" now; and "a" cannot have a second handle.
        var taken = try #require(Self.resumeService(h, from: client, "b", at: 2)).parcel
        #expect(throws: ServiceError.self) { try taken.readException() }
        var second = try #require(Self.resumeService(h, from: client, "a", at: 3)).parcel
        #expect(throws: ServiceError.self) { try second.readException() }
    }
}
