import BinderWire
import Testing

@testable import BinderBrokerCore

/// Three connections, each serving one object as a service, each holding handles to the others.
private struct Triangle {
    let h = CoreHarness()
    let a: ConnectionID, b: ConnectionID, c: ConnectionID
    /// handle[x][y]: x's handle for y's object.
    var handle: [ConnectionID: [ConnectionID: UInt64]] = [:]
    let cookie: [ConnectionID: UInt64]

    init() throws {
        a = h.connect(1)
        b = h.connect(2)
        c = h.connect(3)
        cookie = [a: 0xA, b: 0xB, c: 0xC]
        for (id, name) in [(a, "a"), (b, "b"), (c, "c")] { _ = h.addService(name, from: id, cookie: cookie[id]!) }
        for x in [a, b, c] {
            for (y, name) in [(a, "a"), (b, "b"), (c, "c")] where x != y {
                handle[x, default: [:]][y] = try h.getService(name, from: x).id
            }
        }
    }

    /// `from` calls `to`'s object as transaction `txid`, naming `nestedIn`; returns the first frame
    /// the broker sent (the forward, or a refusal).
    func call(_ from: ConnectionID, _ to: ConnectionID, txid: UInt64, nestedIn: UInt64 = 0, flags: TransactionFlags = []) -> RecordingOutbox.Sent {
        let before = h.out.sent.count
        h.deliver(from: from, FrameHeader(command: .transaction, flags: flags, transactionID: txid, target: handle[from]![to]!, code: 1, nestedIn: nestedIn))
        return h.out.sent[before]
    }
}

@Suite("Nested calls in the broker core")
struct NestedCallCoreTests {
    @Test("a call back to a process waiting up the transaction stack names the call that process waits on, and needs no new thread there")
    func callBack() throws {
        let t = try Triangle()
        // a → b (a's 10); b, serving it, calls a: a's thread waiting on 10 must run it.
        let first = t.call(t.a, t.b, txid: 10)
        #expect(first.to == t.b && first.header.nestedIn == 0)
        let back = t.call(t.b, t.a, txid: 20, nestedIn: first.header.transactionID)
        #expect(back.to == t.a && back.header.target == 0xA)
        #expect(back.header.nestedIn == 10)
        // It runs on a thread that is already busy with a: it does not count as another busy thread.
        #expect(t.h.core.connections[t.a]!.flow.busy == 0 && t.h.core.connections[t.b]!.flow.busy == 1)

        // a, serving that call, calls b again: b's thread waiting on its 20 runs it (a → b → a → b).
        let again = t.call(t.a, t.b, txid: 11, nestedIn: back.header.transactionID)
        #expect(again.to == t.b && again.header.nestedIn == 20)
        // Replies unwind the stack and carry no nesting.
        t.h.deliver(from: t.b, FrameHeader(command: .reply, transactionID: again.header.transactionID))
        #expect(t.h.out.sent.last!.to == t.a && t.h.out.sent.last!.header.transactionID == 11 && t.h.out.sent.last!.header.nestedIn == 0)
    }

    @Test("through a third process: a → b → c → a reaches a's waiting thread; c itself is not in the stack")
    func throughThird() throws {
        let t = try Triangle()
        let ab = t.call(t.a, t.b, txid: 10)
        let bc = t.call(t.b, t.c, txid: 20, nestedIn: ab.header.transactionID)
        #expect(bc.to == t.c && bc.header.nestedIn == 0, "c waits on nothing: any of its threads")
        let ca = t.call(t.c, t.a, txid: 30, nestedIn: bc.header.transactionID)
        #expect(ca.to == t.a && ca.header.nestedIn == 10)
    }

    @Test("a call naming a transaction its sender is not serving is BAD_VALUE, reaches no one, and costs the callee nothing")
    func forged() throws {
        let t = try Triangle()
        let ab = t.call(t.a, t.b, txid: 10)
        let bufferBefore = t.h.core.connections[t.a]!.flow.bufferUsed
        // c claims to serve a's call to b, to get its call run on a's waiting thread.
        let forged = t.call(t.c, t.a, txid: 30, nestedIn: ab.header.transactionID)
        #expect(forged.to == t.c && forged.header.command == .reply && forged.header.transactionID == 30)
        #expect(forged.header.status == .badValue)
        #expect(t.h.core.status(now: t.h.now).pendingTransactions == 1)
        // Nothing was charged to a's incoming buffer for the refused call (it used to stay charged
        // for good, so that a process could fill another's buffer with refused calls).
        #expect(t.h.core.connections[t.a]!.flow.bufferUsed == bufferBefore)
    }

    @Test("a call naming a transaction that is over, and every one-way call, run on any thread")
    func notNested() throws {
        let t = try Triangle()
        let ab = t.call(t.a, t.b, txid: 10)
        t.h.deliver(from: t.b, FrameHeader(command: .reply, transactionID: ab.header.transactionID))
        let late = t.call(t.b, t.a, txid: 20, nestedIn: ab.header.transactionID)
        #expect(late.to == t.a && late.header.command == .transaction && late.header.nestedIn == 0)

        let ab2 = t.call(t.a, t.b, txid: 11)
        let oneWay = t.call(t.b, t.a, txid: 21, nestedIn: ab2.header.transactionID, flags: .oneWay)
        #expect(oneWay.to == t.a && oneWay.header.flags.contains(.oneWay) && oneWay.header.nestedIn == 0)
    }
}
