import BinderWire
import Testing

@testable import BinderBrokerCore

@Suite("Reference counting: RELEASE, RELEASED and what holds an object (WIRE.md §4.4)")
struct ReferenceCountingCoreTests {
    /// `from` calls `handle` with a parcel of `refs`; returns the status answer (nil when the call
    /// was forwarded) and the references as the receiver saw them.
    @discardableResult
    func call(_ h: CoreHarness, from: ConnectionID, handle: UInt64, _ refs: [ObjectRef], txid: UInt64 = 1) throws -> (StatusCode?, [ObjectRef]) {
        var p = Parcel()
        for r in refs { p.write(object: r) }
        let before = h.out.sent.count
        h.deliver(from: from, FrameHeader(command: .transaction, transactionID: txid, target: handle, code: 1), p)
        let sent = h.out.sent[before...]
        if let status = sent.first(where: { $0.to == from && $0.header.command == .reply }) { return (status.header.status, []) }
        var forwarded = try #require(sent.first { $0.header.command == .transaction }).parcel
        return (nil, try refs.map { _ in try forwarded.readObject() })
    }

    func release(_ h: CoreHarness, from: ConnectionID, handle: UInt64, count: UInt64) {
        h.deliver(from: from, FrameHeader(command: .release, transactionID: count, target: handle))
    }

    func releasedNotices(_ h: CoreHarness, to id: ConnectionID) -> [(cookie: UInt64, seen: UInt64)] {
        h.out.sent.filter { $0.to == id && $0.header.command == .released }.map { ($0.header.target, $0.header.transactionID) }
    }

    @Test("a handle given back in full is gone for good; the owner hears RELEASED with the references it sent")
    func releaseInFull() throws {
        let h = CoreHarness()
        let (service, client, svc) = try h.serviceAndClient()
        // The client passes its callback twice: one handle in the service, two references on it.
        let (_, first) = try call(h, from: client, handle: svc.id, [.local(70), .local(70)])
        #expect(first[0] == first[1] && first[0].kind == .handle)
        let callback = first[0].id
        #expect(h.core.connections[service]!.handles[UInt32(callback)]!.references == 2)
        release(h, from: service, handle: callback, count: 1)
        #expect(h.core.connections[service]!.handles[UInt32(callback)]!.references == 1, "one reference left: still held")
        #expect(releasedNotices(h, to: client).isEmpty)
        release(h, from: service, handle: callback, count: 1)
        #expect(h.core.connections[service]!.handles[UInt32(callback)] == nil)
        let notices = releasedNotices(h, to: client)
        #expect(notices.count == 1 && notices[0].cookie == 70 && notices[0].seen == 2)
        #expect(h.core.connections[client]!.owned.nodes[70] == nil && h.core.counters.objectsReleased == 1)
        // The number stays dead: it names nothing, and it is never handed out again.
        #expect(try call(h, from: service, handle: callback, [], txid: 2).0 == .badValue)
        let (_, again) = try call(h, from: client, handle: svc.id, [.local(70)], txid: 3)
        #expect(again[0].kind == .handle && again[0].id != callback, "a new reference gets a new handle")
        #expect(h.out.disconnects.isEmpty)
    }

    @Test("RELEASED counts only what the broker read, so the owner can tell a reference still on its way")
    func seenCountResets() throws {
        let h = CoreHarness()
        let (service, client, svc) = try h.serviceAndClient()
        let (_, refs) = try call(h, from: client, handle: svc.id, [.local(70)])
        release(h, from: service, handle: refs[0].id, count: 1)
        // The next reference after a notice starts a new count.
        let (_, refs2) = try call(h, from: client, handle: svc.id, [.local(70), .local(70), .local(70)], txid: 2)
        release(h, from: service, handle: refs2[0].id, count: 3)
        #expect(releasedNotices(h, to: client).map(\.seen) == [1, 3])
    }

    @Test("giving back more than was delivered, or an unheld handle, disconnects only the offender, whose references then go")
    func overRelease() throws {
        let h = CoreHarness()
        let (service, client, svc) = try h.serviceAndClient()
        let bystander = h.connect(3)
        let (_, refs) = try call(h, from: client, handle: svc.id, [.local(70)])
        release(h, from: service, handle: refs[0].id, count: 2)
        #expect(h.out.disconnects.map(\.0) == [service])
        #expect(h.out.disconnects[0].1.contains("releases 2 references to handle \(refs[0].id), which holds 1"))
        release(h, from: bystander, handle: 42, count: 1)
        #expect(h.out.disconnects.map(\.0) == [service, bystander])
        h.core.connectionClosed(service, out: &h.out)
        #expect(releasedNotices(h, to: client).map(\.cookie) == [70], "the closed holder's reference went with it")
    }

    @Test("the service manager holds what it keeps: a registered service outlives its lookups, a recipient its link")
    func serviceManagerHolds() throws {
        let h = CoreHarness()
        let (service, client, svc) = try h.serviceAndClient("svc", cookie: 7)
        let link = h.callServiceManager(from: client, .linkToDeath) { p in
            p.write(object: svc)
            p.write(object: .local(90))
            p.write(UInt64(5))
        }
        #expect(link?.header.status == .ok)
        release(h, from: client, handle: svc.id, count: 1)
        #expect(releasedNotices(h, to: service).isEmpty, "the registry still holds the service")
        #expect(h.core.deathLinks.count == 0, "the client's death link went with its handle")
        #expect(releasedNotices(h, to: client).map(\.cookie) == [90], "and so did the link's hold on the recipient")
        h.core.connectionClosed(service, out: &h.out)
        #expect(!h.out.sent.contains { $0.header.code == IDeathRecipient.Code.binderDied.rawValue }, "no notice on a released link")
    }

    @Test("a holder that disconnects gives back everything it held")
    func disconnectReleases() throws {
        let h = CoreHarness()
        let (service, client, svc) = try h.serviceAndClient()
        _ = try call(h, from: client, handle: svc.id, [.local(70), .local(71)])
        h.core.connectionClosed(service, out: &h.out)
        #expect(Set(releasedNotices(h, to: client).map(\.cookie)) == [70, 71])
        #expect(h.core.connections[client]!.owned.nodes.isEmpty)
    }

    @Test("an object passed back to its owner is held by that delivery until the owner gives it back")
    func ownObjectComesBack() throws {
        let h = CoreHarness()
        let (service, client, svc) = try h.serviceAndClient()
        let (_, refs) = try call(h, from: client, handle: svc.id, [.local(70)])
        // The service passes the callback straight back to the client, then lets go of its handle.
        let (_, back) = try call(h, from: service, handle: refs[0].id, [refs[0]], txid: 2)
        #expect(back == [.local(70)])
        release(h, from: service, handle: refs[0].id, count: 1)
        #expect(releasedNotices(h, to: client).isEmpty, "the frame on its way back to the owner still holds it")
        h.deliver(from: client, FrameHeader(command: .release, transactionID: 1, target: 70, code: 1))
        #expect(releasedNotices(h, to: client).map(\.seen) == [1])
        h.deliver(from: client, FrameHeader(command: .release, transactionID: 1, target: 70, code: 1))
        #expect(h.out.disconnects.map(\.0) == [client], "given back twice")
    }

    @Test("a refused frame delivers no reference and makes no node")
    func refusedFrame() throws {
        let h = CoreHarness()
        let (service, client, svc) = try h.serviceAndClient()
        let nodes = h.core.objects.count
        let (status, _) = try call(h, from: client, handle: svc.id, [.local(70), .handle(999)])
        #expect(status == .badValue)
        #expect(h.core.objects.count == nodes && h.core.connections[service]!.handles.isEmpty)
    }
}
