#if canImport(Glibc)
import Glibc
#endif
import CBinderShims
import SystemPackage

/// System calls on raw fds, through swift-system's `FileDescriptor` where it has them. Owning an fd
/// is `OwnedFileDescriptor`'s and `ParcelFileDescriptor`'s job (module `Binder`), or the code that
/// opened it; these helpers only act on fds. (Raw `Int32`s at this boundary: the fds come from
/// shims, io_uring completions and `SCM_RIGHTS` arrays as numbers.)
public enum FileDescriptor {
    /// Closes a raw fd this code owns.
    public static func close(_ fd: Int32) { try? SystemPackage.FileDescriptor(rawValue: fd).close() }

    /// Writes all of `bytes` to `fd` (blocking; interrupted writes are retried).
    public static func writeAll(_ fd: Int32, _ bytes: UnsafeRawBufferPointer) throws(SystemError) {
        do {
            try SystemPackage.FileDescriptor(rawValue: fd).writeAll(bytes)
        } catch let e as Errno {
            throw SystemError("write", e)
        } catch {
            throw SystemError("write", .ioError)
        }
    }

    /// A new close-on-exec fd for the same open file. Hand-written: swift-system's `duplicate()`
    /// is `dup(2)`, whose copy would leak into every process this one starts.
    public static func duplicate(_ fd: Int32) throws(SystemError) -> Int32 {
        try retrying("fcntl F_DUPFD_CLOEXEC") { fcntl(fd, F_DUPFD_CLOEXEC, 0) }
    }

    /// Makes the number `target` refer to `fd`'s open file (close-on-exec), closing what `target`
    /// referred to, in one atomic step (`dup3`): threads using the number `target` meet either the
    /// old file or the new one, never a closed or reused number. `fd` stays open.
    public static func replace(_ target: Int32, with fd: Int32) throws(SystemError) {
        _ = try retrying("dup3") { cbinder_dup3_cloexec(fd, target) }
    }

    /// How many fds a process (default: this one) has open: the entries of /proc/PID/fd, less,
    /// for this process, the one listing them. -1 when they cannot be read.
    public static func openCount(pid: Int32? = nil) -> Int {
        guard let names = FileSystem.listDirectory(pid.map { "/proc/\($0)/fd" } ?? "/proc/self/fd") else { return -1 }
        return pid == nil ? names.count - 1 : names.count
    }
}

/// The credentials the kernel recorded for a Unix-socket peer (`SO_PEERCRED`).
public struct PeerCredentials: Equatable, Sendable {
    public var pid: Int32
    public var uid: UInt32
    public var gid: UInt32
}

/// AF_UNIX SOCK_SEQPACKET helpers: the transport of both planes.
public enum SeqPacket {
    /// Binds and listens on a filesystem path (an existing socket file there is replaced), then
    /// gives the socket file `mode` when one is given.
    public static func listen(path: String, mode: UInt32? = nil, backlog: Int32 = 128) throws(SystemError) -> Int32 {
        let fd = try checkNegErrno("socket", cbinder_seqpacket_socket())
        do throws(SystemError) {
            _ = unlink(path)
            try withSockaddr(path) { (sa, len) throws(SystemError) in
                _ = try retrying("bind \(path)") { bind(fd, sa, len) }
            }
            _ = try retrying("listen") { Glibc.listen(fd, backlog) }
            if let mode { FileSystem.setMode(path, mode) }
            return fd
        } catch {
            _ = Glibc.close(fd)
            throw error
        }
    }

    /// Connects to a listening socket at `path`.
    public static func connect(path: String) throws(SystemError) -> Int32 {
        let fd = try checkNegErrno("socket", cbinder_seqpacket_socket())
        do throws(SystemError) {
            try withSockaddr(path) { (sa, len) throws(SystemError) in
                _ = try retrying("connect \(path)") { Glibc.connect(fd, sa, len) }
            }
            return fd
        } catch {
            _ = Glibc.close(fd)
            throw error
        }
    }

    private static func withSockaddr<R>(
        _ path: String, _ body: (UnsafePointer<sockaddr>, socklen_t) throws(SystemError) -> R
    ) throws(SystemError) -> R {
        var addr = sockaddr_un()
        addr.sun_family = sa_family_t(CBINDER_AF_UNIX)
        let utf8 = Array(path.utf8)
        let capacity = MemoryLayout.size(ofValue: addr.sun_path)
        guard utf8.count < capacity else { throw SystemError("socket path \(path)", ENAMETOOLONG) }
        withUnsafeMutableBytes(of: &addr.sun_path) { raw in
            raw.copyBytes(from: utf8)
            raw[utf8.count] = 0
        }
        let len = socklen_t(MemoryLayout<sa_family_t>.size + utf8.count + 1)
        var result: Result<R, SystemError>!
        withUnsafePointer(to: &addr) { p in
            p.withMemoryRebound(to: sockaddr.self, capacity: 1) { sa in
                do throws(SystemError) { result = .success(try body(sa, len)) } catch { result = .failure(error) }
            }
        }
        return try result.get()
    }

    /// A connected pair of SEQPACKET sockets, close-on-exec.
    public static func pair() throws(SystemError) -> (Int32, Int32) {
        var sv: [Int32] = [-1, -1]
        _ = try checkNegErrno("socketpair", cbinder_seqpacket_pair(&sv))
        return (sv[0], sv[1])
    }

    /// Sets SO_SNDBUF so that messages of `bytes` fit (capped by `net.core.wmem_max`). Only the
    /// send buffer matters on AF_UNIX datagram sockets: the kernel charges a queued message to its
    /// sender and bounds the receiver's queue by count (`net.unix.max_dgram_qlen`), never by
    /// SO_RCVBUF, so setting that would be a wasted system call per socket.
    public static func setSendBufferSize(_ fd: Int32, bytes: Int32) {
        var v = bytes
        _ = setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &v, socklen_t(MemoryLayout<Int32>.size))
    }

    /// Accepts one connection, close-on-exec.
    public static func accept(_ fd: Int32) throws(SystemError) -> Int32 {
        try checkNegErrno("accept4", cbinder_accept_cloexec(fd))
    }

    /// The peer's kernel credentials (`SO_PEERCRED`).
    public static func peerCredentials(_ fd: Int32) throws(SystemError) -> PeerCredentials {
        var pid: Int32 = 0
        var uid: UInt32 = 0
        var gid: UInt32 = 0
        _ = try checkNegErrno("getsockopt SO_PEERCRED", cbinder_peer_credentials(fd, &pid, &uid, &gid))
        return PeerCredentials(pid: pid, uid: uid, gid: gid)
    }

    /// A pidfd for the peer (`SO_PEERPIDFD`, Linux 6.5+), which stays valid if the pid is reused.
    public static func peerPIDFD(_ fd: Int32) throws(SystemError) -> Int32 {
        try checkNegErrno("getsockopt SO_PEERPIDFD", cbinder_peer_pidfd(fd))
    }

    /// Sends one message made of up to three parts (blocking). Returns the byte count or `-errno`
    /// rather than throwing, for use inside non-throwing buffer closures.
    public static func sendReturningErrno(
        _ fd: Int32, _ a: UnsafeRawBufferPointer, _ b: UnsafeRawBufferPointer, _ c: UnsafeRawBufferPointer,
        fds: UnsafeBufferPointer<Int32> = UnsafeBufferPointer(start: nil, count: 0)
    ) -> Int {
        cbinder_send3(fd, a.baseAddress, a.count, b.baseAddress, b.count, c.baseAddress, c.count, fds.baseAddress, Int32(fds.count), 0)
    }

    public struct Received: Sendable {
        public var length: Int
        public var truncated: Bool
        public var controlTruncated: Bool
        public var fdCount: Int

        public init(length: Int, truncated: Bool, controlTruncated: Bool, fdCount: Int) {
            self.length = length
            self.truncated = truncated
            self.controlTruncated = controlTruncated
            self.fdCount = fdCount
        }
    }

    /// Receives one message into `buffer`, and its fds into `fds`. Blocking unless `dontWait`
    /// (then `EAGAIN` when nothing is queued). Length 0 means the peer closed.
    public static func receive(
        _ fd: Int32, into buffer: UnsafeMutableRawBufferPointer, fds: UnsafeMutableBufferPointer<Int32>, dontWait: Bool = false
    ) throws(SystemError) -> Received {
        try receive(fd, header: buffer, body: UnsafeMutableRawBufferPointer(start: nil, count: 0), fds: fds, dontWait: dontWait)
    }

    /// Receives one message scattered over `header` (filled first) and `body`, and its fds into
    /// `fds`. Blocking unless `dontWait`. Length 0 means the peer closed.
    public static func receive(
        _ fd: Int32, header: UnsafeMutableRawBufferPointer, body: UnsafeMutableRawBufferPointer, fds: UnsafeMutableBufferPointer<Int32>,
        dontWait: Bool = false
    ) throws(SystemError) -> Received {
        var nfds: Int32 = 0
        var flags: Int32 = 0
        let n = cbinder_recv2_fds(
            fd, header.baseAddress, header.count, body.baseAddress, body.count, fds.baseAddress, Int32(fds.count), &nfds, &flags,
            dontWait ? 1 : 0)
        _ = try checkNegErrno("recvmsg", n)
        return Received(
            length: n, truncated: flags & Int32(CBINDER_MSG_TRUNC) != 0,
            controlTruncated: flags & Int32(CBINDER_MSG_CTRUNC) != 0, fdCount: Int(nfds))
    }

    /// Waits up to `timeoutMillis` (negative: indefinitely) for `fd` to become readable or hang up.
    /// - Returns: false on time-out.
    public static func waitReadable(_ fd: Int32, timeoutMillis: Int32) -> Bool {
        var p = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
        while true {
            let r = poll(&p, 1, timeoutMillis)
            if r >= 0 { return r == 1 }
            if errno != EINTR { return true }  // let the read that follows report the error
        }
    }

    /// Waits until `fd` is readable or hangs up, or the `monotonicNanos()` instant `deadline`.
    /// - Returns: false once the deadline passed with nothing to read.
    public static func waitReadable(_ fd: Int32, untilNanos deadline: UInt64) -> Bool {
        while true {
            let now = monotonicNanos()
            if now >= deadline { return false }
            // poll counts milliseconds: round up, so that it never returns before the deadline.
            let millis = Int32(clamping: (deadline - now + 999_999) / 1_000_000)
            var p = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
            let r = poll(&p, 1, millis)
            if r > 0 { return true }
            if r < 0 && errno != EINTR { return true }  // let the read that follows report the error
        }
    }

    public static func shutdown(_ fd: Int32) { _ = Glibc.shutdown(fd, Int32(CBINDER_SHUT_RDWR)) }
}
