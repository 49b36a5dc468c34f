import BinderPlatform
import BinderWire
import Testing

@testable import Binder

/// The transport seam over a real socket pair and real shared memory (no broker, no root).
@Suite("Transports: the socket, and a direct channel's one switch onto its rings")
struct TransportTests {
    /// Two connected ends, each with a receiver as a connection has.
    struct Pair {
        let a, b: ChannelTransport
        let receiveA, receiveB: FrameReceiver
        init() throws {
            let (x, y) = try SeqPacket.pair()
            a = ChannelTransport(socket: SocketTransport(adopting: x))
            b = ChannelTransport(socket: SocketTransport(adopting: y))
            receiveA = FrameReceiver(transport: a, bodyBuffer: ControlFrames.makeBodyBuffer(maxFrameSize: 8192), maxFrameSize: 8192, maxFDs: 4)
            receiveB = FrameReceiver(transport: b, bodyBuffer: ControlFrames.makeBodyBuffer(maxFrameSize: 8192), maxFrameSize: 8192, maxFDs: 4)
        }
        /// The next frame at `r`, or nil if it is not a frame.
        func next(_ r: FrameReceiver) -> ReceivedFrame? {
            guard case .frame(let f) = r.receive(accepting: { _ in true }, refusingObjectsInReplies: false) else { return nil }
            return f
        }
    }

    static func call(_ n: Int32) -> (FrameHeader, Parcel) {
        var p = Parcel()
        p.write(n)
        return (FrameHeader(command: .transaction, transactionID: UInt64(n), target: 1, code: 1), p)
    }

    @Test("a frame with a parcel and an fd crosses the socket whole; the receiver gets its own fd")
    func socketFrame() throws {
        let pair = try Pair()
        var (header, parcel) = Self.call(7)
        let (r, w) = try SeqPacket.pair()
        defer { FileDescriptor.close(r); FileDescriptor.close(w) }
        parcel.attach(receivedFileDescriptors: [try ParcelFileDescriptor(duplicating: r)])
        header.fdCount = 1
        try pair.a.send(header, parcel)
        let got = try #require(pair.next(pair.receiveB))
        #expect(got.header.transactionID == 7)
        var data = got.parcel
        #expect(try data.read(Int32.self) == 7)
        #expect(got.parcel.fileDescriptors.count == 1)
        #expect(got.parcel.fileDescriptors.first?.fd != r)
    }

    @Test("after the switch every frame goes on the rings, the announcement is the last message on the socket, and a second switch is refused")
    func switchOntoRings() throws {
        let pair = try Pair()
        try pair.a.send(Self.call(1).0, Self.call(1).1)
        let size = ChannelRing.regionSize(maxFrameSize: 8192)
        let (memory, memfd) = try SharedMemory.create(name: "transport-test", size: size)
        defer { FileDescriptor.close(memfd) }
        let client = ChannelRing(memory: memory, socket: pair.a.socket.fd, serving: false, maxFrameSize: 8192, maxFDs: 4)
        let announced = pair.a.switchToRings(client) { socket in (try? socket.send(FrameHeader(command: .welcome), Parcel())) != nil }
        #expect(announced)
        try pair.a.send(Self.call(2).0, Self.call(2).1)
        // The peer reads the frame sent before the switch and the announcement on the socket...
        #expect(pair.next(pair.receiveB)?.header.transactionID == 1)
        #expect(pair.next(pair.receiveB)?.header.command == .welcome)
        guard case .empty = pair.receiveB.receive(accepting: { _ in true }, refusingObjectsInReplies: false, dontWait: true) else {
            Issue.record("nothing may follow the announcement on the socket")
            return
        }
        // ...then switches too, and reads the rest on the rings.
        let serving = ChannelRing(memory: try SharedMemory.adopt(fd: memfd, size: size), socket: pair.b.socket.fd, serving: true, maxFrameSize: 8192, maxFDs: 4)
        #expect(pair.b.switchToRings(serving))
        #expect(pair.next(pair.receiveB)?.header.transactionID == 2)
        #expect(pair.a.rings === client)
        #expect(!pair.a.switchToRings(client))
        // Replies come back on the rings too.
        try pair.b.send(FrameHeader(command: .reply, transactionID: 2), Parcel())
        #expect(pair.next(pair.receiveA)?.header.transactionID == 2)
    }

    @Test("a switch whose announcement cannot be sent does not happen: frames stay on the socket")
    func failedAnnouncement() throws {
        let pair = try Pair()
        let (memory, memfd) = try SharedMemory.create(name: "transport-test", size: ChannelRing.regionSize(maxFrameSize: 8192))
        defer { FileDescriptor.close(memfd) }
        let ring = ChannelRing(memory: memory, socket: pair.a.socket.fd, serving: false, maxFrameSize: 8192, maxFDs: 4)
        #expect(!pair.a.switchToRings(ring) { _ in false })
        #expect(pair.a.rings == nil)
        try pair.a.send(Self.call(3).0, Self.call(3).1)
        #expect(pair.next(pair.receiveB)?.header.transactionID == 3)
    }

    @Test("the peer's hang-up ends the receiver's socket; shutting down this end does too")
    func hangUp() throws {
        let pair = try Pair()
        pair.a.socket.shutdown()
        guard case .ended = pair.receiveB.receive(accepting: { _ in true }, refusingObjectsInReplies: false) else {
            Issue.record("the peer's receive should end")
            return
        }
        guard case .ended = pair.receiveA.receive(accepting: { _ in true }, refusingObjectsInReplies: false) else {
            Issue.record("this end's receive should end")
            return
        }
    }
}
