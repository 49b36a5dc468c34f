#if canImport(Glibc)
import Glibc
#endif
import CURing
import CBinderShims

/// The io_uring instance; this file is the only code that touches liburing.
///
/// Created with `SINGLE_ISSUER | DEFER_TASKRUN` (the best latency in probes on these machines), so every call
/// must come from the one thread that created it. Not `Sendable` on purpose.
public final class IOURing {
    private let ring: UnsafeMutablePointer<io_uring>
    /// Reused array the completion batch is peeked into.
    private let cqes: UnsafeMutablePointer<UnsafeMutablePointer<io_uring_cqe>?>
    private static let batch = 128
    private var timeout = __kernel_timespec()

    public init(entries: UInt32 = 1024) throws(SystemError) {
        ring = .allocate(capacity: 1)
        cqes = .allocate(capacity: IOURing.batch)
        var params = io_uring_params()
        params.flags = CURING_SETUP_SINGLE_ISSUER | CURING_SETUP_DEFER_TASKRUN
        params.cq_entries = entries * 4
        params.flags |= UInt32(IORING_SETUP_CQSIZE)
        let r = io_uring_queue_init_params(entries, ring, &params)
        if r < 0 {
            ring.deallocate()
            cqes.deallocate()
            throw SystemError("io_uring_queue_init_params", -r)
        }
    }

    deinit {
        io_uring_queue_exit(ring)
        ring.deallocate()
        cqes.deallocate()
    }

    /// A free submission entry; submits pending entries first when the queue is full.
    private func sqe() -> UnsafeMutablePointer<io_uring_sqe> {
        if let s = io_uring_get_sqe(ring) { return s }
        io_uring_submit(ring)
        guard let s = io_uring_get_sqe(ring) else { fatalError("io_uring submission queue stuck") }
        return s
    }

    /// Multishot accept: one completion per new connection until cancelled or failed.
    public func multishotAccept(fd: Int32, userData: UInt64) {
        let s = sqe()
        io_uring_prep_multishot_accept(s, fd, nil, nil, Int32(CBINDER_SOCK_CLOEXEC))
        io_uring_sqe_set_data64(s, userData)
    }

    /// Multishot recvmsg into buffers of `group`, laid out by `template` (which must outlive the request).
    public func multishotReceiveMessage(fd: Int32, template: ReceiveTemplate, group: UInt16, userData: UInt64) {
        let s = sqe()
        // Received fds are close-on-exec from the start.
        io_uring_prep_recvmsg_multishot(s, fd, template.header, UInt32(bitPattern: CURING_MSG_CMSG_CLOEXEC))
        s.pointee.flags |= CURING_IOSQE_BUFFER_SELECT
        s.pointee.buf_group = group
        io_uring_sqe_set_data64(s, userData)
    }

    /// Sends `length` bytes at `buffer`, which must stay valid until the completion.
    public func send(fd: Int32, buffer: UnsafeRawPointer, length: Int, userData: UInt64) {
        let s = sqe()
        io_uring_prep_send(s, fd, buffer, length, Int32(CBINDER_MSG_NOSIGNAL))
        io_uring_sqe_set_data64(s, userData)
    }

    /// Sends `message` (its bytes and SCM_RIGHTS fds), which must stay untouched until the completion.
    public func send(fd: Int32, message: OutgoingMessage, userData: UInt64) {
        let s = sqe()
        io_uring_prep_sendmsg(s, fd, message.header, UInt32(CBINDER_MSG_NOSIGNAL))
        io_uring_sqe_set_data64(s, userData)
    }

    /// Closes `fd` asynchronously, with the next submission (no system call of its own).
    public func close(fd: Int32, userData: UInt64) {
        let s = sqe()
        io_uring_prep_close(s, fd)
        io_uring_sqe_set_data64(s, userData)
    }

    /// Reads into `buffer` (valid until the completion).
    public func read(fd: Int32, buffer: UnsafeMutableRawPointer, length: Int, userData: UInt64) {
        let s = sqe()
        io_uring_prep_read(s, fd, buffer, UInt32(length), 0)
        io_uring_sqe_set_data64(s, userData)
    }

    /// One completion when `fd` becomes readable (a pidfd: when its process exits).
    public func pollReadable(fd: Int32, userData: UInt64) {
        let s = sqe()
        io_uring_prep_poll_add(s, fd, UInt32(POLLIN))
        io_uring_sqe_set_data64(s, userData)
    }

    /// Cancels every request on `fd`.
    public func cancel(fd: Int32, userData: UInt64) {
        let s = sqe()
        io_uring_prep_cancel_fd(s, fd, UInt32(IORING_ASYNC_CANCEL_ALL))
        io_uring_sqe_set_data64(s, userData)
    }

    /// Submits what is queued and waits for a completion, or until `timeoutNanos` passes.
    /// EINTR and ETIME are not errors here: the caller simply looks at the completions.
    public func submitAndWait(timeoutNanos: UInt64?) throws(SystemError) {
        var cqe: UnsafeMutablePointer<io_uring_cqe>? = nil
        let r: Int32
        if let timeoutNanos {
            timeout.tv_sec = Int64(timeoutNanos / 1_000_000_000)
            timeout.tv_nsec = Int64(timeoutNanos % 1_000_000_000)
            r = io_uring_submit_and_wait_timeout(ring, &cqe, 1, &timeout, nil)
        } else {
            r = io_uring_submit_and_wait(ring, 1)
        }
        if r < 0 && r != -EINTR && r != -ETIME && r != -EAGAIN && r != -EBUSY {
            throw SystemError("io_uring_submit_and_wait", -r)
        }
    }

    /// Calls `body(userData, result, flags)` for every completion that is ready, then consumes them.
    public func drainCompletions(_ body: (UInt64, Int32, UInt32) -> Void) {
        while true {
            let n = Int(io_uring_peek_batch_cqe(ring, cqes, UInt32(IOURing.batch)))
            if n == 0 { return }
            for i in 0..<n {
                let c = cqes[i]!.pointee
                body(c.user_data, c.res, c.flags)
            }
            io_uring_cq_advance(ring, UInt32(n))
        }
    }

    /// The provided-buffer id in a completion's flags, if the kernel picked one.
    public static func bufferID(flags: UInt32) -> UInt16? {
        flags & CURING_CQE_F_BUFFER != 0 ? UInt16(truncatingIfNeeded: flags >> CURING_CQE_BUFFER_SHIFT) : nil
    }

    /// Whether a multishot request stays armed after this completion.
    public static func hasMore(flags: UInt32) -> Bool { flags & CURING_CQE_F_MORE != 0 }

    fileprivate var raw: UnsafeMutablePointer<io_uring> { ring }
}

/// A provided-buffer ring: `count` buffers of `size` bytes the kernel picks from for multishot receives.
///
/// The kernel takes buffers from the ring in the order they were added (FIFO), so with every buffer
/// in the ring each frame would land in the buffer used `count` frames ago, long evicted from the
/// CPU caches. Measured here with 64 KiB frames, that cost the broker ~9 µs of kernel copy time per
/// round trip (128 buffers against 8). So only a few buffers sit in the ring at a time (enough for
/// the last burst of receives, at least `minimumPosted`), and returned buffers wait on a LIFO stack:
/// the one just freed, still hot, is the next one posted.
///
/// Registered with `io_uring_register_buf_ring` directly (liburing 2.3 has no `io_uring_setup_buf_ring`);
/// the ring memory must be page aligned.
public final class ProvidedBuffers {
    public let group: UInt16
    public let count: Int
    public let size: Int
    private let ringMemory: UnsafeMutableRawPointer
    private let bufRing: UnsafeMutablePointer<io_uring_buf_ring>
    private let storage: UnsafeMutableRawPointer
    private let mask: Int32
    private let ring: IOURing  // strong: the buffers must be unregistered before the ring goes
    /// Returned buffers not in the ring, most recently returned last.
    private var freeStack: [UInt16]
    /// Buffers in the ring that the kernel has not taken yet.
    private var posted = 0
    /// Buffers the kernel took since the last `replenish`.
    private var takenSinceReplenish = 0
    public static let minimumPosted = 8

    /// - Parameters: `count` must be a power of two, at most 32768.
    public init(ring: IOURing, group: UInt16, count: Int, size: Int) throws(SystemError) {
        precondition(count > 0 && count & (count - 1) == 0 && count <= 32768)
        self.ring = ring
        self.group = group
        self.count = count
        self.size = size
        let ringBytes = count * MemoryLayout<io_uring_buf>.stride
        var mem: UnsafeMutableRawPointer? = nil
        guard posix_memalign(&mem, 4096, ringBytes) == 0, let mem else { throw SystemError("posix_memalign", ENOMEM) }
        memset(mem, 0, ringBytes)
        ringMemory = mem
        bufRing = mem.assumingMemoryBound(to: io_uring_buf_ring.self)
        storage = .allocate(byteCount: count * size, alignment: 64)
        mask = Int32(count - 1)
        var reg = io_uring_buf_reg()
        reg.ring_addr = UInt64(UInt(bitPattern: mem))
        reg.ring_entries = UInt32(count)
        reg.bgid = group
        let r = io_uring_register_buf_ring(ring.raw, &reg, 0)
        if r < 0 {
            free(mem)
            storage.deallocate()
            throw SystemError("io_uring_register_buf_ring", -r)
        }
        io_uring_buf_ring_init(bufRing)
        self.freeStack = (0..<count).reversed().map { UInt16($0) }
        self.freeStack.reserveCapacity(count)
        replenish()
    }

    deinit {
        _ = io_uring_unregister_buf_ring(ring.raw, Int32(group))
        free(ringMemory)
        storage.deallocate()
    }

    /// The start of buffer `id`.
    public func buffer(_ id: UInt16) -> UnsafeMutableRawPointer { storage + Int(id) * size }

    /// Records that the kernel filled buffer `id` (a completion carried it).
    public func taken(_ id: UInt16) {
        posted -= 1
        takenSinceReplenish += 1
    }

    /// Gives buffer `id` back; it reaches the kernel at the next `replenish`.
    public func recycle(_ id: UInt16) { freeStack.append(id) }

    /// Tops the ring up, hottest buffers first, to twice the last burst of receives (at least
    /// `minimumPosted`). Call once per event-loop iteration, before submitting.
    public func replenish() {
        let want = min(count, max(Self.minimumPosted, 2 * takenSinceReplenish))
        takenSinceReplenish = 0
        var added: Int32 = 0
        while posted < want, let id = freeStack.popLast() {
            io_uring_buf_ring_add(bufRing, buffer(id), UInt32(size), id, mask, added)
            added += 1
            posted += 1
        }
        if added > 0 { io_uring_buf_ring_advance(bufRing, added) }
    }

    /// Whether a receive could find a buffer right now.
    public var hasPosted: Bool { posted > 0 }
}

/// A received multishot recvmsg buffer, split into its parts (`io_uring_recvmsg_out` header,
/// control data, payload) with liburing's helpers.
public struct ReceivedMessage {
    public var payload: UnsafeMutableRawBufferPointer
    /// The message's full length; larger than `payload.count` when truncated.
    public var fullLength: Int
    public var truncated: Bool
    public var controlTruncated: Bool

    /// Parses buffer `base` filled with `result` bytes. Returns nil when the buffer is malformed.
    public init?(base: UnsafeMutableRawPointer, result: Int32, template: ReceiveTemplate) {
        let msghdr = template.header
        guard let out = io_uring_recvmsg_validate(base, result, msghdr) else { return nil }
        let p = io_uring_recvmsg_payload(out, msghdr)!
        let len = Int(io_uring_recvmsg_payload_length(out, result, msghdr))
        payload = UnsafeMutableRawBufferPointer(start: p, count: len)
        fullLength = Int(out.pointee.payloadlen)
        truncated = out.pointee.flags & UInt32(CBINDER_MSG_TRUNC) != 0
        controlTruncated = out.pointee.flags & UInt32(CBINDER_MSG_CTRUNC) != 0
        fdBase = base
        header = msghdr
    }

    private let fdBase: UnsafeMutableRawPointer
    private let header: UnsafeMutablePointer<msghdr>

    /// Copies out SCM_RIGHTS fds (up to `fds.count`; any beyond are closed). Returns how many.
    public func takeFDs(into fds: UnsafeMutableBufferPointer<Int32>) -> Int {
        Int(curing_recvmsg_fds(fdBase.assumingMemoryBound(to: io_uring_recvmsg_out.self), header, fds.baseAddress, Int32(fds.count)))
    }

}

/// The msghdr template of a multishot recvmsg: its `msg_controllen` sizes the control area the
/// kernel puts in front of each payload in a provided buffer.
public final class ReceiveTemplate {
    let header: UnsafeMutablePointer<msghdr>

    /// Room for `maxFDs` fds of SCM_RIGHTS control data.
    public init(maxFDs: Int) {
        header = .allocate(capacity: 1)
        header.initialize(to: msghdr())
        header.pointee.msg_controllen = Int(curing_cmsg_space(UInt32(maxFDs * MemoryLayout<Int32>.size)))
    }
    deinit { header.deallocate() }

    /// Bytes each provided buffer needs in front of the payload: the `io_uring_recvmsg_out` header
    /// and the control area.
    public var overhead: Int { MemoryLayout<io_uring_recvmsg_out>.size + header.pointee.msg_controllen }
}

/// A message with SCM_RIGHTS fds for `IOURing.send(fd:message:)`: the msghdr, its iovec and the
/// control area, allocated once and reused. It owns the fds it carries until `takeFDs`.
public final class OutgoingMessage {
    let header: UnsafeMutablePointer<msghdr>
    private let iov: UnsafeMutablePointer<iovec>
    private let control: UnsafeMutableRawPointer
    private let fdStorage: UnsafeMutablePointer<Int32>
    public let maxFDs: Int
    public private(set) var fdCount = 0

    public init(maxFDs: Int) {
        self.maxFDs = maxFDs
        header = .allocate(capacity: 1)
        iov = .allocate(capacity: 1)
        control = .allocate(byteCount: Int(curing_cmsg_space(UInt32(maxFDs * MemoryLayout<Int32>.size))), alignment: 8)
        fdStorage = .allocate(capacity: maxFDs)
    }

    deinit {
        header.deallocate()
        iov.deallocate()
        control.deallocate()
        fdStorage.deallocate()
    }

    /// Describes `length` bytes at `buffer` (valid until the send completes) and the first
    /// `count` fds of `fds` (at most `maxFDs`), whose ownership passes to this message.
    public func prepare(buffer: UnsafeRawPointer, length: Int, fds: UnsafeBufferPointer<Int32>) {
        precondition(fds.count <= maxFDs)
        fdCount = fds.count
        if let base = fds.baseAddress { fdStorage.update(from: base, count: fds.count) }
        curing_fill_message(header, iov, buffer, length, control, fdStorage, Int32(fds.count))
    }

    /// Hands the fds back to the caller (to close) and forgets them.
    public func takeFDs(_ body: (Int32) -> Void) {
        for i in 0..<fdCount { body(fdStorage[i]) }
        fdCount = 0
    }
}

extension SystemError {
    /// `ENOBUFS`: a multishot receive found no provided buffer.
    public static let noBuffers: Int32 = ENOBUFS
}
