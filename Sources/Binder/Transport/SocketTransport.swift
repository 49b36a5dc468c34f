import BinderPlatform
import BinderWire
import Synchronization

/// Frames over a connected `SOCK_SEQPACKET` socket: one `sendmsg` per frame (header, parcel,
/// offsets, fds as `SCM_RIGHTS`; no copies), one `recvmsg` per frame. Owns the socket: it is closed
/// by `close()` or, at the latest, when the transport goes.
final class SocketTransport: FrameTransport {
    /// The socket's number, for the system calls on the hot path (no lock): valid until `close()`,
    /// which only runs once nothing sends or receives any more.
    let fd: Int32
    /// The socket's owner; taken out (and so closed) by `close()`, else closed with the transport.
    private let owner: Mutex<OwnedFileDescriptor?>

    /// Takes over `fd`, a connected socket.
    init(adopting fd: Int32) {
        self.fd = fd
        owner = Mutex(OwnedFileDescriptor(adopting: fd))
    }

    var socket: SocketTransport { self }

    /// Sends one frame on `fd` (a socket no transport owns yet: a handshake, a refusal).
    static func send(on fd: Int32, _ header: FrameHeader, _ parcel: Parcel) throws(SystemError) {
        let result = FrameParts.with(header, parcel) { h, data, offsets, fds in SeqPacket.sendReturningErrno(fd, h, data, offsets, fds: fds) }
        if result < 0 { throw SystemError("sendmsg", Int32(-result)) }
    }

    func send(_ header: FrameHeader, _ parcel: Parcel) throws(SystemError) { try Self.send(on: fd, header, parcel) }

    func receive(
        header: UnsafeMutableRawBufferPointer, body: UnsafeMutableRawBufferPointer, fds: UnsafeMutableBufferPointer<Int32>, dontWait: Bool,
        deadline: UInt64
    ) -> TransportReceive {
        // A call with a deadline polls first (one more system call, for those calls only).
        if deadline != 0 && !dontWait && !SeqPacket.waitReadable(fd, untilNanos: deadline) { return .timedOut }
        do throws(SystemError) {
            let r = try SeqPacket.receive(fd, header: header, body: body, fds: fds, dontWait: dontWait)
            return r.length > 0 ? .message(r) : .ended
        } catch where error.isReset {
            // The peer closed with messages of ours unread. The kernel reports that once, before
            // what the peer sent earlier (a refused channel's refusal), which is still queued.
            guard let r = try? SeqPacket.receive(fd, header: header, body: body, fds: fds, dontWait: true), r.length > 0 else { return .ended }
            return .message(r)
        } catch {
            return error.isWouldBlock ? .empty : .ended
        }
    }

    /// Shuts the socket down both ways: a thread blocked in `receive` returns `.ended`, and the peer
    /// sees the hang-up. The fd stays open until `close()` or the end of the transport.
    func shutdown() { SeqPacket.shutdown(fd) }

    /// Closes the socket now (once), when nothing uses it any more.
    func close() { _ = owner.withLock { $0.take() } }
}
