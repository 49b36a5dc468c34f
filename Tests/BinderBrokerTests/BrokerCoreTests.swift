import BinderWire
import Testing

@testable import BinderBrokerCore

@Suite("Broker core: handshake, routing, statuses")
struct BrokerCoreTests {
    @Test("the first frame must be hello; anything else disconnects only that connection")
    func handshakeRequired() {
        let h = CoreHarness()
        let good = h.connect(1)
        let bad = ConnectionID(2)
        h.core.connectionOpened(bad, identity: PeerIdentity(pid: 2, uid: 0, gid: 0))
        h.deliver(from: bad, FrameHeader(command: .transaction, transactionID: 1, target: 0, code: 4))
        #expect(h.out.disconnects.map(\.0) == [bad])
        #expect(h.out.disconnects[0].1.contains("first frame must be hello"))
        #expect(h.callServiceManager(from: good, .listServices) { _ in } != nil)
    }

    @Test("welcome negotiates the smaller frame limit and reports the kernel identity")
    func welcomeNegotiates() throws {
        let h = CoreHarness(maxFrameSize: 8192)
        let id = ConnectionID(7)
        h.core.connectionOpened(id, identity: PeerIdentity(pid: 4242, uid: 1000, gid: 1001))
        var hello = Parcel()
        Hello(maxFrameSize: 65536).write(to: &hello)
        h.deliver(from: id, FrameHeader(command: .hello), hello)
        var p = h.out.sent.last!.parcel
        let w = try Welcome.read(from: &p)
        #expect(w.maxFrameSize == 8192)
        #expect(w.pid == 4242 && w.uid == 1000 && w.gid == 1001 && w.connectionID == 7)
    }

    @Test("a wrong major version is refused")
    func versionMismatch() {
        let h = CoreHarness()
        let id = ConnectionID(1)
        h.core.connectionOpened(id, identity: PeerIdentity(pid: 1, uid: 0, gid: 0))
        var hello = Parcel()
        var v = Hello()
        v.major = 9
        v.write(to: &hello)
        h.deliver(from: id, FrameHeader(command: .hello), hello)
        #expect(h.out.disconnects.first?.1.contains("not supported") == true)
    }

    @Test("a transaction reaches the owner by cookie, stamped; the reply returns by the caller's id")
    func routesTwoWay() throws {
        let h = CoreHarness()
        let service = h.connect(1, uid: 1000)
        let client = h.connect(2, pid: 555, uid: 2000)
        #expect(h.addService("echo", from: service, cookie: 0xC0FFEE) != nil)
        let ref = try h.getService("echo", from: client)
        #expect(ref.kind == .handle)
        var data = Parcel()
        data.write(Int32(42))
        h.deliver(from: client, FrameHeader(command: .transaction, transactionID: 77, target: ref.id, code: 1), data)
        let forwarded = h.out.sent.last!
        #expect(forwarded.to == service)
        #expect(forwarded.header.target == 0xC0FFEE)
        #expect(forwarded.header.sender == CallerIdentity(pid: 555, uid: 2000, container: 0))
        #expect(forwarded.header.transactionID != 77)
        #expect(forwarded.parcel == data)
        h.deliver(from: service, FrameHeader(command: .reply, transactionID: forwarded.header.transactionID), data)
        let reply = h.out.sent.last!
        #expect(reply.to == client)
        #expect(reply.header.command == .reply && reply.header.transactionID == 77 && reply.header.status == .ok)
        #expect(reply.header.sender.uid == 1000)
        #expect(h.core.status(now: h.now).pendingTransactions == 0)
    }

    @Test("one-way calls are forwarded in order with no pending entry, each acknowledged to its sender after the forward")
    func oneWayInOrder() throws {
        let h = CoreHarness()
        let (service, client, ref) = try h.serviceAndClient("sink", cookie: 9)
        let before = h.out.sent.count
        for i in 0..<5 {
            var p = Parcel()
            p.write(Int32(i))
            h.deliver(from: client, FrameHeader(command: .transaction, flags: .oneWay, transactionID: UInt64(i), target: ref.id, code: 1), p)
        }
        let sent = h.out.sent[before...]
        #expect(sent.count == 10)
        #expect(zip(sent.indices, sent).allSatisfy { i, s in
            (i - before) % 2 == 0
                ? s.to == service && s.header.command == .transaction
                : s.to == client && s.header.command == .reply && s.header.status == .ok && s.header.transactionID == UInt64((i - before) / 2)
        })
        let delivered = sent.filter { $0.to == service }
        #expect(delivered.allSatisfy { $0.header.flags.contains(.oneWay) && $0.header.transactionID == 0 })
        #expect(delivered.map { var p = $0.parcel; return try! p.read(Int32.self) } == [Int32(0), 1, 2, 3, 4])
        #expect(h.core.status(now: h.now).pendingTransactions == 0)
    }

    @Test("a caller waiting on a service whose connection closes gets DEAD_OBJECT at once; later calls too")
    func deadObject() throws {
        let h = CoreHarness()
        let (service, client, ref) = try h.serviceAndClient("svc", cookie: 1)
        h.deliver(from: client, FrameHeader(command: .transaction, transactionID: 5, target: ref.id, code: 1))
        h.core.connectionClosed(service, out: &h.out)
        let reply = h.out.sent.last!
        #expect(reply.to == client && reply.header.transactionID == 5 && reply.header.status == .deadObject)
        h.deliver(from: client, FrameHeader(command: .transaction, transactionID: 6, target: ref.id, code: 1))
        #expect(h.out.sent.last!.header.status == .deadObject)
        #expect(try h.getService("svc", from: client) == .null)
    }

    @Test("a reply owed to a caller that left is dropped")
    func lateReplyDropped() throws {
        let h = CoreHarness()
        let (service, client, ref) = try h.serviceAndClient("svc", cookie: 1)
        h.deliver(from: client, FrameHeader(command: .transaction, transactionID: 5, target: ref.id, code: 1))
        let txid = h.out.sent.last!.header.transactionID
        h.core.connectionClosed(client, out: &h.out)
        let count = h.out.sent.count
        h.deliver(from: service, FrameHeader(command: .reply, transactionID: txid))
        #expect(h.out.sent.count == count)
        #expect(h.out.disconnects.isEmpty)
    }

    @Test("a reply to a call that went to another connection disconnects the forger")
    func forgedReply() throws {
        let h = CoreHarness()
        let service = h.connect(1)
        let client = h.connect(2)
        let intruder = h.connect(3)
        _ = h.addService("svc", from: service, cookie: 1)
        let ref = try h.getService("svc", from: client)
        h.deliver(from: client, FrameHeader(command: .transaction, transactionID: 5, target: ref.id, code: 1))
        let txid = h.out.sent.last!.header.transactionID
        h.deliver(from: intruder, FrameHeader(command: .reply, transactionID: txid))
        #expect(h.out.disconnects.map(\.0) == [intruder])
    }

    @Test("a frame larger than the receiver negotiated fails with FAILED_TRANSACTION, both ways")
    func receiverLimit() throws {
        let h = CoreHarness()
        let service = h.connect(1, maxFrame: 4096)
        let client = h.connect(2, maxFrame: 4096)
        let big = h.connect(3)
        _ = h.addService("small", from: service, cookie: 1)
        _ = h.addService("big", from: big, cookie: 1)
        var large = Parcel()
        large.write(bytes: [UInt8](repeating: 1, count: 8000))
        let small = try h.getService("small", from: big)
        h.deliver(from: big, FrameHeader(command: .transaction, transactionID: 4, target: small.id, code: 1), large)
        #expect(h.out.sent.last!.to == big && h.out.sent.last!.header.status == .failedTransaction)
        let bigRef = try h.getService("big", from: client)
        h.deliver(from: client, FrameHeader(command: .transaction, transactionID: 5, target: bigRef.id, code: 1))
        let txid = h.out.sent.last!.header.transactionID
        h.deliver(from: big, FrameHeader(command: .reply, transactionID: txid), large)
        #expect(h.out.sent.last!.to == client && h.out.sent.last!.header.transactionID == 5 && h.out.sent.last!.header.status == .failedTransaction)
        #expect(h.out.disconnects.isEmpty)
    }

    @Test("a reply carrying a sender stamp disconnects its sender, pending or not")
    func stampedReply() {
        let h = CoreHarness()
        let forger = h.connect(1)
        h.deliver(from: forger, FrameHeader(command: .reply, transactionID: 12345, sender: CallerIdentity(pid: 1, uid: 0, container: 0)))
        #expect(h.out.disconnects.map(\.0) == [forger])
    }

    @Test("a client-supplied sender stamp is refused with PERMISSION_DENIED")
    func forgedIdentity() throws {
        let h = CoreHarness()
        let (_, client, ref) = try h.serviceAndClient("svc", cookie: 1)
        let count = h.out.sent.count
        h.deliver(from: client, FrameHeader(command: .transaction, transactionID: 8, target: ref.id, code: 1, sender: CallerIdentity(pid: 1, uid: 0, container: 3)))
        #expect(h.out.sent.count == count + 1)
        #expect(h.out.sent.last!.to == client && h.out.sent.last!.header.status == .permissionDenied)
    }

    @Test("a handle never given is BAD_VALUE and reaches no one")
    func unknownHandle() {
        let h = CoreHarness()
        _ = h.connect(1)
        let client = h.connect(2)
        h.deliver(from: client, FrameHeader(command: .transaction, transactionID: 3, target: 42, code: 1))
        #expect(h.out.sent.last!.to == client && h.out.sent.last!.header.status == .badValue)
    }

    @Test("fds to an object that accepts them are forwarded with the frame")
    func fdsForwardedToAcceptingObject() throws {
        let h = CoreHarness()
        let (service, client, ref) = try h.serviceAndClient("svc", cookie: 7, acceptsFDs: true)
        h.deliver(from: client, FrameHeader(command: .transaction, flags: .acceptFDs, transactionID: 3, target: ref.id, code: 1, fdCount: 2), fdCount: 2)
        let forwarded = h.out.sent.last!
        #expect(forwarded.to == service && forwarded.header.command == .transaction)
        #expect(forwarded.header.fdCount == 2 && forwarded.header.target == 7)
    }

    @Test("fds to an object that did not opt in, or to the service manager, get FDS_NOT_ALLOWED and go nowhere")
    func fdsRefusedWithoutOptIn() throws {
        let h = CoreHarness()
        let (service, client, ref) = try h.serviceAndClient("svc", cookie: 7, acceptsFDs: false)
        h.deliver(from: client, FrameHeader(command: .transaction, transactionID: 3, target: ref.id, code: 1, fdCount: 1), fdCount: 1)
        #expect(h.out.sent.last!.to == client && h.out.sent.last!.header.status == .fdsNotAllowed)
        #expect(!h.out.sent.contains { $0.to == service && $0.header.command == .transaction })
        h.deliver(from: client, FrameHeader(command: .transaction, transactionID: 4, target: 0, code: 4, fdCount: 1), fdCount: 1)
        #expect(h.out.sent.last!.to == client && h.out.sent.last!.header.status == .fdsNotAllowed)
        #expect(h.out.disconnects.isEmpty)
    }

    @Test("a reply with fds reaches a caller that accepts fds; a caller that did not gets FDS_NOT_ALLOWED")
    func fdsInReplies() throws {
        let h = CoreHarness()
        let (service, client, ref) = try h.serviceAndClient("svc", cookie: 7)
        for accepts in [true, false] {
            h.deliver(from: client, FrameHeader(command: .transaction, flags: accepts ? .acceptFDs : [], transactionID: 3, target: ref.id, code: 1))
            let call = h.out.sent.last!
            #expect(call.to == service)
            h.deliver(from: service, FrameHeader(command: .reply, transactionID: call.header.transactionID, fdCount: 1), fdCount: 1)
            let reply = h.out.sent.last!
            #expect(reply.to == client && reply.header.transactionID == 3)
            #expect(reply.header.status == (accepts ? .ok : .fdsNotAllowed))
            #expect(reply.header.fdCount == (accepts ? 1 : 0))
        }
    }

    @Test("an fd count that differs from the fds that arrived, or truncated control data, disconnects the sender")
    func fdAccounting() throws {
        for arrived in [1, -1] {
            let h = CoreHarness()
            let (_, client, ref) = try h.serviceAndClient("svc", cookie: 7, acceptsFDs: true)
            h.deliver(from: client, FrameHeader(command: .transaction, transactionID: 4, target: ref.id, code: 1, fdCount: 2), fdCount: arrived)
            #expect(h.out.disconnects.map(\.0) == [client])
            #expect(h.out.disconnects.first!.1.contains(arrived < 0 ? "MSG_CTRUNC" : "fds"))
        }
    }

    @Test("malformed frames disconnect only their sender", arguments: ["garbage", "truncated", "oversized", "badOffset", "hello"])
    func malformed(_ kind: String) throws {
        let h = CoreHarness(maxFrameSize: 4096)
        let victim = h.connect(1)
        let bystander = h.connect(2)
        switch kind {
        case "garbage": h.deliverRaw(from: victim, [UInt8](repeating: 0xAB, count: 100))
        case "truncated": h.deliverRaw(from: victim, CoreHarness.frame(FrameHeader(command: .transaction, target: 0, code: 4), Parcel()), truncated: true)
        case "oversized":
            var p = Parcel()
            p.write(bytes: [UInt8](repeating: 1, count: 8192))
            h.deliver(from: victim, FrameHeader(command: .transaction, transactionID: 1, target: 0, code: 4), p)
        case "badOffset":
            var bytes = CoreHarness.frame(FrameHeader(command: .transaction, transactionID: 1, target: 0, code: 4, objectCount: 1), Parcel())
            bytes += [8, 0, 0, 0]
            h.deliverRaw(from: victim, bytes)
        default: h.deliver(from: victim, FrameHeader(command: .hello))
        }
        #expect(h.out.disconnects.map(\.0) == [victim])
        #expect(h.core.status(now: h.now).malformedDisconnects == 1)
        #expect(h.callServiceManager(from: bystander, .listServices) { _ in }?.header.status == .ok)
    }
}
