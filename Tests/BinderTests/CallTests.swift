import BinderWire
import Testing

@testable import Binder

@Suite("Runtime core: calls and the reader role")
struct CallTests {
    @Test("a caller alone on the connection gets its reply from its own read, and nobody is woken")
    func loneCaller() {
        var core = Core(behaviour: .broker, maxThreads: 4)
        let id = core.startBlocking()
        let (mine, effects) = core.read(reply(id), by: id)
        #expect(mine?.header.transactionID == id)
        #expect(effects.wake == .none)
        #expect(!effects.hasWorkAfterUnlock)
        #expect(core.isQuiescent)
    }

    @Test("transaction IDs start at 1 and are never reused")
    func ids() {
        var core = Core(behaviour: .broker, maxThreads: 1)
        let a = core.startBlocking(), b = core.startBlocking()
        let c = core.startAsyncCall("c")
        #expect([a, b, c] == [1, 2, 3])
        #expect(core.calls.started == 3)
    }

    @Test("a reply read by another thread is filed for its caller, and every sleeper is woken so that the caller finds it")
    func replyForAnotherThread() {
        var core = Core(behaviour: .broker, maxThreads: 4)
        let first = core.startBlocking(), second = core.startBlocking()
        guard case .read = core.next(for: first) else { Issue.record("first caller should read"); return }
        #expect(core.next(for: second).isSleep)
        var effects = Effects()
        #expect(core.received(reply(second), by: first, effects: &effects) == nil)
        #expect(effects.wake == .all)
        core.woke()
        #expect(core.next(for: second).reply?.transactionID == second)
        // The first caller reads again and gets its own.
        #expect(core.read(reply(first), by: first).mine?.header.transactionID == first)
    }

    @Test("when the reader gets its own reply, one sleeper is woken to take over reading")
    func handOverReaderRole() {
        var core = Core(behaviour: .broker, maxThreads: 4)
        let first = core.startBlocking(), second = core.startBlocking()
        guard case .read = core.next(for: first) else { Issue.record("first caller should read"); return }
        #expect(core.next(for: second).isSleep)
        var effects = Effects()
        #expect(core.received(reply(first), by: first, effects: &effects)?.header.transactionID == first)
        #expect(effects.wake == .one)
        core.woke()
        #expect(core.next(for: second).isRead)
    }

    @Test("an async call's reply resumes its waiter with the parcel, or with the status it failed with")
    func asyncReplies() {
        var core = Core(behaviour: .broker, maxThreads: 4)
        let ok = core.startAsyncCall("ok")!, failing = core.startAsyncCall("failing")!
        let a = core.read(reply(ok))
        #expect(a.effects.resume?.0 == "ok")
        #expect((try? a.effects.resume?.1.get()) != nil)
        let b = core.read(reply(failing, status: .permissionDenied))
        #expect(b.effects.resume?.0 == "failing")
        #expect(throws: StatusCode.permissionDenied) { try b.effects.resume?.1.get() }
        #expect(core.isQuiescent)
    }

    @Test("a reply to a call nobody waits for any more is dropped")
    func unknownReply() {
        var core = Core(behaviour: .broker, maxThreads: 4)
        let id = core.startBlocking()
        core.abandon(id)  // its send failed
        let (mine, effects) = core.read(reply(id))
        #expect(mine == nil)
        #expect(effects.resume == nil && effects.wake == .none)
        #expect(core.next(for: nil).isRead)  // nothing was queued
    }

    @Test("the broker acknowledges one-way calls, so their callers wait; on a direct channel nothing does")
    func oneWayAcknowledgement() {
        var broker = Core(behaviour: .broker, maxThreads: 1)
        var channel = Core(behaviour: .directChannel, maxThreads: 1)
        guard case .success(let viaBroker) = broker.startCall(oneWay: true), case .success(let direct) = channel.startCall(oneWay: true) else {
            Issue.record("both connections are open")
            return
        }
        #expect(viaBroker.awaitsAnswer)
        #expect(!direct.awaitsAnswer)
        #expect(channel.isQuiescent)
        // A channel whose service hung up before answering: the one-way caller waits for the refusal.
        channel.waitAnyway(for: direct.id)
        #expect(!channel.isQuiescent)
    }
}
