import BinderWire
import Testing

@testable import Binder

@Suite("Runtime core: the pool and closing")
struct PoolAndCloseTests {
    @Test("a broker connection starts one thread and reports it; SPAWN_THREAD adds one up to the maximum, and the count is reported either way")
    func poolGrowth() {
        var core = Core(behaviour: .broker, maxThreads: 2)
        var effects = Effects()
        #expect(core.startPool(callerJoins: false, effects: &effects))
        #expect(effects.growth == PoolSizing.Growth(start: 0..<1, report: 1))
        var again = Effects()
        #expect(!core.startPool(callerJoins: false, effects: &again))
        #expect(core.read(notice(.spawnThread)).effects.growth == PoolSizing.Growth(start: 1..<2, report: 2))
        #expect(core.read(notice(.spawnThread)).effects.growth == PoolSizing.Growth(start: 0..<0, report: 2))
    }

    @Test("a thread that joins the pool counts as its first: none is started for it")
    func callerJoins() {
        var core = Core(behaviour: .broker, maxThreads: 4)
        var effects = Effects()
        #expect(core.startPool(callerJoins: true, effects: &effects))
        #expect(effects.growth == PoolSizing.Growth(start: 0..<0, report: 1))
    }

    @Test("a direct channel starts all of its threads at once, reports nothing, and ignores SPAWN_THREAD")
    func channelPool() {
        var core = Core(behaviour: .directChannel, maxThreads: 3)
        var effects = Effects()
        #expect(core.startPool(callerJoins: false, effects: &effects))
        #expect(effects.growth == PoolSizing.Growth(start: 0..<3, report: nil))
        #expect(core.read(notice(.spawnThread)).effects.growth == nil)
        let exits = [core.threadExited(), core.threadExited(), core.threadExited()]
        #expect(exits == [false, false, true])  // the last one out
    }

    @Test("close while calls wait: blocked callers fail with DEAD_OBJECT, async ones are resumed with it, sleepers wake, pool threads exit, new calls fail")
    func closeWhileWaiting() {
        var core = Core(behaviour: .broker, maxThreads: 2)
        let reading = core.startBlocking(), sleeping = core.startBlocking()
        _ = core.startAsyncCall("async")
        var start = Effects()
        _ = core.startPool(callerJoins: false, effects: &start)
        guard case .read = core.next(for: reading) else { Issue.record("the first caller should read"); return }
        #expect(core.next(for: sleeping).isSleep)
        #expect(core.next(for: nil).isSleep)
        var effects = Effects()
        #expect(core.received(nil, by: reading, effects: &effects) == nil)
        #expect(effects.closed == .deadObject)
        #expect(effects.failed == ["async"])
        #expect(effects.wake == .all)
        #expect(core.next(for: reading).closedWith == .deadObject)
        core.woke()
        #expect(core.next(for: sleeping).closedWith == .deadObject)
        core.woke()
        #expect(core.next(for: nil).closedWith == .deadObject)
        let last = core.threadExited()
        #expect(last)
        if case .success = core.startCall(oneWay: false) { Issue.record("a call on a closed connection must fail") }
        #expect(core.startAsyncCall("late") == nil)
        var late = Effects()
        #expect(!core.startPool(callerJoins: false, effects: &late))
        // Closing again has no effects.
        var twice = Effects()
        core.close(effects: &twice)
        #expect(twice.closed == nil && twice.failed.isEmpty)
    }

    @Test("a reply that came before the close is still taken by its caller")
    func replyBeforeClose() {
        var core = Core(behaviour: .broker, maxThreads: 1)
        let waiting = core.startBlocking()
        _ = core.read(reply(waiting))
        _ = core.read(nil)
        #expect(core.next(for: waiting).reply?.transactionID == waiting)
    }

    @Test("a direct channel its service refused fails every call with the service's status")
    func refusal() {
        var core = Core(behaviour: .directChannel, maxThreads: 1)
        let queued = core.startBlocking()
        core.refused(with: .permissionDenied)
        #expect(core.read(nil, by: queued).effects.closed == .permissionDenied)
        #expect(core.next(for: queued).closedWith == .permissionDenied)
        guard case .failure(let status) = core.startCall(oneWay: false) else { Issue.record("a refused channel takes no calls"); return }
        #expect(status == .permissionDenied)
    }
}
