#if canImport(Glibc)
import Glibc
#endif
import CBinderShims
import Synchronization

/// The network stack through rtnetlink (an AF_NETLINK / NETLINK_ROUTE socket): interfaces,
/// addresses and routes of the network namespace the socket was created in.
///
/// Each call is one request and its whole reply: reads are one dump, changes wait for the
/// kernel's acknowledgement and throw `SystemError` with the kernel's errno when refused (its
/// extended-ACK text, if any, is in `call`). Calls from several threads are serialised.
/// The socket closes with `close()` or when the value is released.
public final class RouteNetlink: Sendable {
    private struct State {
        var fd: Int32
        var sequence: UInt32 = 0
        /// Larger than any datagram the kernel sends: dump skbs are at most 32 KiB plus overhead.
        var buffer = [UInt8](repeating: 0, count: 64 * 1024)
    }

    private let state: Mutex<State>
    /// This socket's netlink port id (the kernel's replies carry it).
    public let portID: UInt32

    /// A dump that the kernel marks interrupted (NLM_F_DUMP_INTR: the tables changed while it
    /// ran) is repeated, up to this many times in all.
    static let dumpAttempts = 5

    /// A socket in the calling thread's network namespace.
    public convenience init() throws(SystemError) {
        let (fd, port) = try Self.openSocket()
        self.init(fd: fd, portID: port)
    }

    /// A socket in the network namespace at `path` (/run/netns/NAME, /proc/PID/ns/net), made on a
    /// short-lived thread (`NetworkNamespace.run`); the calling thread stays where it is.
    public convenience init(networkNamespace path: String) throws(SystemError) {
        let (fd, port) = try NetworkNamespace.run(path: path) { () throws(SystemError) in try RouteNetlink.openSocket() }
        self.init(fd: fd, portID: port)
    }

    private init(fd: Int32, portID: UInt32) {
        state = Mutex(State(fd: fd))
        self.portID = portID
    }

    private static func openSocket() throws(SystemError) -> (Int32, UInt32) {
        var port: UInt32 = 0
        let fd = try checkNegErrno("socket AF_NETLINK NETLINK_ROUTE", cbinder_rtnetlink_socket(&port))
        return (fd, port)
    }

    deinit { close() }

    /// Closes the socket; later calls throw EBADF. Waits for a call in progress.
    public func close() {
        state.withLock { s in
            if s.fd >= 0 { FileDescriptor.close(s.fd) }
            s.fd = -1
        }
    }

    // MARK: Reads

    /// Every interface, with its statistics (RTM_GETLINK dump).
    public func interfaces() throws(SystemError) -> [NetInterface] {
        let messages = try perform(RouteMessages.dumpLinks())
        return try decode(RTM.getLink) { () throws(NetlinkError) in
            var links: [NetInterface] = []
            for m in messages where m.header.type == RTM.newLink { links.append(try RouteMessages.parseLink(m)) }
            return links
        }
    }

    /// The interface called `name`, or nil.
    public func interface(named name: String) throws(SystemError) -> NetInterface? {
        try interfaces().first { $0.name == name }
    }

    /// Addresses of one family, or of both when `family` is nil (RTM_GETADDR dump).
    public func addresses(family: IPFamily? = nil) throws(SystemError) -> [NetAddress] {
        let messages = try perform(RouteMessages.dumpAddresses(family: family))
        return try decode(RTM.getAddress) { () throws(NetlinkError) in
            var addresses: [NetAddress] = []
            for m in messages where m.header.type == RTM.newAddress {
                if let a = try RouteMessages.parseAddress(m), family == nil || a.family == family { addresses.append(a) }
            }
            return addresses
        }
    }

    /// Routes of one family (nil: both) in one table (nil: every table; default: main, what
    /// `ip route` shows) (RTM_GETROUTE dump).
    public func routes(family: IPFamily? = nil, table: RouteTable? = .main) throws(SystemError) -> [NetRoute] {
        let messages = try perform(RouteMessages.dumpRoutes(family: family))
        return try decode(RTM.getRoute) { () throws(NetlinkError) in
            var routes: [NetRoute] = []
            for m in messages where m.header.type == RTM.newRoute {
                guard let r = try RouteMessages.parseRoute(m) else { continue }
                if (family == nil || r.family == family) && (table == nil || r.table == table) { routes.append(r) }
            }
            return routes
        }
    }

    // MARK: Changes

    /// Adds `address`/`prefix` to the interface. EEXIST when it is there already, ENODEV for an
    /// unknown interface. Pass `.noDAD` to make an IPv6 address usable at once.
    public func addAddress(
        _ address: IPAddress, prefix: UInt8, interface: Int32, flags: AddressFlags = [], scope: RouteScope = .universe
    ) throws(SystemError) {
        try checkPrefix(prefix, address.family, RTM.newAddress)
        try change(RouteMessages.address(add: true, address, prefix: prefix, interface: interface, flags: flags, scope: scope))
    }

    /// Removes `address`/`prefix` from the interface. EADDRNOTAVAIL when it is not there.
    public func removeAddress(_ address: IPAddress, prefix: UInt8, interface: Int32) throws(SystemError) {
        try checkPrefix(prefix, address.family, RTM.deleteAddress)
        try change(RouteMessages.address(add: false, address, prefix: prefix, interface: interface))
    }

    /// Sets the interface's MTU. EINVAL outside the device's range, ENODEV for an unknown interface.
    public func setMTU(_ mtu: UInt32, interface: Int32) throws(SystemError) {
        try change(RouteMessages.setLink(interface: interface, mtu: mtu))
    }

    /// Brings the interface up or down (IFF_UP).
    public func setUp(_ up: Bool, interface: Int32) throws(SystemError) {
        try change(RouteMessages.setLink(interface: interface, flags: up ? NetInterface.flagUp : 0, change: NetInterface.flagUp))
    }

    /// Adds a unicast route to `destination`/`prefix` (prefix 0: the default route) through
    /// `gateway` and/or out of `interface`. Without a gateway an IPv4 route gets link scope, as
    /// `ip route add` gives it. EEXIST when the same route exists; ENETUNREACH when the gateway is
    /// not reachable; EINVAL when `destination` has bits set beyond `prefix` (IPv4).
    public func addRoute(
        destination: IPAddress, prefix: UInt8, gateway: IPAddress? = nil, interface: Int32? = nil,
        table: RouteTable = .main, metric: UInt32? = nil, protocol: RouteProtocol = .static
    ) throws(SystemError) {
        try checkRoute(destination, prefix, gateway, RTM.newRoute)
        let scope: RouteScope = gateway == nil && destination.family == .v4 ? .link : .universe
        try change(RouteMessages.route(
            add: true, destination: destination, prefix: prefix, gateway: gateway, interface: interface, table: table,
            protocol: `protocol`, scope: scope, type: .unicast, metric: metric))
    }

    /// Removes the route to `destination`/`prefix` in `table`; the gateway, interface and metric,
    /// when given, must match too. ESRCH when there is no such route.
    public func removeRoute(
        destination: IPAddress, prefix: UInt8, gateway: IPAddress? = nil, interface: Int32? = nil,
        table: RouteTable = .main, metric: UInt32? = nil
    ) throws(SystemError) {
        try checkRoute(destination, prefix, gateway, RTM.deleteRoute)
        try change(RouteMessages.route(
            add: false, destination: destination, prefix: prefix, gateway: gateway, interface: interface, table: table,
            protocol: .unspecified, scope: .nowhere, type: .unspecified, metric: metric))
    }

    // MARK: Requests

    private func checkPrefix(_ prefix: UInt8, _ family: IPFamily, _ type: UInt16) throws(SystemError) {
        if prefix > family.bitCount { throw SystemError("\(RTM.name(type)): prefix length \(prefix) for \(family)", EINVAL) }
    }

    private func checkRoute(_ destination: IPAddress, _ prefix: UInt8, _ gateway: IPAddress?, _ type: UInt16) throws(SystemError) {
        try checkPrefix(prefix, destination.family, type)
        if let gateway, gateway.family != destination.family {
            throw SystemError("\(RTM.name(type)): \(gateway.family) gateway for an \(destination.family) destination", EINVAL)
        }
    }

    private func change(_ request: NetlinkRequest) throws(SystemError) {
        _ = try perform(request)
    }

    private func decode<T>(_ type: UInt16, _ body: () throws(NetlinkError) -> T) throws(SystemError) -> T {
        do throws(NetlinkError) { return try body() } catch { throw Self.systemError(error, type) }
    }

    private static func systemError(_ error: NetlinkError, _ type: UInt16) -> SystemError {
        switch error {
        case .kernel(let errno, let message): SystemError("rtnetlink \(RTM.name(type))" + (message.map { " (\($0))" } ?? ""), errno)
        case .malformed: SystemError("rtnetlink \(RTM.name(type)) reply: \(error)", EBADMSG)
        }
    }

    /// Sends `request` and gathers its reply: the data messages of a dump, nothing for an ACK.
    private func perform(_ request: NetlinkRequest) throws(SystemError) -> [NetlinkMessage] {
        let name = RTM.name(request.type)
        return try state.withLock { (s) throws(SystemError) -> [NetlinkMessage] in
            guard s.fd >= 0 else { throw SystemError("\(name): RouteNetlink is closed", EBADF) }
            for _ in 0..<Self.dumpAttempts {
                s.sequence &+= 1
                if s.sequence == 0 { s.sequence = 1 }
                let bytes = request.encoded(sequence: s.sequence, portID: portID)
                let fd = s.fd
                let sent = bytes.withUnsafeBytes { cbinder_netlink_send(fd, $0.baseAddress, $0.count) }
                _ = try checkNegErrno("\(name): sendto", sent)
                var collector = NetlinkReplyCollector(sequence: s.sequence)
                var complete = false
                while !complete {
                    var sender: UInt32 = 0
                    let n = s.buffer.withUnsafeMutableBytes { cbinder_netlink_receive(fd, $0.baseAddress, $0.count, &sender) }
                    _ = try checkNegErrno("\(name): recvfrom", n)
                    if n > s.buffer.count { throw SystemError("\(name): reply of \(n) bytes truncated", EMSGSIZE) }
                    guard sender == 0 else { continue }  // only the kernel answers; ignore other processes
                    do throws(NetlinkError) {
                        complete = try collector.consume(Array(s.buffer[0..<n]))
                    } catch {
                        throw Self.systemError(error, request.type)
                    }
                }
                if !(request.isDump && collector.interrupted) { return collector.messages }
            }
            throw SystemError("\(name): dump interrupted by changes \(Self.dumpAttempts) times", EAGAIN)
        }
    }
}
