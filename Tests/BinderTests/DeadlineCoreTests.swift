import BinderWire
import Testing

@testable import Binder

@Suite("Runtime core: calls that reach their deadline (WIRE.md §3.2)")
struct DeadlineCoreTests {
    @Test("a reader whose call times out gives up the reader role to a sleeper, and its late reply is dropped")
    func readerTimesOut() {
        var core = Core(behaviour: .broker, maxThreads: 4)
        let timed = core.startBlocking(), other = core.startBlocking()
        guard case .read = core.next(for: timed) else { Issue.record("the timed caller should read"); return }
        #expect(core.next(for: other).isSleep)
        var effects = Effects()
        core.readerTimedOut(effects: &effects)
        #expect(effects.wake == .one)
        #expect(core.timedOut(timed) == nil)
        core.woke()
        // The sleeper reads now; the timed-out call's reply finds nobody and wakes nobody.
        #expect(core.next(for: other).isRead)
        let late = core.received(reply(timed), by: other, effects: &effects)
        #expect(late == nil)
        #expect(core.read(reply(other), by: other).mine?.header.transactionID == other)
        #expect(core.isQuiescent)
    }

    @Test("a sleeper whose call times out takes its reply if it was filed meanwhile")
    func replyFiledBeforeTheTimeOut() {
        var core = Core(behaviour: .broker, maxThreads: 4)
        let reader = core.startBlocking(), timed = core.startBlocking()
        guard case .read = core.next(for: reader) else { Issue.record("first caller should read"); return }
        #expect(core.next(for: timed).isSleep)
        var effects = Effects()
        #expect(core.received(reply(timed), by: reader, effects: &effects) == nil)
        core.woke()
        #expect(core.timedOut(timed)?.header.transactionID == timed)
        // Taken once: a second look finds nothing.
        #expect(core.timedOut(timed) == nil)
    }

    @Test("calls nested in a call that timed out go to the pool instead of waiting for nobody")
    func nestedCallsOfATimedOutCall() {
        var core = Core(behaviour: .broker, maxThreads: 4)
        let (cookie, _) = core.publishObject()
        let timed = core.startBlocking()
        _ = core.read(call(cookie, id: 50, nestedIn: timed), by: timed)
        #expect(core.timedOut(timed) == nil)
        #expect(core.next(for: nil).served?.transactionID == 50)
    }
}
