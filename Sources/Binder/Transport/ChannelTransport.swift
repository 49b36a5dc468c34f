import BinderPlatform
import BinderWire
import Synchronization

/// A direct channel's transport (WIRE.md §7.5, §7.5.1): its socket until the client's UPGRADE,
/// then the shared rings (`ChannelRing`), with the socket kept for fds and hang-up. The switch is
/// made here and only here (`switchToRings`); every frame is sent and received by whichever is
/// current.
final class ChannelTransport: FrameTransport, @unchecked Sendable {
    // @unchecked: `receiving` is the reader role's (one thread at a time, handed over under the
    // connection's lock); the rest is immutable or behind `sending`.

    let socket: SocketTransport
    /// The rings once switched to. Held while a frame is sent: it also serializes the ring's
    /// writers (`ChannelRing.send` needs that), and no frame goes over the socket after the UPGRADE.
    private let sending = Mutex<ChannelRing?>(nil)
    /// The rings as the reader sees them.
    private var receiving: ChannelRing?

    init(socket: SocketTransport) { self.socket = socket }

    /// The rings, once switched to.
    var rings: ChannelRing? { sending.withLock { $0 } }

    func send(_ header: FrameHeader, _ parcel: Parcel) throws(SystemError) {
        try sending.withLock { ring throws(SystemError) in
            guard let ring else { return try socket.send(header, parcel) }
            let result = FrameParts.with(header, parcel) { h, data, offsets, fds in ring.send(header: h, data: data, offsets: offsets, fds: fds) }
            if result < 0 { throw SystemError("channel ring", Int32(-result)) }
        }
    }

    func receive(
        header: UnsafeMutableRawBufferPointer, body: UnsafeMutableRawBufferPointer, fds: UnsafeMutableBufferPointer<Int32>, dontWait: Bool,
        deadline: UInt64
    ) -> TransportReceive {
        guard let ring = receiving else { return socket.receive(header: header, body: body, fds: fds, dontWait: dontWait, deadline: deadline) }
        guard let r = ring.receive(header: header, body: body, fds: fds, deadline: deadline == 0 ? nil : deadline) else {
            return deadline != 0 && !ring.hasHungUp ? .timedOut : .ended
        }
        return .message(r)
    }

    /// Moves both directions onto `ring`. `announce` (the client's UPGRADE, sent on the socket)
    /// goes out first, with no other frame between. Called by the reader (the serving end, which
    /// just read the UPGRADE) or while nobody reads (the client, quiescent).
    /// - Returns: false, and no switch, if the rings are current already or `announce` failed.
    func switchToRings(_ ring: ChannelRing, announce: (SocketTransport) -> Bool = { _ in true }) -> Bool {
        sending.withLock { current in
            guard current == nil, receiving == nil, announce(socket) else { return false }
            current = ring
            receiving = ring
            return true
        }
    }
}
