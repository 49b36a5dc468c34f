import BinderWire
import Testing

@testable import Binder

@Suite("Runtime core: one-way order and FREE batching")
struct OneWayAndFreeTests {
    @Test("one-way calls to one object run one at a time, in order, on a pool of three; calls to another object run beside them")
    func oneWayOrder() {
        var core = Core(behaviour: .broker, maxThreads: 3)
        let (x, _) = core.publishObject()
        let (y, _) = core.publishObject()
        let frames = [call(x, oneWay: true, code: 1), call(x, oneWay: true, code: 2), call(y, oneWay: true, code: 3), call(x, oneWay: true, code: 4)]
        core.deliver(frames)
        // Three pool threads ask for work: the first gets x's first call, the second y's (x's second
        // waits behind its first), the third finds nothing left.
        guard case .serve(let first, let xEntry) = core.next(for: nil) else { Issue.record("x's first call should be served"); return }
        #expect(first.header.code == 1)
        guard case .serve(let third, let yEntry) = core.next(for: nil) else { Issue.record("y's call should be served"); return }
        #expect(third.header.code == 3)
        #expect(core.next(for: nil).isRead)
        // The thread that ran x's first call runs the rest of x's, in order.
        var effects = Effects()
        #expect(core.finishedOneWay(first, on: xEntry, effects: &effects)?.header.code == 2)
        #expect(core.finishedOneWay(frames[1], on: xEntry, effects: &effects)?.header.code == 4)
        #expect(core.finishedOneWay(frames[3], on: xEntry, effects: &effects) == nil)
        #expect(core.finishedOneWay(third, on: yEntry, effects: &effects) == nil)
        // x is free again: its next one-way call is served at once.
        var next = Effects()
        _ = core.received(call(x, oneWay: true, code: 5), by: nil, effects: &next)
        #expect(core.next(for: nil).served?.code == 5)
    }

    @Test("two-way calls to one object may run concurrently")
    func twoWayConcurrent() {
        var core = Core(behaviour: .broker, maxThreads: 2)
        let (x, _) = core.publishObject()
        core.deliver([call(x, id: 10), call(x, id: 11)])
        #expect(core.next(for: nil).served?.transactionID == 10)
        #expect(core.next(for: nil).served?.transactionID == 11)
    }

    @Test("a finished one-way call is reported with FREE at once when the pool has nothing queued")
    func freeWhenIdle() {
        var core = Core(behaviour: .broker, maxThreads: 1)
        let (x, _) = core.publishObject()
        let frame = call(x, oneWay: true, dataLength: 100)
        _ = core.read(frame)
        guard case .serve(_, let entry) = core.next(for: nil) else { Issue.record("the call should be served"); return }
        var effects = Effects()
        _ = core.finishedOneWay(frame, on: entry, effects: &effects)
        #expect(effects.free == WorkQueues.FreeReport(calls: 1, bytes: UInt64(frame.header.frameLength)))
    }

    @Test("while calls are queued FREE is batched, and sent once 64 KiB are unreported")
    func freeBatching() {
        var core = Core(behaviour: .broker, maxThreads: 1)
        let (x, _) = core.publishObject()
        let frames = (0..<5).map { _ in call(x, oneWay: true, dataLength: 30_000) }
        core.deliver(frames)
        // One pool thread serves them all, as `BinderConnection.dispatch` does.
        var reports: [WorkQueues.FreeReport?] = []
        while case .serve(var frame, let entry) = core.next(for: nil) {
            while true {
                var effects = Effects()
                let next = core.finishedOneWay(frame, on: entry, effects: &effects)
                reports.append(effects.free)
                guard let next else { break }
                frame = next
            }
        }
        let length = UInt64(frames[0].header.frameLength)
        // 30 064 and 60 128 bytes stay unreported; the third call passes 64 KiB; the last two go
        // when the queue is empty.
        #expect(reports == [nil, nil, .init(calls: 3, bytes: 3 * length), nil, .init(calls: 2, bytes: 2 * length)])
    }

    @Test("a direct channel reports no FREE: no broker charged for its calls")
    func noFreeOnChannels() {
        var core = Core(behaviour: .directChannel, maxThreads: 1)
        let (x, _) = core.publishObject()
        let frame = call(x, oneWay: true)
        _ = core.read(frame)
        guard case .serve(_, let entry) = core.next(for: nil) else { Issue.record("the call should be served"); return }
        var effects = Effects()
        _ = core.finishedOneWay(frame, on: entry, effects: &effects)
        #expect(effects.free == nil)
        #expect(!effects.hasWorkAfterUnlock)
    }
}
