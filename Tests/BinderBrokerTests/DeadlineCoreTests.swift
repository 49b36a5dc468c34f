import BinderWire
import Testing

@testable import BinderBrokerCore

@Suite("Broker core: call deadlines (WIRE.md §3.2)")
struct BrokerDeadlineTests {
    @Test("a two-way call that arrives after its deadline is answered TIMED_OUT and never delivered; an earlier one is forwarded with its deadline unchanged")
    func expiredTwoWay() throws {
        let h = CoreHarness()
        let (service, client, ref) = try h.serviceAndClient()
        let before = h.out.sent.count
        h.deliver(from: client, FrameHeader(command: .transaction, transactionID: 5, target: ref.id, code: 1, deadline: h.now))
        let refused = Array(h.out.sent[before...])
        #expect(refused.count == 1)
        #expect(refused.first?.to == client && refused.first?.header.status == .timedOut && refused.first?.header.transactionID == 5)
        #expect(h.core.status(now: h.now).expiredCalls == 1)
        #expect(h.core.router.count == 0, "nothing was left in flight")

        h.deliver(from: client, FrameHeader(command: .transaction, transactionID: 6, target: ref.id, code: 1, deadline: h.now + 1))
        let forwarded = try #require(h.out.sent.last)
        #expect(forwarded.to == service && forwarded.header.deadline == h.now + 1)
        // The reply carries none.
        h.deliver(from: service, FrameHeader(command: .reply, transactionID: forwarded.header.transactionID))
        let answer = try #require(h.out.sent.last)
        #expect(answer.to == client && answer.header.transactionID == 6 && answer.header.deadline == 0)
    }

    @Test("an expired one-way call is acknowledged TIMED_OUT and charges the receiver nothing")
    func expiredOneWay() throws {
        let h = CoreHarness()
        let (service, client, ref) = try h.serviceAndClient()
        let before = h.out.sent.count
        h.deliver(from: client, FrameHeader(command: .transaction, flags: .oneWay, transactionID: 7, target: ref.id, code: 1, deadline: h.now - 1))
        #expect(h.out.sent[before...].map(\.to) == [client])
        #expect(h.out.sent.last?.header.status == .timedOut)
        #expect(h.core.connections[service]!.flow.bufferUsed == 0)
    }

    @Test("the service manager's calls obey deadlines too")
    func serviceManagerCall() {
        let h = CoreHarness()
        let client = h.connect(1)
        h.deliver(from: client, FrameHeader(command: .transaction, transactionID: 3, target: 0, code: IServiceManager.Code.listServices.rawValue, deadline: h.now))
        #expect(h.out.sent.last?.header.status == .timedOut)
    }

    @Test("a deadline on any frame but a transaction disconnects its sender, and only it")
    func deadlineOnAReply() throws {
        let h = CoreHarness()
        let (service, client, ref) = try h.serviceAndClient()
        h.deliver(from: client, FrameHeader(command: .transaction, transactionID: 8, target: ref.id, code: 1))
        let forwarded = try #require(h.out.sent.last)
        h.deliver(from: service, FrameHeader(command: .reply, transactionID: forwarded.header.transactionID, deadline: 1))
        #expect(h.out.disconnects.map(\.0) == [service])
        #expect(h.out.disconnects.first?.1.contains("deadline") == true)
    }
}
