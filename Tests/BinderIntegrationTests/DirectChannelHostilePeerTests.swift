@testable import Binder
import BinderPlatform
import BinderWire
import Synchronization
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// One end of a direct channel driven by hand, to write what the library never would: frames go
/// over the socket until the client's UPGRADE, then into and out of the shared rings raw
/// (WIRE.md §7.5.1).
final class RawChannelEnd: @unchecked Sendable {  // @unchecked: one test thread uses it at a time
    let end: ParcelFileDescriptor
    private let socket: RawClient
    private(set) var ring: ChannelRing? = nil
    private(set) var memory: SharedMemory? = nil
    private let serving: Bool
    private var header = [UInt8](repeating: 0, count: FrameHeader.size)
    private var body = [UInt8](repeating: 0, count: 256 * 1024)
    private static let maxFrameSize = Limits.defaultMaxFrameSize

    /// The client's end, after the service's acceptance (a WELCOME, read here) unless not
    /// `waitForAnswer`.
    init(clientEnd end: ParcelFileDescriptor, waitForAnswer: Bool = true) throws {
        self.end = end
        socket = RawClient(borrowing: end.fd)
        serving = false
        guard waitForAnswer else { return }
        guard waitReadable(end.fd), let (welcome, _) = try socket.receive(), welcome.command == .welcome else {
            throw TestFailure("the service did not accept")
        }
    }

    /// The service's end: accepts with a WELCOME.
    init(serviceEnd end: ParcelFileDescriptor) throws {
        self.end = end
        socket = RawClient(borrowing: end.fd)
        serving = true
        try socket.send(FrameHeader(command: .welcome))
    }

    deinit { SeqPacket.shutdown(end.fd) }  // ends the watcher; `end` closes the fd after it

    /// Client end: makes the rings' memory and sends the UPGRADE with it.
    func upgrade() throws {
        let (memory, memfd) = try SharedMemory.create(name: "test-channel", size: ChannelRing.regionSize(maxFrameSize: Self.maxFrameSize))
        defer { FileDescriptor.close(memfd) }
        try socket.send(FrameHeader(command: .welcome), fds: [memfd])
        use(memory)
    }

    private func use(_ memory: SharedMemory) {
        self.memory = memory
        let ring = ChannelRing(memory: memory, socket: end.fd, serving: serving, maxFrameSize: Self.maxFrameSize, maxFDs: Limits.defaultMaxFDs)
        self.ring = ring
        startThread { ring.watchForHangUp() }
    }

    func send(_ header: FrameHeader, _ parcel: Parcel = Parcel()) throws {
        guard ring != nil else { return try socket.send(header, parcel) }
        try sendRaw(parcel.frameBytes(header: header))
    }

    /// Writes `bytes` as one record, whatever they hold (on the socket before the upgrade).
    func sendRaw(_ bytes: [UInt8]) throws {
        guard let ring else { return try socket.sendRaw(bytes) }
        let empty = UnsafeRawBufferPointer(start: nil, count: 0)
        let n = bytes.withUnsafeBytes { ring.send(header: $0, data: empty, offsets: empty, fds: UnsafeBufferPointer(start: nil, count: 0)) }
        if n < 0 { throw SystemError("channel ring", Int32(-n)) }
    }

    /// The next frame; nil once the other end hung up. At a service's end, a client's UPGRADE is
    /// taken here and the frames after it come from the rings. Throws after 10 s with the channel
    /// open, or on a frame that does not decode.
    func receive() throws -> (FrameHeader, Parcel)? {
        guard let ring else {
            guard waitReadable(end.fd) else { throw TestFailure("nothing on the socket after 10 s") }
            guard let (h, p, fds) = try socket.receiveWithFDs() else { return nil }
            defer { for fd in fds { FileDescriptor.close(fd) } }
            if serving && h.command == .welcome && fds.count == 1 {
                use(try SharedMemory.adopt(fd: fds[0], size: ChannelRing.regionSize(maxFrameSize: Self.maxFrameSize)))
                return try receive()
            }
            return (h, p)
        }
        var fds = [Int32](repeating: -1, count: 64)
        let r = header.withUnsafeMutableBytes { h in
            body.withUnsafeMutableBytes { b in
                fds.withUnsafeMutableBufferPointer { ring.receive(header: h, body: b, fds: $0, deadline: monotonicNanos() + 10_000_000_000) }
            }
        }
        guard let r else {
            if ring.hasHungUp { return nil }
            throw TestFailure("nothing on the channel after 10 s")
        }
        for i in 0..<r.fdCount { FileDescriptor.close(fds[i]) }
        guard !r.truncated else { throw TestFailure("a record the ring refused") }
        let decoded = try header.withUnsafeBytes { try FrameHeader.decode(from: $0, messageLength: r.length) }
        return (decoded, Parcel(bytes: Array(body[0..<Int(decoded.dataLength)])))
    }

    /// Writes `value` over a u64 of the control block at `offset` (a ring position), as a peer
    /// that does not follow the protocol could, and rings the other end's bell.
    func corrupt(offset: Int, value: UInt64) {
        guard let memory else { return }
        memory.base.storeBytes(of: value, toByteOffset: offset, as: UInt64.self)
        Futex.wake(memory.base + offset + 8)
    }
}

@Suite("Direct channels against hostile peers, through a real binderd")
struct DirectChannelHostilePeerTests {
    @Test("a malformed frame (on the socket and on the rings), a bad UPGRADE, a record too long, fds announced but not sent and a corrupted ring position each close that channel only")
    func malformedFrame() throws {
        let broker = try TestBroker()
        let log = ChannelLog(expectClosed: 6)
        _ = try directEchoServer(broker, log: log)
        let client = try broker.connect()
        let routed = try #require(try client.serviceManager.getService("echo"))
        let good = try routed.openDirectChannel()
        let sm = client.serviceManager

        // Channel ends claimed by hand, so the test can write what the library never would.
        let offenders: [(String, (RawChannelEnd) throws -> Void)] = [
            ("a header that does not decode, on the socket", { try $0.sendRaw([UInt8](repeating: 0xEE, count: 80)) }),
            ("an UPGRADE whose fd is not sealed memory", { raw in
                let pipe = try Pipe()
                try RawClient(borrowing: raw.end.fd).send(FrameHeader(command: .welcome), fds: [pipe.read.fd])
            }),
            ("a header that does not decode, on the rings", { raw in
                try raw.upgrade()
                try raw.sendRaw([UInt8](repeating: 0xEE, count: 80))
            }),
            ("a record longer than the frame limit", { raw in
                try raw.upgrade()
                try raw.sendRaw([UInt8](repeating: 0, count: Int(Limits.defaultMaxFrameSize) + 8))
            }),
            ("a frame announcing an fd that never came on the socket", { raw in
                try raw.upgrade()
                var bytes = Parcel().frameBytes(header: FrameHeader(command: .transaction, transactionID: 1, code: 1))
                bytes[32] = 1  // fdCount
                try raw.sendRaw(bytes)
            }),
            // The client → service ring's tail (control block 0, offset 0) far past anything written.
            ("a tail beyond the ring", { raw in
                try raw.upgrade()
                raw.corrupt(offset: 0, value: 1 << 40)
            }),
        ]
        for (what, offend) in offenders {
            let (end, _) = try sm.claimChannel(try sm.requestChannel(to: routed))
            let raw = try RawChannelEnd(clientEnd: end)
            try offend(raw)
            #expect(try raw.receive() == nil, "the service hung up on the offender: \(what)")
        }
        #expect(log.closed.wait())
        #expect(log.requesters.count == 6)
        #expect(try good.transact(code: EchoService.Code.echo.rawValue, data: payload(12)).count == 12)
    }

    @Test("a hostile service: object entries in a reply fail the call with INVALID_OPERATION, a call from the service closes the channel, a malformed answer is BAD_TYPE")
    func hostileService() throws {
        let broker = try TestBroker()
        // The "service" answers channel requests by hand, writing raw frames on its end.
        let server = try broker.connect()
        let box = try RequestBox(listeningOn: server, expect: 3)  // one per channel this test opens
        try server.serviceManager.addService("hostile", EchoService())
        let client = try broker.connect()
        let routed = try #require(try client.serviceManager.getService("hostile"))

        /// Opens a channel on another thread while `answer` plays the service on its raw end.
        func open(_ n: Int, wait: Bool = false, answer: (ParcelFileDescriptor) throws -> Void) throws -> Result<BinderProxy, any Error> {
            let result = Mutex<Result<BinderProxy, any Error>?>(nil)
            let done = Latch()
            startThread {
                let r = Result<BinderProxy, any Error> { try routed.openDirectChannel(waitForAnswer: wait) }
                result.withLock { $0 = r }
                done.signal()
            }
            #expect(box.arrivals[n].wait(), "the listener was not told")
            let request = try #require(box.request(n))
            let (end, _) = try server.serviceManager.claimChannel(request.endName)
            try answer(end)
            #expect(done.wait())
            return try #require(result.withLock { $0 })
        }

        var raw: RawChannelEnd? = nil
        let direct = try open(0) { end in raw = try RawChannelEnd(serviceEnd: end) }.get()
        let service = try #require(raw)
        let replied = Latch()
        startThread {
            guard let (call, _) = try? service.receive() else { return }
            var reply = Parcel()
            reply.write(object: .handle(1))  // an entry no broker translated
            try? service.send(FrameHeader(command: .reply, transactionID: call.transactionID), reply)
            replied.signal()
        }
        #expect(throws: StatusCode.invalidOperation) { try direct.transact(code: EchoService.Code.echo.rawValue, data: payload(4)) }
        #expect(replied.wait())
        // The second call moves the channel onto the rings. A call from the service's end instead
        // of the reply is not part of the protocol: the client's reader hangs up when it meets it,
        // failing the call it was waiting for.
        let answered = Latch()
        startThread {
            guard let (call, _) = try? service.receive(), call.command == .transaction else { return }
            #expect(service.ring != nil, "the call came on the rings, after the client's UPGRADE")
            try? service.send(FrameHeader(command: .transaction, transactionID: 1, code: 1))
            answered.signal()
        }
        #expect(throws: StatusCode.deadObject) { try direct.transact(code: EchoService.Code.echo.rawValue, data: payload(4)) }
        #expect(answered.wait())
        #expect(try service.receive() == nil)
        #expect(throws: StatusCode.deadObject) { try direct.transact(code: EchoService.Code.echo.rawValue, data: payload(4)) }

        // An answer that is neither an acceptance nor a refusal: BAD_TYPE to a client that waits
        // for it; one that did not wait has its channel closed (DEAD_OBJECT).
        let badAnswer = FrameHeader(command: .reply, transactionID: 0, status: .ok)
        let bad = try open(1, wait: true) { end in try RawClient(adopting: end.detach()).send(badAnswer) }
        #expect(throws: StatusCode.badType) { try bad.get() }
        let unwaited = try open(2) { end in try RawClient(adopting: end.detach()).send(badAnswer) }.get()
        #expect(throws: StatusCode.deadObject) { try unwaited.transact(code: EchoService.Code.echo.rawValue, data: payload(4)) }
    }
}
