#if canImport(Glibc)
import Glibc
#endif
import CBinderShims
import Synchronization

/// A UDP or TCP socket over IPv4 or IPv6, close-on-exec, blocking (wait with `waitReadable`).
/// It closes with `close()` or when released; `takeFileDescriptor()` hands the fd over instead.
/// IPv6 sockets are IPv6-only (IPV6_V6ONLY): no IPv4-mapped addresses.
///
/// To make one in another network namespace, use `init(_:family:networkNamespace:)`: the socket
/// stays in that namespace whichever thread uses it.
public final class InetSocket: Sendable {
    public enum Kind: Sendable, Hashable {
        case udp, tcp
    }

    public let kind: Kind
    public let family: IPFamily
    private let descriptor: Atomic<Int32>

    /// The fd, or -1 once closed or taken.
    public var fileDescriptor: Int32 { descriptor.load(ordering: .acquiring) }

    /// A new socket in the calling thread's network namespace.
    public convenience init(_ kind: Kind, family: IPFamily) throws(SystemError) {
        self.init(adopting: try Self.openSocket(kind, family), kind: kind, family: family)
    }

    /// A new socket in the network namespace at `path` (/run/netns/NAME, /proc/PID/ns/net).
    public convenience init(_ kind: Kind, family: IPFamily, networkNamespace path: String) throws(SystemError) {
        let fd = try NetworkNamespace.run(path: path) { () throws(SystemError) in try InetSocket.openSocket(kind, family) }
        self.init(adopting: fd, kind: kind, family: family)
    }

    /// Takes ownership of an open socket fd.
    public init(adopting fd: Int32, kind: Kind, family: IPFamily) {
        descriptor = Atomic(fd)
        self.kind = kind
        self.family = family
    }

    private static func openSocket(_ kind: Kind, _ family: IPFamily) throws(SystemError) -> Int32 {
        let domain = Int32(family == .v4 ? CBINDER_AF_INET : CBINDER_AF_INET6)
        let type = Int32(kind == .udp ? CBINDER_SOCK_DGRAM : CBINDER_SOCK_STREAM)
        let fd = try checkNegErrno("socket \(family) \(kind)", cbinder_socket_cloexec(domain, type, 0))
        if family == .v6 {
            var on: Int32 = 1
            if setsockopt(fd, Int32(IPPROTO_IPV6), IPV6_V6ONLY, &on, socklen_t(MemoryLayout<Int32>.size)) != 0 {
                let e = errno
                FileDescriptor.close(fd)
                throw SystemError("setsockopt IPV6_V6ONLY", e)
            }
        }
        return fd
    }

    deinit { close() }

    /// Closes the socket (once; later calls fail with EBADF). Must not race a call in progress.
    public func close() {
        let fd = descriptor.exchange(-1, ordering: .acquiringAndReleasing)
        if fd >= 0 { FileDescriptor.close(fd) }
    }

    /// Gives the fd to the caller, who must close it; this socket is closed afterwards. -1 if it was.
    public func takeFileDescriptor() -> Int32 { descriptor.exchange(-1, ordering: .acquiringAndReleasing) }

    private func open(_ call: @autoclosure () -> String) throws(SystemError) -> Int32 {
        let fd = fileDescriptor
        if fd < 0 { throw SystemError(call(), EBADF) }
        return fd
    }

    /// SO_REUSEADDR.
    public func setReuseAddress(_ on: Bool) throws(SystemError) {
        let fd = try open("setsockopt SO_REUSEADDR")
        var v: Int32 = on ? 1 : 0
        _ = try retrying("setsockopt SO_REUSEADDR") { setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &v, socklen_t(MemoryLayout<Int32>.size)) }
    }

    /// Binds to `address` (port 0: the kernel picks one) and returns the address actually bound.
    @discardableResult
    public func bind(_ address: InetSocketAddress) throws(SystemError) -> InetSocketAddress {
        let fd = try open("bind \(address)")
        try checkFamily(address, "bind")
        _ = try retrying("bind \(address)") { address.withSockaddr { Glibc.bind(fd, $0, $1) } }
        return try localAddress()
    }

    /// The bound address (getsockname): the port the kernel picked after `bind` with port 0 or
    /// after the first send.
    public func localAddress() throws(SystemError) -> InetSocketAddress {
        let fd = try open("getsockname")
        return try InetSocketAddress.receiving("getsockname") { sa, len in getsockname(fd, sa, len) }
    }

    /// The connected peer (getpeername).
    public func remoteAddress() throws(SystemError) -> InetSocketAddress {
        let fd = try open("getpeername")
        return try InetSocketAddress.receiving("getpeername") { sa, len in getpeername(fd, sa, len) }
    }

    /// Connects (blocking for TCP; for UDP, fixes the destination and filters the sources).
    public func connect(_ address: InetSocketAddress) throws(SystemError) {
        let fd = try open("connect \(address)")
        try checkFamily(address, "connect")
        var interrupted = false
        while true {
            let r = address.withSockaddr { Glibc.connect(fd, $0, $1) }
            if r == 0 { return }
            let e = errno
            if e == EINTR {  // the connection goes on: wait for it, as a blocking connect would
                interrupted = true
                continue
            }
            if e == EISCONN && interrupted { return }  // it completed meanwhile
            if e == EALREADY || e == EINPROGRESS {
                var p = pollfd(fd: fd, events: Int16(POLLOUT), revents: 0)
                _ = try retrying("poll connect \(address)") { poll(&p, 1, -1) }
                var err: Int32 = 0
                var len = socklen_t(MemoryLayout<Int32>.size)
                _ = try retrying("getsockopt SO_ERROR") { getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) }
                if err != 0 { throw SystemError("connect \(address)", err) }
                return
            }
            throw SystemError("connect \(address)", e)
        }
    }

    /// TCP: listens for connections.
    public func listen(backlog: Int32 = 128) throws(SystemError) {
        let fd = try open("listen")
        _ = try retrying("listen") { Glibc.listen(fd, backlog) }
    }

    /// TCP: accepts one connection (blocking), close-on-exec.
    public func accept() throws(SystemError) -> (socket: InetSocket, peer: InetSocketAddress) {
        let fd = try open("accept4")
        let connection = InetSocket(adopting: try checkNegErrno("accept4", cbinder_accept_cloexec(fd)), kind: kind, family: family)
        return (connection, try connection.remoteAddress())
    }

    /// Sends on a connected socket; returns the bytes sent (all of a datagram; perhaps fewer for TCP).
    public func send(_ bytes: UnsafeRawBufferPointer) throws(SystemError) -> Int {
        let fd = try open("send")
        return try retrying("send") { Glibc.send(fd, bytes.baseAddress, bytes.count, Int32(CBINDER_MSG_NOSIGNAL)) }
    }

    public func send(_ bytes: [UInt8]) throws(SystemError) -> Int {
        // (Array's withUnsafeBytes rethrows untyped: carry the typed error out in a Result.)
        try bytes.withUnsafeBytes { raw in Result { () throws(SystemError) in try send(raw) } }.get()
    }

    /// Sends one datagram to `destination`; returns the bytes sent.
    public func sendTo(_ destination: InetSocketAddress, _ bytes: UnsafeRawBufferPointer) throws(SystemError) -> Int {
        let fd = try open("sendto \(destination)")
        try checkFamily(destination, "sendto")
        return try retrying("sendto \(destination)") {
            destination.withSockaddr { Glibc.sendto(fd, bytes.baseAddress, bytes.count, Int32(CBINDER_MSG_NOSIGNAL), $0, $1) }
        }
    }

    public func sendTo(_ destination: InetSocketAddress, _ bytes: [UInt8]) throws(SystemError) -> Int {
        try bytes.withUnsafeBytes { raw in Result { () throws(SystemError) in try sendTo(destination, raw) } }.get()
    }

    /// Receives into `buffer` (blocking); returns the length. 0 from TCP means the peer closed.
    public func receive(into buffer: UnsafeMutableRawBufferPointer) throws(SystemError) -> Int {
        let fd = try open("recv")
        return try retrying("recv") { Glibc.recv(fd, buffer.baseAddress, buffer.count, 0) }
    }

    /// Receives one datagram into `buffer` (blocking; a longer one is cut to fit) and its source.
    public func receiveFrom(into buffer: UnsafeMutableRawBufferPointer) throws(SystemError) -> (length: Int, source: InetSocketAddress) {
        let fd = try open("recvfrom")
        var length = 0
        let source = try InetSocketAddress.receiving("recvfrom") { sa, len in
            let n = Glibc.recvfrom(fd, buffer.baseAddress, buffer.count, 0, sa, len)
            length = n
            return n < 0 ? -1 : 0
        }
        return (length, source)
    }

    public func receiveFrom(into buffer: inout [UInt8]) throws(SystemError) -> (length: Int, source: InetSocketAddress) {
        try buffer.withUnsafeMutableBytes { raw in Result { () throws(SystemError) in try receiveFrom(into: raw) } }.get()
    }

    /// Waits up to `timeoutMillis` (negative: indefinitely) for data (or an error, or hang-up).
    /// - Returns: false on time-out.
    public func waitReadable(timeoutMillis: Int32) -> Bool {
        SeqPacket.waitReadable(fileDescriptor, timeoutMillis: timeoutMillis)
    }

    /// shutdown(SHUT_RDWR): wakes a blocked receive, which then returns 0.
    public func shutdown() { _ = Glibc.shutdown(fileDescriptor, Int32(CBINDER_SHUT_RDWR)) }

    private func checkFamily(_ address: InetSocketAddress, _ call: String) throws(SystemError) {
        if address.family != family { throw SystemError("\(call) \(address): an \(family) socket", EAFNOSUPPORT) }
    }
}

extension InetSocketAddress {
    /// Calls `body` with this address as a `sockaddr_in` or `sockaddr_in6`.
    func withSockaddr<R>(_ body: (UnsafePointer<sockaddr>, socklen_t) -> R) -> R {
        switch ip.family {
        case .v4:
            var sa = sockaddr_in()
            sa.sin_family = sa_family_t(CBINDER_AF_INET)
            sa.sin_port = port.bigEndian
            withUnsafeMutableBytes(of: &sa.sin_addr) { $0.copyBytes(from: ip.bytes) }
            return withUnsafePointer(to: &sa) { p in
                p.withMemoryRebound(to: sockaddr.self, capacity: 1) { body($0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
            }
        case .v6:
            var sa = sockaddr_in6()
            sa.sin6_family = sa_family_t(CBINDER_AF_INET6)
            sa.sin6_port = port.bigEndian
            sa.sin6_scope_id = scopeID
            withUnsafeMutableBytes(of: &sa.sin6_addr) { $0.copyBytes(from: ip.bytes) }
            return withUnsafePointer(to: &sa) { p in
                p.withMemoryRebound(to: sockaddr.self, capacity: 1) { body($0, socklen_t(MemoryLayout<sockaddr_in6>.size)) }
            }
        }
    }

    /// Runs a call that fills in a sockaddr (getsockname, recvfrom: 0 or -1 with errno) and
    /// decodes it. EAFNOSUPPORT for a family other than IPv4 and IPv6.
    static func receiving(
        _ call: String, _ body: (UnsafeMutablePointer<sockaddr>, UnsafeMutablePointer<socklen_t>) -> Int32
    ) throws(SystemError) -> InetSocketAddress {
        var storage = sockaddr_storage()
        var length = socklen_t(MemoryLayout<sockaddr_storage>.size)
        _ = try retrying(call) {
            length = socklen_t(MemoryLayout<sockaddr_storage>.size)
            return withUnsafeMutablePointer(to: &storage) { p in
                p.withMemoryRebound(to: sockaddr.self, capacity: 1) { body($0, &length) }
            }
        }
        // Unsafe: sockaddr_storage is large and aligned enough for either form; the family says which.
        return try withUnsafeBytes(of: &storage) { (raw) throws(SystemError) -> InetSocketAddress in
            let family = raw.load(as: sa_family_t.self)  // ss_family leads every sockaddr
            switch Int32(family) {
            case Int32(CBINDER_AF_INET):
                let sa = raw.load(as: sockaddr_in.self)
                let ip = withUnsafeBytes(of: sa.sin_addr) { IPAddress(bytes: Array($0))! }
                return InetSocketAddress(ip, port: UInt16(bigEndian: sa.sin_port))
            case Int32(CBINDER_AF_INET6):
                let sa = raw.load(as: sockaddr_in6.self)
                let ip = withUnsafeBytes(of: sa.sin6_addr) { IPAddress(bytes: Array($0))! }
                return InetSocketAddress(ip, port: UInt16(bigEndian: sa.sin6_port), scopeID: sa.sin6_scope_id)
            default:
                throw SystemError("\(call): address family \(family)", EAFNOSUPPORT)
            }
        }
    }
}
