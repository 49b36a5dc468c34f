import BinderWire
import Testing

@testable import Binder

@Suite("Runtime core: nested calls")
struct NestedCallTests {
    @Test("A→B→A: a call back into this process from the call a thread waits on runs on that thread, never in the pool")
    func callBack() {
        var core = Core(behaviour: .broker, maxThreads: 2)
        let (cookie, _) = core.publishObject()
        let outgoing = core.startBlocking()
        guard case .read = core.next(for: outgoing) else { Issue.record("the caller should read"); return }
        #expect(core.next(for: nil).isSleep)  // a pool thread
        var effects = Effects()
        #expect(core.received(call(cookie, id: 70, nestedIn: outgoing), by: outgoing, effects: &effects) == nil)
        #expect(effects.wake == .all)
        core.woke()
        // The pool thread finds nothing to serve: it takes the reader role instead.
        #expect(core.next(for: nil).isRead)
        #expect(core.next(for: outgoing).nestedCall?.transactionID == 70)
    }

    @Test("A→B→A→B→A: a thread waiting on an inner call takes only the calls nested in it; one nested in its outer call waits until it waits there again")
    func deepStack() {
        var core = Core(behaviour: .broker, maxThreads: 1)
        let (cookie, _) = core.publishObject()
        let outer = core.startBlocking()
        _ = core.read(call(cookie, id: 70, nestedIn: outer), by: outer)
        #expect(core.next(for: outer).nestedCall?.transactionID == 70)
        // Serving call 70, the thread calls out again and waits on the inner call.
        let inner = core.startBlocking()
        _ = core.read(call(cookie, id: 71, nestedIn: outer), by: inner)
        _ = core.read(call(cookie, id: 72, nestedIn: inner), by: inner)
        #expect(core.next(for: inner).nestedCall?.transactionID == 72)
        #expect(core.read(reply(inner), by: inner).mine?.header.transactionID == inner)
        // Back in call 70's handler, then waiting on the outer call again: 71 runs now.
        #expect(core.next(for: outer).nestedCall?.transactionID == 71)
        #expect(core.read(reply(outer), by: outer).mine?.header.transactionID == outer)
    }

    @Test("A→B→C→A: the broker names A's waiting call in nestedIn, however many processes are between")
    func throughAThirdProcess() {
        // From A's side the call from C is nested in A's call to B, exactly as a call from B would be:
        // the broker walked the transaction stack (BinderBroker's NestedCallCoreTests).
        var core = Core(behaviour: .broker, maxThreads: 2)
        let (cookie, _) = core.publishObject()
        let toB = core.startBlocking()
        _ = core.read(call(cookie, id: 90, nestedIn: toB), by: toB)
        #expect(core.next(for: nil).served == nil)
        #expect(core.next(for: toB).nestedCall?.transactionID == 90)
    }

    @Test("a call nested in a call nobody waits for goes to the pool")
    func nestedInNothing() {
        var core = Core(behaviour: .broker, maxThreads: 2)
        let (cookie, _) = core.publishObject()
        _ = core.read(call(cookie, id: 70, nestedIn: 999))
        #expect(core.next(for: nil).served?.transactionID == 70)
    }

    @Test("calls still filed as nested in a call that got its reply go to the pool rather than wait for nobody")
    func leftOverNestedCalls() {
        var core = Core(behaviour: .broker, maxThreads: 2)
        let (cookie, _) = core.publishObject()
        let outgoing = core.startBlocking()
        // A pool thread reads while the caller sleeps.
        guard case .read = core.next(for: nil) else { Issue.record("the pool thread should read"); return }
        #expect(core.next(for: outgoing).isSleep)
        var effects = Effects()
        _ = core.received(call(cookie, id: 70, nestedIn: outgoing), by: nil, effects: &effects)
        #expect(core.next(for: nil).served == nil)  // not the pool's
        _ = core.received(reply(outgoing), by: nil, effects: &effects)
        core.woke()
        #expect(core.next(for: outgoing).reply?.transactionID == outgoing)  // the reply comes first
        #expect(core.next(for: nil).served?.transactionID == 70)
    }
}
