import BinderWire
import Testing

@testable import BinderBrokerCore

@Suite("Death links: linkToDeath, unlinkToDeath and binderDied")
struct DeathLinkTests {
    /// Links `recipient` (the client's own cookie) with `cookie` on the service `ref`; returns the reply.
    func link(_ h: CoreHarness, _ code: IServiceManager.Code = .linkToDeath, from client: ConnectionID, target: ObjectRef, recipient: ObjectRef = .local(90), cookie: UInt64) -> RecordingOutbox.Sent? {
        h.callServiceManager(from: client, code) { p in
            p.write(object: target)
            p.write(object: recipient)
            p.write(cookie)
        }
    }

    func deaths(_ h: CoreHarness) -> [RecordingOutbox.Sent] {
        h.out.sent.filter { $0.header.command == .transaction && $0.header.code == IDeathRecipient.Code.binderDied.rawValue }
    }

    @Test("the owner's close calls binderDied(cookie) once, one-way, on each linked recipient, stamped by the broker")
    func deathIsDelivered() throws {
        let h = CoreHarness()
        let (service, client, ref) = try h.serviceAndClient("svc", cookie: 7)
        var ok = try #require(link(h, from: client, target: ref, cookie: 11)).parcel
        try ok.readException()
        _ = link(h, from: client, target: ref, recipient: .local(91), cookie: 12)
        h.core.connectionClosed(service, out: &h.out)
        let sent = deaths(h)
        #expect(sent.count == 2)
        #expect(sent.allSatisfy { $0.to == client && $0.header.flags.contains(.oneWay) && $0.header.transactionID == 0 })
        #expect(Set(sent.map(\.header.target)) == [90, 91])
        var p = try #require(sent.first { $0.header.target == 90 }).parcel
        #expect(try p.read(UInt64.self) == 11)
        #expect(h.core.deathLinks.count == 0 && h.core.deathLinks.delivered == 2)
        // Calls on the dead handle, a new link and an unlink all say DEAD_OBJECT.
        #expect(link(h, from: client, target: ref, cookie: 13)?.header.status == .deadObject)
        #expect(link(h, .unlinkToDeath, from: client, target: ref, cookie: 11)?.header.status == .deadObject)
    }

    @Test("an unlinked recipient, or one whose process left, hears nothing")
    func unlinkAndWatcherClose() throws {
        let h = CoreHarness()
        let (service, client, ref) = try h.serviceAndClient("svc", cookie: 7)
        let other = h.connect(3)
        let otherRef = try h.getService("svc", from: other)
        _ = link(h, from: client, target: ref, cookie: 1)
        _ = link(h, from: other, target: otherRef, cookie: 2)
        var unlinked = try #require(link(h, .unlinkToDeath, from: client, target: ref, cookie: 1)).parcel
        try unlinked.readException()
        var again = try #require(link(h, .unlinkToDeath, from: client, target: ref, cookie: 1)).parcel
        #expect(throws: ServiceError.self) { try again.readException() }
        h.core.connectionClosed(other, out: &h.out)
        #expect(h.core.deathLinks.count == 0)
        h.core.connectionClosed(service, out: &h.out)
        #expect(deaths(h).isEmpty)
    }

    @Test("bad links: a null or local target and a foreign recipient are ILLEGAL_ARGUMENT, an unheld handle BAD_VALUE")
    func badLinks() throws {
        let h = CoreHarness()
        let (_, client, ref) = try h.serviceAndClient("svc", cookie: 7)
        for (target, recipient) in [(ObjectRef.null, ObjectRef.local(90)), (.local(5), .local(90)), (ref, ref), (ref, .null)] {
            var p = try #require(link(h, from: client, target: target, recipient: recipient, cookie: 1)).parcel
            let error = try #require(throws: ServiceError.self) { try p.readException() }
            #expect(error.code == .illegalArgument)
        }
        #expect(link(h, from: client, target: .handle(99), cookie: 1)?.header.status == .badValue)
        #expect(h.core.deathLinks.count == 0)
    }
}
