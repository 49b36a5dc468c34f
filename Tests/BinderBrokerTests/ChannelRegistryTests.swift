import BinderWire
import Testing

@testable import BinderBrokerCore

@Suite("Named-fd registry: channel ends, claims and expiry")
struct ChannelRegistryTests {
    /// Service on connection 1 with a channel listener (cookie 50), client on 2 holding `ref`.
    func setUp(ttlMillis: UInt64 = 1000) throws -> (CoreHarness, ConnectionID, ConnectionID, ObjectRef) {
        let h = CoreHarness(channelTTLNanos: ttlMillis * 1_000_000)
        let (service, client, ref) = try h.serviceAndClient("svc", cookie: 7)
        var reply = h.callServiceManager(from: service, .registerChannelListener) { $0.write(object: .local(50)) }!.parcel
        try reply.readException()
        return (h, service, client, ref)
    }

    func request(_ h: CoreHarness, from client: ConnectionID, _ ref: ObjectRef) throws -> String {
        var reply = h.callServiceManager(from: client, .requestChannel) { $0.write(object: ref) }!.parcel
        try reply.readException()
        return try reply.readNonNullString()
    }

    @Test("a request files two ends, answers the requester's name and tells the target's listener, stamped")
    func requestFilesTwoEnds() throws {
        let (h, service, client, ref) = try setUp()
        let name = try request(h, from: client, ref)
        #expect(name == "channel-1-requester")
        let call = try #require(h.out.sent.last)
        #expect(call.to == service && call.header.target == 50 && call.header.flags.contains(.oneWay))
        #expect(call.header.code == IChannelListener.Code.onChannelRequested.rawValue)
        var p = call.parcel
        #expect(try p.readNonNullString() == "channel-1-target")
        #expect(try p.read(Int32.self) == 200)  // the client's pid (connection 2 → pid 200)
        _ = try p.read(UInt32.self)
        _ = try p.read(UInt32.self)
        #expect(try p.read(UInt64.self) == 7)
        #expect(h.core.status(now: h.now).channelEnds.map(\.name) == ["channel-1-requester", "channel-1-target"])
    }

    @Test("only the party an end was made for may claim it, and only once")
    func claimRules() throws {
        let (h, service, client, ref) = try setUp()
        let name = try request(h, from: client, ref)
        let stranger = h.connect(3)
        #expect(h.callServiceManager(from: stranger, .claimChannel) { $0.write(name) }!.header.status == .permissionDenied)
        #expect(h.callServiceManager(from: service, .claimChannel) { $0.write(name) }!.header.status == .permissionDenied)
        let claim = try #require(h.callServiceManager(from: client, .claimChannel) { $0.write(name) })
        #expect(claim.header.status == .ok && claim.header.fdCount == 1)
        #expect(h.out.passed.map(\.0) == [client] && h.out.passed.map(\.1) == [1000])
        var p = claim.parcel
        try p.readException()
        #expect(try p.read(Int32.self) == 0)
        let end = try ChannelEnd.read(from: &p)
        #expect(end.peerPID == 100 && end.cookie == 7)
        var again = h.callServiceManager(from: client, .claimChannel) { $0.write(name) }!.parcel
        #expect(throws: ServiceError.self) { try again.readException() }
    }

    @Test("openChannel files both ends, hands the requester its end at once, and the target's end is claimed by name as before")
    func openChannelClaimsOwnEnd() throws {
        let (h, service, client, ref) = try setUp()
        let open = try #require(h.callServiceManager(from: client, .openChannel) { $0.write(object: ref) })
        #expect(open.header.status == .ok && open.header.fdCount == 1)
        #expect(h.out.passed.map(\.0) == [client] && h.out.passed.map(\.1) == [1000], "the requester's end, fd 1000")
        var p = open.parcel
        try p.readException()
        #expect(try p.read(Int32.self) == 0)
        let end = try ChannelEnd.read(from: &p)
        #expect(end.peerPID == 100 && end.cookie == 7)
        // The listener hears of the target's end; only it is left to claim, and only by the target.
        let call = try #require(h.out.sent.first { $0.to == service && $0.header.code == IChannelListener.Code.onChannelRequested.rawValue })
        var notice = call.parcel
        #expect(try notice.readNonNullString() == "channel-1-target")
        let status = h.core.status(now: h.now)
        #expect(status.channelEnds.map(\.name) == ["channel-1-target"])
        #expect(status.channelsCreated == 1 && status.channelEndsClaimed == 1)
        var mine = h.callServiceManager(from: client, .claimChannel) { $0.write("channel-1-requester") }!.parcel
        #expect(throws: ServiceError.self, "the requester's end was claimed by openChannel") { try mine.readException() }
        #expect(h.callServiceManager(from: client, .claimChannel) { $0.write("channel-1-target") }!.header.status == .permissionDenied)
        #expect(h.callServiceManager(from: service, .claimChannel) { $0.write("channel-1-target") }!.header.fdCount == 1)
    }

    @Test("a receiver is handed its end with the request, claimed on its behalf: nothing is filed for it; a receiver must accept fds")
    func receiverGetsItsEnd() throws {
        let h = CoreHarness()
        let (service, client, ref) = try h.serviceAndClient("svc", cookie: 7)
        // An object that does not accept fds cannot be a receiver.
        var refused = h.callServiceManager(from: service, .registerChannelReceiver) { $0.write(object: .local(50)) }!.parcel
        #expect(throws: ServiceError(.illegalArgument, "a channel receiver must accept fds, on a connection that allows them")) { try refused.readException() }
        var reply = h.callServiceManager(from: service, .registerChannelReceiver) {
            $0.write(object: ObjectRef(kind: .local, id: 51, flags: ObjectRef.acceptsFDs))
        }!.parcel
        try reply.readException()

        let open = try #require(h.callServiceManager(from: client, .openChannel) { $0.write(object: ref) })
        #expect(open.header.status == .ok && open.header.fdCount == 1)
        let call = try #require(h.out.sent.last)
        #expect(call.to == service && call.header.target == 51 && call.header.flags.contains(.oneWay))
        #expect(call.header.code == IChannelListener.Code.onChannelOpened.rawValue && call.header.fdCount == 1)
        #expect(h.out.passed.map(\.0) == [client, service] && h.out.passed.map(\.1) == [1000, 1001], "each party got its own end")
        var notice = call.parcel
        #expect(try notice.readNonNullString() == "channel-1-target")
        #expect(try notice.read(Int32.self) == 0)  // the fd slot
        let end = try ChannelEnd.read(from: &notice)
        #expect(end.peerPID == 200 && end.cookie == 7, "the requester, as the broker stamped it, and the object")
        let status = h.core.status(now: h.now)
        #expect(status.channelEnds.isEmpty && status.channelsCreated == 1 && status.channelEndsClaimed == 2)
        var late = h.callServiceManager(from: service, .claimChannel) { $0.write("channel-1-target") }!.parcel
        #expect(throws: ServiceError.self, "the target's end was claimed on its behalf") { try late.readException() }
    }

    @Test("an unclaimed end expires and is closed; a closed connection's ends are closed")
    func expiryAndDeath() throws {
        let (h, service, client, ref) = try setUp(ttlMillis: 100)
        _ = try request(h, from: client, ref)
        _ = h.callServiceManager(from: service, .claimChannel) { $0.write("channel-1-target") }
        #expect(h.core.nextDeadline == h.now + 100_000_000)
        h.now += 100_000_000
        h.core.expireTimers(now: h.now, out: &h.out)
        #expect(h.out.closed == [1000])
        #expect(h.core.status(now: h.now).channelEndsExpired == 1 && h.core.status(now: h.now).channelEnds.isEmpty)

        _ = try request(h, from: client, ref)
        h.core.connectionClosed(service, out: &h.out)
        #expect(h.out.closed == [1000, 1003])
        #expect(h.core.status(now: h.now).channelEnds.map(\.name) == ["channel-2-requester"])
    }

    @Test("a target process without a listener, or a local object, cannot be asked for a channel")
    func refusedRequests() throws {
        let h = CoreHarness()
        let (_, client, ref) = try h.serviceAndClient("svc", cookie: 7)
        var reply = h.callServiceManager(from: client, .requestChannel) { $0.write(object: ref) }!.parcel
        #expect(throws: ServiceError(.unsupportedOperation, "the target process (pid 100) does not accept channels")) { try reply.readException() }
        reply = h.callServiceManager(from: client, .requestChannel) { $0.write(object: .local(9)) }!.parcel
        #expect(throws: ServiceError.self) { try reply.readException() }
        #expect(h.out.closed.isEmpty && h.out.nextFakeFD == 1000)
    }
}
