import Binder
import BinderPlatform
import BinderWire
import Logging
import Synchronization

/// How `netd` runs.
public struct NetdOptions: Sendable {
    /// UDP ports netd receives inbound datagrams on (IPv4, all addresses of the host).
    public var inboundPorts: [UInt16] = []
    /// Child containers that may change the network configuration (the root always may).
    public var changesAllowed: Set<UInt32> = []
    /// Traffic records kept (the newest).
    public var maxRecords = 4096
    public init() {}
}

/// netd, the network system service (`Protocols/binder/net/INetd.aidl`): it reads and changes the
/// network stack of the namespace it runs in through rtnetlink, makes sockets there for callers in
/// child containers, sends datagrams for them and routes inbound datagrams to containers. Register
/// it with `addExportedService("netd", netd)`; the broker loads its proxy into each container on
/// first use and tells it (`onContainerProxy`).
public final class Netd: BinderObject {
    private let stub: INetd.Stub
    private let service: NetdImplementation

    /// - Parameter connection: the broker connection netd is served on (it asks the broker which
    ///   container is in the foreground).
    public init(options: NetdOptions, connection: BinderConnection, logger: Logger) throws(SystemError) {
        service = try NetdImplementation(options: options, connection: connection, logger: logger)
        stub = INetd.Stub(service)
    }

    public func onTransact(code: UInt32, data: inout Parcel, reply: inout Parcel, context: TransactionContext) throws {
        try stub.onTransact(code: code, data: &data, reply: &reply, context: context)
    }

    public func onContainerProxy(_ container: UInt32, loaded: Bool) {
        service.proxy(in: container, loaded: loaded)
    }

    /// Starts receiving on the inbound ports (one thread each); returns the bound addresses.
    public func startReceiving() throws(SystemError) -> [InetSocketAddress] { try service.startReceiving() }

    /// Stops receiving and closes the sockets.
    public func stop() { service.stop() }
}

final class NetdImplementation: INetd.Interface, @unchecked Sendable {
    // @unchecked: `netlink` and `connection` are thread-safe; everything mutable is in `state`.
    private struct State {
        var listeners: [UInt32: INetListener.Proxy] = [:]
        var inboundRoutes: [String: InboundRoute] = [:]
        var counters: [UInt32: TrafficCounters] = [:]
        var records: [TrafficRecord] = []
        var loaded: Set<UInt32> = []
        var receivers: [InetSocket] = []
        var stopped = false
    }

    private let options: NetdOptions
    private let netlink: RouteNetlink
    private let connection: BinderConnection
    private let logger: Logger
    private let state = Mutex(State())
    private let started = monotonicNanos()

    init(options: NetdOptions, connection: BinderConnection, logger: Logger) throws(SystemError) {
        self.options = options
        self.connection = connection
        self.logger = logger
        netlink = try RouteNetlink()
    }

    /// The caller's container, as the broker stamped it.
    private var callerContainer: UInt32 { TransactionContext.current?.caller.container ?? 0 }

    // MARK: Reads

    func getInterfaces() throws -> [InterfaceInfo] {
        let links = try kernel { () throws(SystemError) in try netlink.interfaces() }
        let addresses = try kernel { () throws(SystemError) in try netlink.addresses() }
        return links.map { link in
            var info = InterfaceInfo()
            info.index = link.index
            info.name = link.name
            info.flags = Int32(bitPattern: link.flags)
            info.up = link.isUp
            info.running = link.isRunning
            info.loopback = link.isLoopback
            info.mtu = Int32(clamping: link.mtu)
            info.mac = link.macAddressString
            info.addresses = addresses.filter { $0.interfaceIndex == link.index }.map { a in
                var address = AddressInfo()
                address.address = a.address.description
                address.prefixLength = Int32(a.prefixLength)
                address.family = a.address.family == .v4 ? 4 : 6
                address.scope = a.scope.description
                return address
            }
            let s = link.stats
            (info.rxPackets, info.txPackets, info.rxBytes, info.txBytes) = (Int64(clamping: s.rxPackets), Int64(clamping: s.txPackets), Int64(clamping: s.rxBytes), Int64(clamping: s.txBytes))
            (info.rxErrors, info.txErrors, info.rxDropped, info.txDropped) = (Int64(clamping: s.rxErrors), Int64(clamping: s.txErrors), Int64(clamping: s.rxDropped), Int64(clamping: s.txDropped))
            return info
        }
    }

    func getRoutes() throws -> [RouteInfo] {
        let names = Dictionary(uniqueKeysWithValues: try kernel { () throws(SystemError) in try netlink.interfaces() }.map { ($0.index, $0.name) })
        return try kernel { () throws(SystemError) in try netlink.routes(family: nil, table: .main) }.map { r in
            var info = RouteInfo()
            info.destination = r.isDefault ? "default" : r.destination.description
            info.prefixLength = Int32(r.prefixLength)
            info.gateway = r.gateway?.description
            info.interfaceName = r.interfaceIndex.flatMap { names[$0] }
            info.metric = r.priority.map { Int32(clamping: $0) } ?? -1
            info.protocol = r.protocol.description
            info.scope = r.scope.description
            info.family = r.family == .v4 ? 4 : 6
            return info
        }
    }

    // MARK: Changes

    func addAddress(interfaceName: String, address: String, prefixLength: Int32) throws {
        let (index, ip, prefix) = try changeTarget(interfaceName, address, prefixLength)
        try kernel { () throws(SystemError) in try netlink.addAddress(ip, prefix: prefix, interface: index, flags: ip.family == .v6 ? .noDAD : []) }
        logChange("add address \(address)/\(prefixLength) on \(interfaceName)")
    }

    func removeAddress(interfaceName: String, address: String, prefixLength: Int32) throws {
        let (index, ip, prefix) = try changeTarget(interfaceName, address, prefixLength)
        try kernel { () throws(SystemError) in try netlink.removeAddress(ip, prefix: prefix, interface: index) }
        logChange("remove address \(address)/\(prefixLength) from \(interfaceName)")
    }

    func setMtu(interfaceName: String, mtu: Int32) throws {
        try mayChange()
        let index = try interfaceIndex(interfaceName)
        guard mtu >= 68 else { throw ServiceError(.illegalArgument, "MTU \(mtu) is below the minimum of 68") }
        try kernel { () throws(SystemError) in try netlink.setMTU(UInt32(mtu), interface: index) }
        logChange("set MTU of \(interfaceName) to \(mtu)")
    }

    func setInterfaceUp(interfaceName: String, up: Bool) throws {
        try mayChange()
        let index = try interfaceIndex(interfaceName)
        try kernel { () throws(SystemError) in try netlink.setUp(up, interface: index) }
        logChange("set \(interfaceName) \(up ? "up" : "down")")
    }

    func addRoute(destination: String, prefixLength: Int32, gateway: String?, interfaceName: String?) throws {
        let route = try routeTarget(destination, prefixLength, gateway, interfaceName)
        try kernel { () throws(SystemError) in
            try netlink.addRoute(destination: route.destination, prefix: route.prefix, gateway: route.gateway, interface: route.index)
        }
        logChange("add route \(destination)/\(prefixLength)")
    }

    func removeRoute(destination: String, prefixLength: Int32, gateway: String?, interfaceName: String?) throws {
        let route = try routeTarget(destination, prefixLength, gateway, interfaceName)
        try kernel { () throws(SystemError) in
            try netlink.removeRoute(destination: route.destination, prefix: route.prefix, gateway: route.gateway, interface: route.index)
        }
        logChange("remove route \(destination)/\(prefixLength)")
    }

    private func mayChange() throws {
        let container = callerContainer
        guard container == 0 || options.changesAllowed.contains(container) else {
            throw ServiceError(.security, "container \(container) may not change the network configuration (netd --allow-changes)")
        }
    }

    private func changeTarget(_ name: String, _ address: String, _ prefixLength: Int32) throws -> (Int32, IPAddress, UInt8) {
        try mayChange()
        let index = try interfaceIndex(name)
        let ip = try parseAddress(address)
        guard prefixLength >= 0, prefixLength <= (ip.family == .v4 ? 32 : 128) else {
            throw ServiceError(.illegalArgument, "prefix length \(prefixLength) is out of range for \(address)")
        }
        return (index, ip, UInt8(prefixLength))
    }

    private func routeTarget(_ destination: String, _ prefixLength: Int32, _ gateway: String?, _ name: String?) throws
        -> (destination: IPAddress, prefix: UInt8, gateway: IPAddress?, index: Int32?)
    {
        try mayChange()
        let gatewayIP = try gateway.map(parseAddress)
        let ip = destination == "default" ? IPAddress.any(gatewayIP?.family ?? .v4) : try parseAddress(destination)
        guard prefixLength >= 0, prefixLength <= (ip.family == .v4 ? 32 : 128) else {
            throw ServiceError(.illegalArgument, "prefix length \(prefixLength) is out of range for \(destination)")
        }
        guard gatewayIP != nil || name != nil else { throw ServiceError(.illegalArgument, "a route needs a gateway or an interface") }
        return (ip, UInt8(prefixLength), gatewayIP, try name.map(interfaceIndex))
    }

    private func interfaceIndex(_ name: String) throws -> Int32 {
        guard let link = try kernel({ () throws(SystemError) in try netlink.interface(named: name) }) else {
            throw ServiceError(.illegalArgument, "no interface '\(name)'")
        }
        return link.index
    }

    private func logChange(_ what: String) {
        logger.info("network changed", metadata: ["change": "\(what)", "container": "\(callerContainer)"])
    }

    // MARK: Sending

    func openSocket(protocol: Int32, family: Int32, destination: String?, port: Int32) throws -> ParcelFileDescriptor {
        let kind: InetSocket.Kind
        switch `protocol` {
        case 17: kind = .udp
        case 6: kind = .tcp
        default: throw ServiceError(.illegalArgument, "protocol \(`protocol`): use 17 (UDP) or 6 (TCP)")
        }
        let ipFamily = try parseFamily(family)
        let socket = try kernel { () throws(SystemError) in try InetSocket(kind, family: ipFamily) }
        let container = callerContainer
        if let destination {
            let target = InetSocketAddress(try parseAddress(destination), port: try parsePort(port))
            guard target.ip.family == ipFamily else { throw ServiceError(.illegalArgument, "\(destination) is not an IPv\(family) address") }
            try kernel { () throws(SystemError) in try socket.connect(target) }
            let local = try kernel { () throws(SystemError) in try socket.localAddress() }
            record(container, kind: kind, what: "connect", source: local, destination: target, length: 0) { $0.connections += 1 }
        } else {
            record(container, kind: kind, what: "socket", source: nil, destination: nil, length: 0) { $0.socketsOpened += 1 }
        }
        return ParcelFileDescriptor(adopting: socket.takeFileDescriptor())
    }

    func sendDatagram(destination: String, port: Int32, payload: [UInt8]) throws -> Int32 {
        let target = InetSocketAddress(try parseAddress(destination), port: try parsePort(port))
        // One socket per datagram, connected first: getsockname then names the real source address
        // the kernel picked, which the record keeps.
        let socket = try kernel { () throws(SystemError) in try InetSocket(.udp, family: target.ip.family) }
        defer { socket.close() }
        try kernel { () throws(SystemError) in try socket.connect(target) }
        let local = try kernel { () throws(SystemError) in try socket.localAddress() }
        let sent = try kernel { () throws(SystemError) in try socket.send(payload) }
        record(callerContainer, kind: .udp, what: "datagram", source: local, destination: target, length: sent) {
            $0.datagramsSent += 1
            $0.bytesSent += Int64(sent)
        }
        return Int32(sent)
    }

    private func record(
        _ container: UInt32, kind: InetSocket.Kind, what: String, source: InetSocketAddress?, destination: InetSocketAddress?, length: Int,
        _ count: (inout TrafficCounters) -> Void
    ) {
        var r = TrafficRecord()
        r.timeMillis = Int64((monotonicNanos() - started) / 1_000_000)
        r.container = Int32(bitPattern: container)
        r.protocol = kind == .udp ? "udp" : "tcp"
        r.kind = what
        r.source = source?.description ?? ""
        r.destination = destination?.description ?? ""
        r.length = Int32(clamping: length)
        state.withLock { s in
            var c = s.counters[container] ?? Self.counters(container)
            count(&c)
            s.counters[container] = c
            s.records.append(r)
            if s.records.count > options.maxRecords { s.records.removeFirst(s.records.count - options.maxRecords) }
        }
        logger.debug("traffic", metadata: [
            "container": "\(container)", "protocol": "\(r.protocol)", "kind": "\(what)", "source": "\(r.source)",
            "destination": "\(r.destination)", "length": "\(length)",
        ])
    }

    private static func counters(_ container: UInt32) -> TrafficCounters {
        var c = TrafficCounters()
        c.container = Int32(bitPattern: container)
        return c
    }

    // MARK: Receiving and the inbound routing table

    func registerListener(listener: any INetListener.Interface) throws {
        guard let proxy = listener as? INetListener.Proxy else {
            throw ServiceError(.illegalArgument, "the listener must be an object of another process")
        }
        let container = callerContainer
        state.withLock { $0.listeners[container] = proxy }
        logger.info("listener registered", metadata: ["container": "\(container)"])
    }

    func unregisterListener() throws {
        let container = callerContainer
        _ = state.withLock { $0.listeners.removeValue(forKey: container) }
    }

    func addInboundRoute(remoteAddress: String, container: Int32, once: Bool) throws {
        let ip = try parseAddress(remoteAddress)
        let caller = callerContainer
        guard container >= 0, caller == 0 || UInt32(container) == caller else {
            throw ServiceError(.security, "container \(caller) may add inbound routes to itself only")
        }
        var route = InboundRoute()
        route.remoteAddress = ip.description
        route.container = container
        route.once = once
        state.withLock { $0.inboundRoutes[ip.description] = route }
    }

    func removeInboundRoute(remoteAddress: String) throws {
        let ip = try parseAddress(remoteAddress)
        let caller = callerContainer
        try state.withLock { s throws in
            guard let route = s.inboundRoutes[ip.description] else {
                throw ServiceError(.illegalArgument, "no inbound route for \(remoteAddress)")
            }
            guard caller == 0 || UInt32(bitPattern: route.container) == caller else {
                throw ServiceError(.security, "container \(caller) may remove its own inbound routes only")
            }
            s.inboundRoutes.removeValue(forKey: ip.description)
        }
    }

    func listInboundRoutes() throws -> [InboundRoute] {
        state.withLock { $0.inboundRoutes.values.sorted { $0.remoteAddress < $1.remoteAddress } }
    }

    func getCounters() throws -> [TrafficCounters] {
        let caller = callerContainer
        return state.withLock { s in
            let all = s.counters.values.sorted { $0.container < $1.container }
            return caller == 0 ? all : [s.counters[caller] ?? Self.counters(caller)]
        }
    }

    func getTraffic(max: Int32) throws -> [TrafficRecord] {
        let caller = callerContainer
        return state.withLock { s in
            let mine = caller == 0 ? s.records : s.records.filter { UInt32(bitPattern: $0.container) == caller }
            return Array(mine.suffix(Int(Swift.max(0, max))))
        }
    }

    func loadedContainers() throws -> [Int32] {
        state.withLock { $0.loaded.sorted().map { Int32(bitPattern: $0) } }
    }

    func inboundPorts() throws -> [Int32] { options.inboundPorts.map { Int32($0) } }

    /// The broker loaded or unloaded netd's proxy in `container`. On unloading, the container's
    /// listener is told and dropped, unless a new proxy is loaded there already: the notice is
    /// one-way, so a new app's `registerListener` (two-way) may have run before it.
    func proxy(in container: UInt32, loaded: Bool) {
        let reloaded = !loaded && ((try? connection.serviceManager.status())?.proxies.contains { $0.container == container } ?? false)
        let listener: INetListener.Proxy? = state.withLock { s in
            if loaded || reloaded {
                s.loaded.insert(container)
                return nil
            }
            s.loaded.remove(container)
            return s.listeners.removeValue(forKey: container)
        }
        logger.info(loaded ? "proxy loaded" : "proxy unloaded", metadata: ["container": "\(container)"])
        try? listener?.onUnloaded(container: Int32(bitPattern: container))
    }

    func startReceiving() throws(SystemError) -> [InetSocketAddress] {
        var bound: [InetSocketAddress] = []
        for port in options.inboundPorts {
            let socket = try InetSocket(.udp, family: .v4)
            try socket.setReuseAddress(true)
            bound.append(try socket.bind(InetSocketAddress(.any(.v4), port: port)))
            state.withLock { $0.receivers.append(socket) }
            startThread(name: "netd-rx:\(port)") { [self] in receive(on: socket, port: port) }
        }
        return bound
    }

    func stop() {
        let sockets = state.withLock { s in
            s.stopped = true
            return s.receivers
        }
        for s in sockets { s.shutdown() }
    }

    private func receive(on socket: InetSocket, port: UInt16) {
        var buffer = [UInt8](repeating: 0, count: 65536)
        while true {
            guard let (length, source) = try? socket.receiveFrom(into: &buffer) else { break }
            if state.withLock({ $0.stopped }) { break }
            deliver(Array(buffer[0..<length]), from: source, port: port)
        }
        socket.close()
    }

    /// An inbound datagram goes to the container the routing table names for its source, else to
    /// the foreground container; there, to its registered listener.
    func deliver(_ payload: [UInt8], from source: InetSocketAddress, port: UInt16) {
        let key = source.ip.description
        let routed: UInt32? = state.withLock { s in
            guard var route = s.inboundRoutes[key] else { return nil }
            route.delivered += 1
            s.inboundRoutes[key] = route.once ? nil : route
            return UInt32(bitPattern: route.container)
        }
        let container = routed ?? (try? connection.serviceManager.foregroundContainer()) ?? 0
        let listener: INetListener.Proxy? = state.withLock { s in
            var c = s.counters[container] ?? Self.counters(container)
            c.datagramsReceived += 1
            c.bytesReceived += Int64(payload.count)
            s.counters[container] = c
            return s.listeners[container]
        }
        logger.debug("inbound datagram", metadata: [
            "source": "\(source)", "port": "\(port)", "length": "\(payload.count)", "container": "\(container)",
            "by": "\(routed == nil ? "foreground" : "route")", "delivered": "\(listener != nil)",
        ])
        do {
            try listener?.onDatagram(source: source.ip.description, sourcePort: Int32(source.port), localPort: Int32(port), payload: payload)
        } catch let status as StatusCode where status == .deadObject {
            // Its process is gone: forget it (unless a new one replaced it meanwhile).
            state.withLock { s in
                if s.listeners[container] === listener { s.listeners.removeValue(forKey: container) }
            }
        } catch {
            logger.warning("listener failed", metadata: ["container": "\(container)", "error": "\(error)"])
        }
    }

    // MARK: Parsing and errors

    private func parseAddress(_ text: String) throws -> IPAddress {
        guard let ip = IPAddress(text) else { throw ServiceError(.illegalArgument, "'\(text)' is not an IPv4 or IPv6 address") }
        return ip
    }

    private func parsePort(_ port: Int32) throws -> UInt16 {
        guard port > 0, port <= 65535 else { throw ServiceError(.illegalArgument, "port \(port) is out of range 1–65535") }
        return UInt16(port)
    }

    private func parseFamily(_ family: Int32) throws -> IPFamily {
        switch family {
        case 4: return .v4
        case 6: return .v6
        default: throw ServiceError(.illegalArgument, "family \(family): use 4 or 6")
        }
    }

    /// Runs a kernel call; its failure becomes a service error naming the call and the errno's text.
    private func kernel<T>(_ body: () throws(SystemError) -> T) throws -> T {
        do {
            return try body()
        } catch {
            throw ServiceError(.serviceSpecific, "\(error)", serviceSpecificCode: error.errno)
        }
    }
}
