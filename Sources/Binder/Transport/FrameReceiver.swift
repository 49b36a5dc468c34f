import BinderPlatform
import BinderWire

/// Frames on a socket before any transport owns it: the handshake, a channel's answer.
enum ControlFrames {
    /// Receives one frame that carries no fds and fits `body` (a handshake or a channel's
    /// acceptance). nil on end of file. Any fds that came anyway are closed.
    static func receive(fd: Int32, body: UnsafeMutableRawBufferPointer) throws -> FrameHeader? {
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
}

/// Receives frames from a connection's transport into buffers of its own, checks them against the
/// negotiated limits and makes them `ReceivedFrame`s. Only the thread holding the connection's
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
        /// The deadline passed with nothing received.
        case timedOut
    }

    private let transport: any FrameTransport
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

    init(transport: any FrameTransport, bodyBuffer: [UInt8], maxFrameSize: UInt32, maxFDs: UInt32) {
        self.transport = transport
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
    /// - Parameter deadline: `monotonicNanos()` after which to return `.timedOut`; 0: none.
    func receive(accepting: (Command) -> Bool, refusingObjectsInReplies: Bool, dontWait: Bool = false, deadline: UInt64 = 0) -> Outcome {
        let received = bodyBuffer.withUnsafeMutableBytes { body in
            transport.receive(header: headerBuffer, body: body, fds: fds, dontWait: dontWait, deadline: deadline)
        }
        let r: SeqPacket.Received
        switch received {
        case .message(let message): r = message
        case .ended: return .ended
        case .empty: return .empty
        case .timedOut: return .timedOut
        }
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
            bodyBuffer = ControlFrames.makeBodyBuffer(maxFrameSize: maxFrameSize)
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
