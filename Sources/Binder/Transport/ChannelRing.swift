import Atomics
import BinderPlatform
import BinderWire
import Synchronization

/// How a direct channel's frames travel (WIRE.md §7.5.1): two byte rings in memory both processes
/// map, one per direction, with a futex word per ring for the reader to sleep on. The channel's
/// socket stays for what memory cannot carry: fds (`SCM_RIGHTS`, sent before the frame that
/// announces them) and hang-up (either end closing, or its process dying).
///
/// A frame costs its copies and, when the reader sleeps, one futex wake: no socket buffer is
/// allocated and no socket lock taken, which is what makes a channel's round trip cheaper than
/// a raw `SOCK_SEQPACKET` one. The peer can write anything into the region, so everything read
/// from it is checked (positions, lengths) after being copied out, and a bad value closes the channel.
final class ChannelRing: @unchecked Sendable {
    // @unchecked: the read position is the reader role's (one thread at a time, handed over under the
    // connection's lock); the write position is the one sender's (callers serialize); the rest is
    // set once or atomic.

    /// Bytes of the region before the rings: two control blocks of 128 bytes, then padding to a page.
    static let controlSize = 4096
    /// Control block offsets, per direction (0: client → service, at 0; 1: service → client, at 128).
    /// The writer's tail and the reader's bell share a cache line; the reader's head and the
    /// writer's bell another.
    private static let tailOffset = 0, dataBellOffset = 8, headOffset = 64, spaceBellOffset = 72
    /// Each record: u32 frame length, u32 zero, then the frame, padded to 8 bytes.
    static let recordHeaderSize = 8

    /// Bytes of one ring: a power of two that holds two of the largest frames.
    static func capacity(maxFrameSize: UInt32) -> Int {
        var c = 4096
        while c < 2 * (Int(maxFrameSize) + recordHeaderSize) { c <<= 1 }
        return c
    }

    /// Bytes of the whole region for a channel with this frame limit.
    static func regionSize(maxFrameSize: UInt32) -> Int { controlSize + 2 * capacity(maxFrameSize: maxFrameSize) }

    private let memory: SharedMemory
    /// The channel's socket (owned by the connection).
    let socket: Int32
    private let capacity: Int
    private let mask: UInt64
    private let maxFrameSize: Int
    private let maxFDs: Int
    /// The positions and bells live in memory both processes map, at addresses this end computes:
    /// swift-atomics' `UnsafeAtomic` is made for atomics at such addresses (the standard library's
    /// `Atomic` is for values Swift owns and places itself).
    private let inTail, inHead, outTail, outHead: UnsafeAtomic<UInt64>
    private let inDataBell, inSpaceBell, outDataBell, outSpaceBell: Bell
    private let inData, outData: UnsafeMutableRawPointer
    /// Where the next record to read starts (the reader role's).
    private var readPosition: UInt64 = 0
    /// Where the next record is written. Callers serialize `send` (`ChannelTransport.send` holds
    /// its `sending` lock), so this needs no lock of its own.
    private var writePosition: UInt64 = 0
    /// Set once the socket hung up: nothing more will be written to or read from the peer.
    private let hungUp = Atomic<Bool>(false)

    /// - Parameter serving: this end serves the channel's object (reads direction 0, writes 1).
    init(memory: SharedMemory, socket: Int32, serving: Bool, maxFrameSize: UInt32, maxFDs: UInt32) {
        precondition(memory.size >= Self.regionSize(maxFrameSize: maxFrameSize))
        self.memory = memory
        self.socket = socket
        capacity = Self.capacity(maxFrameSize: maxFrameSize)
        mask = UInt64(capacity - 1)
        self.maxFrameSize = Int(maxFrameSize)
        self.maxFDs = Int(maxFDs)
        let base = memory.base
        let inBlock = base + (serving ? 0 : 128), outBlock = base + (serving ? 128 : 0)
        // The region is zero-filled when made (a new memfd), and zero is a valid value of each word.
        func word64(_ p: UnsafeMutableRawPointer) -> UnsafeAtomic<UInt64> { UnsafeAtomic(at: p.bindMemory(to: UnsafeAtomic<UInt64>.Storage.self, capacity: 1)) }
        func word32(_ p: UnsafeMutableRawPointer) -> Bell { Bell(word: UnsafeAtomic(at: p.bindMemory(to: UnsafeAtomic<UInt32>.Storage.self, capacity: 1)), address: p) }
        inTail = word64(inBlock + Self.tailOffset)
        inHead = word64(inBlock + Self.headOffset)
        outTail = word64(outBlock + Self.tailOffset)
        outHead = word64(outBlock + Self.headOffset)
        inDataBell = word32(inBlock + Self.dataBellOffset)
        inSpaceBell = word32(inBlock + Self.spaceBellOffset)
        outDataBell = word32(outBlock + Self.dataBellOffset)
        outSpaceBell = word32(outBlock + Self.spaceBellOffset)
        inData = base + Self.controlSize + (serving ? 0 : capacity)
        outData = base + Self.controlSize + (serving ? capacity : 0)
    }

    // MARK: Hang-up

    /// Runs on a thread of its own for the channel's life: returns once the socket hangs up (either
    /// end closed, or a process died), after waking every thread that sleeps on this end's rings.
    func watchForHangUp() {
        SeqPacket.waitHangUp(socket)
        hungUp.store(true, ordering: .sequentiallyConsistent)
        inDataBell.word.store(0, ordering: .sequentiallyConsistent)
        Futex.wake(inDataBell.address)
        outSpaceBell.word.store(0, ordering: .sequentiallyConsistent)
        Futex.wake(outSpaceBell.address)
    }

    // MARK: Receiving

    /// Receives the next frame: its first 64 bytes into `header`, the rest into `body`, and the fds
    /// that came with it into `fds`; waits while the ring is empty. nil once the channel has hung up
    /// and every frame written before was read. A region the peer corrupted, or fds that do not match
    /// the frame, come back as a truncated frame (the caller closes the channel).
    /// - Parameter deadline: `monotonicNanos()` after which to give up and return nil although the
    ///   channel is open (`hasHungUp` tells which); none by default.
    func receive(
        header: UnsafeMutableRawBufferPointer, body: UnsafeMutableRawBufferPointer, fds: UnsafeMutableBufferPointer<Int32>,
        deadline: UInt64? = nil
    ) -> SeqPacket.Received? {
        while true {
            let tail = inTail.load(ordering: .acquiring)
            if tail != readPosition { return take(tail: tail, header: header, body: body, fds: fds) }
            if hungUp.load(ordering: .acquiring) { return nil }
            var timeout: Int64 = -1
            if let deadline {
                let now = monotonicNanos()
                if now >= deadline { return nil }
                timeout = Int64(deadline - now)
            }
            // Ring the bell before the last look, so a writer that publishes after the look sees it.
            inDataBell.word.store(1, ordering: .sequentiallyConsistent)
            if inTail.load(ordering: .sequentiallyConsistent) != readPosition || hungUp.load(ordering: .sequentiallyConsistent) {
                inDataBell.word.store(0, ordering: .relaxed)  // saves the writer a wake-up for nobody
                continue
            }
            Futex.wait(inDataBell.address, expected: 1, timeoutNanos: timeout)
        }
    }

    /// Whether the socket has hung up (this end or the peer closed, or the peer died).
    var hasHungUp: Bool { hungUp.load(ordering: .acquiring) }

    private static let broken = SeqPacket.Received(length: FrameHeader.size, truncated: true, controlTruncated: false, fdCount: 0)

    private func take(tail: UInt64, header: UnsafeMutableRawBufferPointer, body: UnsafeMutableRawBufferPointer, fds: UnsafeMutableBufferPointer<Int32>) -> SeqPacket.Received {
        let available = tail &- readPosition
        let start = readPosition
        let offset = Int(start & mask)
        guard available >= UInt64(Self.recordHeaderSize), available <= UInt64(capacity) else { return Self.broken }
        // Read once: the peer may change the bytes while this end looks at them.
        let length = Int(inData.load(fromByteOffset: offset, as: UInt32.self).littleEndian)
        let recordSize = Self.recordSize(length)
        guard length >= FrameHeader.size, length <= maxFrameSize, UInt64(recordSize) <= available, length - FrameHeader.size <= body.count else {
            return Self.broken
        }
        copyOut(start + UInt64(Self.recordHeaderSize), into: header.baseAddress!, count: FrameHeader.size)
        copyOut(start + UInt64(Self.recordHeaderSize + FrameHeader.size), into: body.baseAddress!, count: length - FrameHeader.size)
        readPosition = start + UInt64(recordSize)
        inHead.store(readPosition, ordering: .sequentiallyConsistent)
        Self.answer(inSpaceBell)
        // §3: fdCount is the u16 at header offset 32. Its fds came on the socket before the record.
        let fdCount = Int(UInt16(littleEndian: UnsafeRawPointer(header.baseAddress!).loadUnaligned(fromByteOffset: 32, as: UInt16.self)))
        if fdCount > 0 {
            guard receiveFDs(count: fdCount, position: start, into: fds) else { return Self.broken }
        }
        return SeqPacket.Received(length: length, truncated: false, controlTruncated: false, fdCount: fdCount)
    }

    /// Receives the socket message that carries a record's fds: its 8 bytes are the record's
    /// position. The sender sent it before the record, so it is queued already: this never waits.
    /// False (and every fd that came closed) unless it is that message with that many fds.
    private func receiveFDs(count: Int, position: UInt64, into fds: UnsafeMutableBufferPointer<Int32>) -> Bool {
        guard count <= maxFDs else { return false }
        var tag: UInt64 = 0
        let r = withUnsafeMutableBytes(of: &tag) { try? SeqPacket.receive(socket, into: $0, fds: fds, dontWait: true) }
        guard let r else { return false }
        if r.length == 8, !r.truncated, !r.controlTruncated, r.fdCount == count, count <= maxFDs, UInt64(littleEndian: tag) == position {
            return true
        }
        for i in 0..<r.fdCount { FileDescriptor.close(fds[i]) }
        return false
    }

    private func copyOut(_ position: UInt64, into destination: UnsafeMutableRawPointer, count: Int) {
        guard count > 0 else { return }
        let offset = Int(position & mask)
        let first = min(count, capacity - offset)
        destination.copyMemory(from: inData + offset, byteCount: first)
        if first < count { (destination + first).copyMemory(from: inData, byteCount: count - first) }
    }

    // MARK: Sending

    private static func recordSize(_ frameLength: Int) -> Int { recordHeaderSize + ((frameLength + 7) & ~7) }

    /// Writes one frame (its header already encoded in `header`) and wakes the reader if it sleeps;
    /// waits while the ring is too full. One caller at a time. `-errno` as the socket's send would return it: `EPIPE` once
    /// the channel has hung up (or the peer corrupted its read position), else the byte count.
    func send(header: UnsafeRawBufferPointer, data: UnsafeRawBufferPointer, offsets: UnsafeRawBufferPointer, fds: UnsafeBufferPointer<Int32>) -> Int {
        let length = header.count + data.count + offsets.count
        let recordSize = Self.recordSize(length)
        let position = writePosition
        while true {
            if hungUp.load(ordering: .acquiring) { return -Int(SystemError.brokenPipe) }
            let used = position &- outHead.load(ordering: .acquiring)
            guard used <= UInt64(capacity) else { return -Int(SystemError.brokenPipe) }
            if UInt64(capacity) - used >= UInt64(recordSize) { break }
            outSpaceBell.word.store(1, ordering: .sequentiallyConsistent)
            if position &- outHead.load(ordering: .sequentiallyConsistent) != used || hungUp.load(ordering: .sequentiallyConsistent) {
                continue
            }
            Futex.wait(outSpaceBell.address, expected: 1)
        }
        if !fds.isEmpty {
            var tag = position.littleEndian
            let sent = withUnsafeBytes(of: &tag) { t in
                SeqPacket.sendReturningErrno(socket, t, UnsafeRawBufferPointer(start: nil, count: 0), UnsafeRawBufferPointer(start: nil, count: 0), fds: fds)
            }
            if sent < 0 { return sent }
        }
        let offset = Int(position & mask)
        outData.storeBytes(of: UInt32(length).littleEndian, toByteOffset: offset, as: UInt32.self)
        outData.storeBytes(of: 0, toByteOffset: offset + 4, as: UInt32.self)
        let at = position + UInt64(Self.recordHeaderSize)
        copyIn(header, at: at)
        copyIn(data, at: at + UInt64(header.count))
        copyIn(offsets, at: at + UInt64(header.count + data.count))
        writePosition = position + UInt64(recordSize)
        outTail.store(writePosition, ordering: .sequentiallyConsistent)
        Self.answer(outDataBell)
        return length
    }

    /// After publishing a tail or a head: if the other side rang `bell` (it sleeps, or is about
    /// to), clears it and wakes it. The load first spares an atomic exchange when nobody rang.
    private static func answer(_ bell: Bell) {
        if bell.word.load(ordering: .sequentiallyConsistent) != 0 && bell.word.exchange(0, ordering: .sequentiallyConsistent) != 0 {
            Futex.wake(bell.address)
        }
    }

    private func copyIn(_ source: UnsafeRawBufferPointer, at position: UInt64) {
        guard source.count > 0 else { return }
        let offset = Int(position & mask)
        let first = min(source.count, capacity - offset)
        (outData + offset).copyMemory(from: source.baseAddress!, byteCount: first)
        if first < source.count { outData.copyMemory(from: source.baseAddress! + first, byteCount: source.count - first) }
    }
}

/// A 32-bit word of the shared region that one side sleeps on (a futex) and the other rings.
private struct Bell {
    let word: UnsafeAtomic<UInt32>
    let address: UnsafeMutableRawPointer
}
