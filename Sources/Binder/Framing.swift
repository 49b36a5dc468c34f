import BinderPlatform
import BinderWire

/// How frames go over a SEQPACKET socket (WIRE.md §1, §3), for the broker connection, direct
/// channels and their handshakes alike.
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
    /// (one `sendmsg`, no copies), or, on a direct channel, into its ring (ChannelRing.swift). The
    /// parcel keeps its fds; the kernel gives the receiver its own.
    static func sendFrame(fd: Int32, header: FrameHeader, parcel: Parcel, ring: ChannelRing? = nil) throws(SystemError) {
        let header = header.describing(parcel)
        let empty = UnsafeRawBufferPointer(start: nil, count: 0)
        func write(_ h: UnsafeRawBufferPointer, _ data: UnsafeRawBufferPointer, _ offsets: UnsafeRawBufferPointer, _ fds: UnsafeBufferPointer<Int32>) -> Int {
            if let ring { return ring.send(header: h, data: data, offsets: offsets, fds: fds) }
            return SeqPacket.sendReturningErrno(fd, h, data, offsets, fds: fds)
        }
        let result = withUnsafeTemporaryAllocation(byteCount: FrameHeader.size, alignment: 8) { h in
            header.encode(into: h.baseAddress!)
            return parcel.bytes.withUnsafeBytes { data in
                if parcel.objectOffsets.isEmpty && parcel.fileDescriptors.isEmpty {
                    return write(UnsafeRawBufferPointer(h), data, empty, UnsafeBufferPointer(start: nil, count: 0))
                }
                let offsets = parcel.objectOffsets.map(\.littleEndian)
                let fds = parcel.fileDescriptors.map(\.fd)
                return offsets.withUnsafeBytes { o in
                    fds.withUnsafeBufferPointer { f in write(UnsafeRawBufferPointer(h), data, o, f) }
                }
            }
        }
        if result < 0 { throw SystemError(ring == nil ? "sendmsg" : "channel ring", Int32(-result)) }
    }
}

/// Receives frames on one socket into buffers of its own. Only the thread holding a connection's
/// reader role uses it, so it needs no lock.
final class FrameReceiver {
    enum Outcome {
        case frame(ReceivedFrame)
        /// End of file, or the socket failed.
        case ended
        /// The peer sent what no correct broker or channel peer sends; its fds are closed.
        case broken
        /// Nothing was queued (`dontWait` only).
        case empty
    }

    private let fd: Int32
    /// A direct channel's rings, which carry its frames instead of the socket once installed.
    var ring: ChannelRing?
    private let maxFrameSize: UInt32
    private let maxFDs: UInt32
    private let headerBuffer = UnsafeMutableRawBufferPointer.allocate(byteCount: FrameHeader.size, alignment: 16)
    /// The kernel writes each frame's body (parcel data, then object offsets) straight into this
    /// array's storage. A large parcel takes the array itself (no copy) and a new one replaces it;
    /// a small one is copied out, which is cheaper than allocating.
    private var bodyBuffer: [UInt8]
    private let fds = UnsafeMutableBufferPointer<Int32>.allocate(capacity: 64)
    /// Parcels at least this large are handed the receive array instead of a copy.
    static let adoptThreshold = 16 * 1024

    init(fd: Int32, bodyBuffer: [UInt8], maxFrameSize: UInt32, maxFDs: UInt32) {
        self.fd = fd
        self.bodyBuffer = bodyBuffer
        self.maxFrameSize = maxFrameSize
        self.maxFDs = maxFDs
    }

    deinit {
        headerBuffer.deallocate()
        fds.deallocate()
    }

    /// Receives one frame whose command `accepting` allows.
    /// - Parameter refusingObjectsInReplies: a direct channel, where no broker translated object
    ///   entries: read as handles they would name whatever this process's broker handle table
    ///   holds, so such a reply becomes `INVALID_OPERATION` instead (WIRE.md §7.5).
    /// - Parameter dontWait: return `.empty` rather than wait (on the socket only).
    func receive(accepting: (Command) -> Bool, refusingObjectsInReplies: Bool, dontWait: Bool = false) -> Outcome {
        var empty = false
        let received = bodyBuffer.withUnsafeMutableBytes { body -> SeqPacket.Received? in
            if let ring { return ring.receive(header: headerBuffer, body: body, fds: fds) }
            do throws(SystemError) {
                return try SeqPacket.receive(fd, header: headerBuffer, body: body, fds: fds, dontWait: dontWait)
            } catch where error.isReset {
                // The peer closed with messages of ours unread. The kernel reports that once, before
                // what the peer sent earlier (a refused channel's refusal), which is still queued.
                return try? SeqPacket.receive(fd, header: headerBuffer, body: body, fds: fds, dontWait: true)
            } catch {
                empty = error.isWouldBlock
                return nil
            }
        }
        if empty { return .empty }
        guard let r = received, r.length > 0 else { return .ended }
        guard !r.truncated, !r.controlTruncated, r.fdCount <= Int(maxFDs),
            let header = try? FrameHeader.decode(from: UnsafeRawBufferPointer(headerBuffer), messageLength: r.length),
            Int(header.fdCount) == r.fdCount, accepting(header.command)
        else {
            for i in 0..<r.fdCount { FileDescriptor.close(fds[i]) }  // never leak what a broken peer sent
            return .broken
        }
        if refusingObjectsInReplies && header.command == .reply && header.objectCount > 0 {
            for i in 0..<r.fdCount { FileDescriptor.close(fds[i]) }
            return .frame(.init(header: FrameHeader(command: .reply, transactionID: header.transactionID, status: .invalidOperation), parcel: Parcel()))
        }
        let dataLength = Int(header.dataLength)
        var parcel = Parcel()
        if dataLength >= Self.adoptThreshold {
            let offsets = bodyBuffer.withUnsafeBytes { body in
                (0..<Int(header.objectCount)).map { UInt32(littleEndian: body.loadUnaligned(fromByteOffset: dataLength + 4 * $0, as: UInt32.self)) }
            }
            var bytes = bodyBuffer
            bodyBuffer = BinderConnection.makeBodyBuffer(maxFrameSize: maxFrameSize)
            bytes.removeLast(bytes.count - dataLength)  // uniquely referenced: no copy
            parcel = Parcel(bytes: bytes, objectOffsets: offsets)
        } else {
            bodyBuffer.withUnsafeBytes { body in
                parcel.replace(
                    with: UnsafeRawBufferPointer(rebasing: body[0..<dataLength]),
                    objectOffsets: UnsafeRawBufferPointer(rebasing: body[dataLength..<dataLength + 4 * Int(header.objectCount)]))
            }
        }
        if r.fdCount > 0 {
            parcel.attach(receivedFileDescriptors: (0..<r.fdCount).map { ParcelFileDescriptor(adopting: fds[$0]) })
        }
        return .frame(.init(header: header, parcel: parcel))
    }
}
