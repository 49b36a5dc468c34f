import BinderWire
import Testing

@testable import BinderBrokerCore

@Suite("Deadlines: the heap behind the broker's timers")
struct DeadlineQueueTests {
    @Test("timers fire earliest first, equal deadlines in the order they were armed, none before its time")
    func expiryOrder() {
        var q = DeadlineQueue<String>()
        q.schedule("c", at: 30)
        q.schedule("a", at: 10)
        q.schedule("b1", at: 20)
        q.schedule("b2", at: 20)
        q.schedule("d", at: 40)
        #expect(q.earliest == 10 && q.count == 5)
        #expect(q.popExpired(now: 9).isEmpty)
        #expect(q.popExpired(now: 25) == ["a", "b1", "b2"])
        #expect(q.earliest == 30)
        #expect(q.popExpired(now: 100) == ["c", "d"])
        #expect(q.earliest == nil && q.isEmpty)
    }

    @Test("a cancelled timer never fires, and the earliest deadline skips it at once")
    func cancelled() {
        var q = DeadlineQueue<Int>()
        for (key, deadline) in [(1, 10), (2, 20), (3, 30)] { q.schedule(key, at: UInt64(deadline)) }
        q.cancel(1)
        #expect(q.earliest == 20, "the cancelled top is gone from the answer")
        q.cancel(3)
        q.cancel(3)
        q.cancel(99)
        #expect(q.count == 1)
        #expect(q.popExpired(now: 1_000) == [2])
        #expect(q.earliest == nil)
    }

    @Test("rescheduling replaces the old deadline, and a key armed again after it fired fires again")
    func rescheduled() {
        var q = DeadlineQueue<String>()
        q.schedule("x", at: 10)
        q.schedule("x", at: 50)
        q.schedule("y", at: 20)
        #expect(q.earliest == 20)
        #expect(q.popExpired(now: 30) == ["y"])
        #expect(q.popExpired(now: 50) == ["x"])
        q.schedule("x", at: 60)
        #expect(q.popExpired(now: 60) == ["x"])
    }

    @Test("many cancelled timers far in the future are dropped, the live ones kept in order")
    func compaction() {
        var q = DeadlineQueue<Int>()
        for i in 0..<1_000 { q.schedule(i, at: 1_000_000 + UInt64(i)) }
        for i in 0..<1_000 where i % 10 != 0 { q.cancel(i) }
        #expect(q.count == 100 && q.earliest == 1_000_000)
        #expect(q.popExpired(now: .max) == Array(stride(from: 0, to: 1_000, by: 10)))
    }

    @Test("in the core: a waiter answered before its time-out is never timed out; the other one is, at its deadline")
    func waiterCancelled() throws {
        let h = CoreHarness()
        let owner = h.connect(1)
        let answered = h.connect(2)
        let timedOut = h.connect(3)
        func wait(_ c: ConnectionID, _ name: String, millis: Int64) {
            #expect(h.callServiceManager(from: c, .waitForService) { p in p.write(name); p.write(millis) } == nil)
        }
        wait(answered, "soon", millis: 100)
        wait(timedOut, "never", millis: 200)
        #expect(h.core.nextDeadline == h.now + 100_000_000)
        _ = h.addService("soon", from: owner, cookie: 1)
        #expect(h.core.nextDeadline == h.now + 200_000_000, "the answered waiter's deadline is gone")
        let before = h.out.sent.count
        h.core.expireTimers(now: h.now + 1_000_000_000, out: &h.out)
        let replies = h.out.sent[before...].filter { $0.header.command == .reply }
        #expect(replies.map(\.to) == [timedOut])
        var p = try #require(replies.first).parcel
        try p.readException()
        #expect(try p.readObject() == .null)
        #expect(h.core.nextDeadline == nil)
    }
}
