import BinderPlatform
import BinderWire

/// How one connection's frames travel (WIRE.md §1, §3, §7.5.1): over a `SOCK_SEQPACKET` socket
/// (`SocketTransport`), or a direct channel's shared rings once it moved onto them
/// (`ChannelTransport`, which is also where that switch happens).
protocol FrameTransport: AnyObject, Sendable {
    /// The socket under the transport: what the broker stamped identity on, and what hangs up.
    var socket: SocketTransport { get }

    /// Sends one frame: header, parcel bytes, object offsets and the parcel's fds. Any thread may
    /// send; the transport serializes what must be. The parcel keeps its fds (the kernel gives the
    /// receiver its own).
    func send(_ header: FrameHeader, _ parcel: Parcel) throws(SystemError)

    /// Receives the next frame: its first 64 bytes into `header`, the rest into `body`, its fds into
    /// `fds`. Only the thread holding the connection's reader role calls this.
    /// - Parameter dontWait: return `.empty` rather than wait (on the socket only).
    /// - Parameter deadline: the `monotonicNanos()` instant after which to stop waiting and return
    ///   `.timedOut` (a call's deadline, WIRE.md §3.2); 0: wait as long as it takes.
    func receive(
        header: UnsafeMutableRawBufferPointer, body: UnsafeMutableRawBufferPointer, fds: UnsafeMutableBufferPointer<Int32>, dontWait: Bool,
        deadline: UInt64
    ) -> TransportReceive
}

/// What one receive got.
enum TransportReceive {
    case message(SeqPacket.Received)
    /// The peer closed, or the transport failed.
    case ended
    /// Nothing was queued (`dontWait` only).
    case empty
    /// The deadline passed with nothing received.
    case timedOut
}

/// A frame laid out for sending: the header encoded, the parcel's bytes, its object offsets in
/// little-endian order and its fds, as buffers that live for the duration of `body`.
enum FrameParts {
    static func with<R>(
        _ header: FrameHeader, _ parcel: Parcel,
        _ body: (UnsafeRawBufferPointer, UnsafeRawBufferPointer, UnsafeRawBufferPointer, UnsafeBufferPointer<Int32>) -> R
    ) -> R {
        let header = header.describing(parcel)
        return withUnsafeTemporaryAllocation(byteCount: FrameHeader.size, alignment: 8) { h in
            header.encode(into: h.baseAddress!)
            return parcel.bytes.withUnsafeBytes { data in
                if parcel.objectOffsets.isEmpty && parcel.fileDescriptors.isEmpty {
                    return body(UnsafeRawBufferPointer(h), data, UnsafeRawBufferPointer(start: nil, count: 0), UnsafeBufferPointer(start: nil, count: 0))
                }
                let offsets = parcel.objectOffsets.map(\.littleEndian)
                let fds = parcel.fileDescriptors.map(\.fd)
                return offsets.withUnsafeBytes { o in
                    fds.withUnsafeBufferPointer { f in body(UnsafeRawBufferPointer(h), data, o, f) }
                }
            }
        }
    }
}
