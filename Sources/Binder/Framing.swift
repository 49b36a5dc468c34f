import BinderPlatform
import BinderWire

/// How frames go over a SEQPACKET socket (WIRE.md §1, §3), for the broker connection, direct
/// channels and their handshakes alike: no connection state.
extension BinderConnection {
    /// Receives one frame that carries no fds and fits `body` (a handshake or a channel's
    /// acceptance). nil on end of file. Any fds that came anyway are closed.
    static func receiveControlFrame(fd: Int32, body: UnsafeMutableRawBufferPointer) throws -> FrameHeader? {
        try withUnsafeTemporaryAllocation(byteCount: FrameHeader.size, alignment: 16) { header in
            try withUnsafeTemporaryAllocation(of: Int32.self, capacity: 64) { fds in
                let r = try SeqPacket.receive(fd, header: header, body: body, fds: fds)
                for i in 0..<r.fdCount { FileDescriptor.close(fds[i]) }
                guard r.length > 0 else { return nil }
                guard r.length >= FrameHeader.size, !r.truncated else { throw StatusCode.badType }
                return try FrameHeader.decode(from: UnsafeRawBufferPointer(header), messageLength: r.length)
            }
        }
    }

    /// Room for the body of the largest frame this end accepts, uninitialised (the kernel fills it).
    static func makeBodyBuffer(maxFrameSize: UInt32) -> [UInt8] {
        let capacity = Int(maxFrameSize) - FrameHeader.size
        return [UInt8](unsafeUninitializedCapacity: capacity) { _, count in count = capacity }
    }

    /// Sends one frame: header, parcel bytes, object offsets and the parcel's fds as SCM_RIGHTS
    /// (one `sendmsg`, no copies). The parcel keeps its fds; the kernel gives the receiver its own.
    static func sendFrame(fd: Int32, header: FrameHeader, parcel: Parcel) throws(SystemError) {
        let header = header.describing(parcel)
        let empty = UnsafeRawBufferPointer(start: nil, count: 0)
        let result = withUnsafeTemporaryAllocation(byteCount: FrameHeader.size, alignment: 8) { h in
            header.encode(into: h.baseAddress!)
            return parcel.bytes.withUnsafeBytes { data in
                if parcel.objectOffsets.isEmpty && parcel.fileDescriptors.isEmpty {
                    return SeqPacket.sendReturningErrno(fd, UnsafeRawBufferPointer(h), data, empty)
                }
                let offsets = parcel.objectOffsets.map(\.littleEndian)
                let fds = parcel.fileDescriptors.map(\.fd)
                return offsets.withUnsafeBytes { o in
                    fds.withUnsafeBufferPointer { f in SeqPacket.sendReturningErrno(fd, UnsafeRawBufferPointer(h), data, o, fds: f) }
                }
            }
        }
        if result < 0 { throw SystemError("sendmsg", Int32(-result)) }
    }
}
