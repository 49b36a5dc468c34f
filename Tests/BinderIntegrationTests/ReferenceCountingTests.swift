import Binder
import BinderPlatform
import BinderWire
import Synchronization
import Testing

/// A per-client object: answers 7, and counts down `released` when its last remote reference goes.
private final class Session: BinderObject {
    let released = Latch()
    func onTransact(code: UInt32, data: inout Parcel, reply: inout Parcel, context: TransactionContext) throws {
        reply.write(Int32(7))
    }
    func onLastReferenceReleased() { released.signal() }
}

/// Code 1: a reference to a new `Session` (kept in `sessions`); code 2: one to the same `kept` session every time.
private final class SessionFactory: BinderObject {
    let sessions = Mutex<[Session]>([])
    let kept = Session()
    func onTransact(code: UInt32, data: inout Parcel, reply: inout Parcel, context: TransactionContext) throws {
        if code == 2 { return reply.write(object: context.connection.publish(kept)) }
        let session = Session()
        sessions.withLock { $0.append(session) }
        reply.write(object: context.connection.publish(session))
    }
    var last: Session { sessions.withLock { $0.last! } }
}

@Suite("Reference counting through a real binderd")
struct ReferenceCountingTests {
    /// A broker, a service process serving a `SessionFactory` and a client process with a proxy to it.
    fileprivate func setUp() throws -> (TestBroker, SessionFactory, BinderConnection, BinderProxy) {
        let broker = try TestBroker()
        let server = try broker.connect()
        let factory = SessionFactory()
        try server.serviceManager.addService("sessions", factory)
        let client = try broker.connect()
        let proxy = try #require(try client.serviceManager.getService("sessions"))
        return (broker, factory, client, proxy)
    }

    /// What a `Session` answers through `proxy`.
    func answer(_ proxy: BinderProxy) throws -> Int32 {
        var reply = try proxy.transact(code: 1)
        return try reply.read()
    }

    func handles(of client: BinderConnection) throws -> UInt32 {
        let status = try client.serviceManager.status()
        return try #require(status.connections.first { $0.id == client.welcome.connectionID }).handles
    }

    @Test("when the client's last proxy goes, the owner is told, and the freed handle is refused afterwards")
    func lastProxyGoes() throws {
        let (broker, factory, client, sessions) = try setUp()
        defer { _ = broker.stop() }
        var handle: UInt64 = 0
        do {
            var reply = try sessions.transact(code: 1)
            let ref = try reply.readObject()
            handle = ref.id
            let first = try #require(try client.proxy(for: ref))
            let second = try #require(try client.proxy(for: ref))
            #expect(try answer(first) == 7)
            #expect(try handles(of: client) == 2)
            _ = consume first
            #expect(try answer(second) == 7)
            // The status call goes after any RELEASE the dropped proxy sent, on the same socket.
            let status = try client.serviceManager.status()
            #expect(status.objectsReleased == 0, "one proxy is still alive: nothing is released")
            #expect(try handles(of: client) == 2)
        }
        #expect(factory.last.released.wait(), "the owner was not told")
        #expect(try handles(of: client) == 1, "only the service's handle is left")
        let stale = try #require(try client.proxy(for: ObjectRef(kind: .handle, id: handle)))
        #expect(throws: StatusCode.badValue) { try stale.transact(code: 1) }
    }

    @Test("a reference never made into a proxy is released once the parcel that brought it is gone")
    func unreadReference() throws {
        let (broker, factory, client, sessions) = try setUp()
        defer { _ = broker.stop() }
        do {
            let reply = try sessions.transact(code: 1)
            #expect(reply.objectOffsets.count == 1)
            #expect(try handles(of: client) == 2, "the parcel holds its handle")
        }
        #expect(factory.last.released.wait())
        #expect(try handles(of: client) == 1)
    }

    @Test("a holder's exit gives back its references")
    func holderExits() throws {
        let (broker, factory, client, sessions) = try setUp()
        defer { _ = broker.stop() }
        var reply = try sessions.transact(code: 1)
        let session = try #require(try client.proxy(for: try reply.readObject()))
        #expect(try answer(session) == 7)
        client.close()
        #expect(factory.last.released.wait())
        withExtendedLifetime(session) {}
    }

    @Test("an object handed out again while its release is on its way is never lost (200 rounds)")
    func releaseRacesNewReference() throws {
        let (broker, _, client, sessions) = try setUp()
        defer { _ = broker.stop() }
        for round in 0..<200 {
            var reply = try sessions.transact(code: 2)
            let session = try #require(try client.proxy(for: try reply.readObject()))
            reply = Parcel()
            // The proxy, the last holder, goes right after this call: its RELEASE races the next
            // round's new reference to the same object.
            let seven = try answer(session)
            #expect(seven == 7, "round \(round)")
        }
        #expect(try handles(of: client) == 1)
    }
}
