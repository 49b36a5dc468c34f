import BinderWire
import Testing

@testable import BinderBrokerCore

/// A service connection (cookie 1, "svc") that may run `maxThreads` pool threads and reports one,
/// and a client holding its handle.
private func setUp(_ h: CoreHarness, maxThreads: UInt32 = 4) throws -> (service: ConnectionID, client: ConnectionID, handle: UInt64) {
    let service = h.connect(1, maxThreads: maxThreads)
    let client = h.connect(2)
    _ = h.addService("svc", from: service, cookie: 1)
    h.deliver(from: service, FrameHeader(command: .threads, code: 1))
    return (service, client, try h.getService("svc", from: client).id)
}

private func payload(_ bytes: Int) -> Parcel {
    Parcel(bytes: [UInt8](repeating: 1, count: bytes))
}

@Suite("Thread pool and incoming buffer in the broker core")
struct PoolAndBufferCoreTests {
    @Test("while every thread is busy the broker asks for one more, one request per missing thread, up to the maximum")
    func spawnRequests() throws {
        let h = CoreHarness()
        let (service, client, handle) = try setUp(h, maxThreads: 3)
        func spawns() -> Int { h.out.sent.filter { $0.to == service && $0.header.command == .spawnThread }.count }
        // Call 1 takes the only thread: ask for a second.
        h.deliver(from: client, FrameHeader(command: .transaction, transactionID: 1, target: handle, code: 1))
        #expect(spawns() == 1)
        // Call 2 before the answer: the promised thread is busy too, ask for a third.
        h.deliver(from: client, FrameHeader(command: .transaction, transactionID: 2, target: handle, code: 1))
        #expect(spawns() == 2)
        // Call 3: three threads promised, the maximum.
        h.deliver(from: client, FrameHeader(command: .transaction, transactionID: 3, target: handle, code: 1))
        #expect(spawns() == 2)
        h.deliver(from: service, FrameHeader(command: .threads, code: 2))
        h.deliver(from: service, FrameHeader(command: .threads, code: 3))
        var row = h.core.status(now: h.now).connections.first { $0.id == service.raw }!
        #expect(row.threads == 3 && row.maxThreads == 3 && row.busy == 3)
        #expect(h.core.connections[service]!.flow.spawnsRequested == 0)

        // Answers free threads.
        let forwarded = h.out.sent.filter { $0.to == service && $0.header.command == .transaction }
        for f in forwarded { h.deliver(from: service, FrameHeader(command: .reply, transactionID: f.header.transactionID)) }
        row = h.core.status(now: h.now).connections.first { $0.id == service.raw }!
        #expect(row.busy == 0)

        // A process that asked for no threads (maxThreads 0) is never asked.
        let other = h.connect(3)
        _ = h.addService("plain", from: other, cookie: 1)
        let plain = try h.getService("plain", from: client).id
        h.deliver(from: client, FrameHeader(command: .transaction, transactionID: 9, target: plain, code: 1))
        #expect(!h.out.sent.contains { $0.to == other && $0.header.command == .spawnThread })
    }

    @Test("two-way calls fill a process's incoming buffer until FAILED_TRANSACTION; answers and a caller's exit free it")
    func twoWayBuffer() throws {
        let h = CoreHarness(incomingBuffer: 16384)
        let (service, client, handle) = try setUp(h)
        let frame = 64 + 4000
        var accepted: [UInt64] = []
        for txid in UInt64(1)...5 {
            let before = h.out.sent.count
            h.deliver(from: client, FrameHeader(command: .transaction, transactionID: txid, target: handle, code: 1), payload(4000))
            let first = h.out.sent[before]
            if first.to == service { accepted.append(first.header.transactionID) } else {
                #expect(first.to == client && first.header.status == .failedTransaction && first.header.transactionID == txid)
            }
        }
        #expect(accepted.count == 16384 / frame)
        #expect(h.core.connections[service]!.flow.bufferUsed == UInt32(accepted.count * frame))
        #expect(h.core.status(now: h.now).bufferRefusals == 1)
        // One answer makes room for one more call.
        h.deliver(from: service, FrameHeader(command: .reply, transactionID: accepted.removeFirst()))
        let before = h.out.sent.count
        h.deliver(from: client, FrameHeader(command: .transaction, transactionID: 6, target: handle, code: 1), payload(4000))
        #expect(h.out.sent[before].to == service && h.out.sent[before].header.command == .transaction)
        // The caller leaves: its calls no longer count against the service.
        h.core.connectionClosed(client, out: &h.out)
        #expect(h.core.connections[service]!.flow.bufferUsed == 0 && h.core.connections[service]!.flow.busy == 0)
    }

    @Test("one-way calls may fill half the buffer; FREE gives it back; freeing more than delivered disconnects; the broker's own notices are counted too")
    func oneWayBuffer() throws {
        let h = CoreHarness(incomingBuffer: 16384)
        let (service, client, handle) = try setUp(h)
        let frame = 64 + 2000
        var acks: [StatusCode] = []
        for txid in UInt64(1)...5 {
            h.deliver(from: client, FrameHeader(command: .transaction, flags: .oneWay, transactionID: txid, target: handle, code: 1), payload(2000))
            let ack = h.out.sent.last!
            #expect(ack.to == client && ack.header.command == .reply && ack.header.transactionID == txid)
            acks.append(ack.header.status)
        }
        #expect(acks == [.ok, .ok, .ok, .failedTransaction, .failedTransaction])  // 3 × 2064 ≤ 8192 < 4 × 2064
        // The other half still takes two-way calls.
        h.deliver(from: client, FrameHeader(command: .transaction, transactionID: 10, target: handle, code: 1), payload(4000))
        #expect(h.out.sent.contains { $0.to == service && $0.header.command == .transaction && $0.header.flags.isEmpty })

        h.deliver(from: service, FrameHeader(command: .free, target: UInt64(2 * frame), code: 2))
        #expect(h.core.connections[service]!.flow.oneWayBufferUsed == UInt32(frame) && h.core.connections[service]!.flow.oneWayInFlight == 1)
        h.deliver(from: client, FrameHeader(command: .transaction, flags: .oneWay, transactionID: 11, target: handle, code: 1), payload(2000))
        #expect(h.out.sent.last!.header.status == .ok)

        // A death notice the broker sends is charged like a one-way call (and freed the same way).
        let watcher = h.connect(4, maxThreads: 1)
        let watched = try h.getService("svc", from: watcher)
        _ = h.callServiceManager(from: watcher, .linkToDeath) { p in
            p.write(object: watched)
            p.write(object: .local(7))
            p.write(UInt64(1))
        }
        h.core.connectionClosed(service, out: &h.out)
        let notice = try #require(h.out.sent.last { $0.to == watcher && $0.header.command == .transaction })
        #expect(h.core.connections[watcher]!.flow.oneWayBufferUsed == UInt32(notice.header.frameLength))

        // Freeing more than was delivered is a protocol error.
        h.deliver(from: watcher, FrameHeader(command: .free, target: UInt64(notice.header.frameLength) + 4, code: 1))
        #expect(h.out.disconnects.contains { $0.0 == watcher })
    }
}
