#if canImport(Glibc)
import Glibc
#endif
import CBinderShims

// Values of the network stack as rtnetlink reports them (netd's kernel layer). Pure values: the
// only C calls here are inet_pton/inet_ntop (string conversion, no system call).

/// IPv4 or IPv6.
public enum IPFamily: Sendable, Hashable, CustomStringConvertible {
    case v4, v6

    /// AF_INET or AF_INET6 (kernel ABI values: 2, 10).
    public var addressFamily: UInt8 { self == .v4 ? 2 : 10 }
    /// 4 or 16.
    public var byteCount: Int { self == .v4 ? 4 : 16 }
    /// 32 or 128.
    public var bitCount: UInt8 { self == .v4 ? 32 : 128 }

    public init?(addressFamily: UInt8) {
        switch addressFamily {
        case 2: self = .v4
        case 10: self = .v6
        default: return nil
        }
    }

    public var description: String { self == .v4 ? "IPv4" : "IPv6" }
}

/// An IPv4 or IPv6 address: its family and its bytes in network order.
public struct IPAddress: Sendable, Hashable, CustomStringConvertible {
    public let family: IPFamily
    /// 4 bytes (IPv4) or 16 (IPv6), network order.
    public let bytes: [UInt8]

    /// An address from its bytes: 4 make IPv4, 16 make IPv6, any other count is nil.
    public init?(bytes: [UInt8]) {
        switch bytes.count {
        case 4: family = .v4
        case 16: family = .v6
        default: return nil
        }
        self.bytes = bytes
    }

    /// Parses dotted-quad IPv4 or textual IPv6 (`inet_pton`); nil for anything else (no host
    /// names, no prefix, no `%scope`).
    public init?(_ string: String) {
        var v4 = in_addr()
        if inet_pton(Int32(CBINDER_AF_INET), string, &v4) == 1 {
            family = .v4
            bytes = withUnsafeBytes(of: &v4) { Array($0) }
            return
        }
        var v6 = in6_addr()
        if inet_pton(Int32(CBINDER_AF_INET6), string, &v6) == 1 {
            family = .v6
            bytes = withUnsafeBytes(of: &v6) { Array($0) }
            return
        }
        return nil
    }

    /// 0.0.0.0 or ::.
    public static func any(_ family: IPFamily) -> IPAddress { IPAddress(bytes: [UInt8](repeating: 0, count: family.byteCount))! }
    public static let loopbackV4 = IPAddress(bytes: [127, 0, 0, 1])!
    public static let loopbackV6 = IPAddress(bytes: [UInt8](repeating: 0, count: 15) + [1])!

    /// `inet_ntop`'s form: "10.1.0.1", "fd00::1".
    public var description: String {
        var text = [CChar](repeating: 0, count: 48)  // INET6_ADDRSTRLEN is 46
        let ok = bytes.withUnsafeBytes { raw in
            text.withUnsafeMutableBufferPointer { out in
                inet_ntop(family == .v4 ? Int32(CBINDER_AF_INET) : Int32(CBINDER_AF_INET6), raw.baseAddress, out.baseAddress, socklen_t(out.count)) != nil
            }
        }
        guard ok else { return bytes.map { String($0) }.joined(separator: ".") }  // unreachable with valid sizes
        return text.withUnsafeBufferPointer { String(cString: $0.baseAddress!) }
    }
}

/// An IP address with a port: what UDP/TCP sockets bind, connect and receive from.
public struct InetSocketAddress: Sendable, Hashable, CustomStringConvertible {
    public var ip: IPAddress
    public var port: UInt16
    /// IPv6 only: the interface index a link-local address belongs to (sin6_scope_id); 0 otherwise.
    public var scopeID: UInt32

    public init(_ ip: IPAddress, port: UInt16, scopeID: UInt32 = 0) {
        self.ip = ip
        self.port = port
        self.scopeID = scopeID
    }

    /// Parses "10.1.0.1:53" or "[fd00::1]:53"; nil otherwise.
    public init?(_ string: String) {
        guard let colon = string.lastIndex(of: ":"), let port = UInt16(string[string.index(after: colon)...]) else { return nil }
        var host = string[..<colon]
        if host.hasPrefix("[") && host.hasSuffix("]") {
            host = host.dropFirst().dropLast()
            guard IPAddress(String(host))?.family == .v6 else { return nil }
        } else if IPAddress(String(host))?.family != .v4 {
            return nil
        }
        self.init(IPAddress(String(host))!, port: port)
    }

    public var family: IPFamily { ip.family }

    /// "10.1.0.1:53", "[fd00::1]:53", "[fe80::1%2]:53".
    public var description: String {
        switch ip.family {
        case .v4: "\(ip):\(port)"
        case .v6: scopeID == 0 ? "[\(ip)]:\(port)" : "[\(ip)%\(scopeID)]:\(port)"
        }
    }
}

/// Packet and byte counters of an interface (IFLA_STATS64).
public struct InterfaceStats: Sendable, Equatable {
    public var rxPackets: UInt64 = 0
    public var txPackets: UInt64 = 0
    public var rxBytes: UInt64 = 0
    public var txBytes: UInt64 = 0
    public var rxErrors: UInt64 = 0
    public var txErrors: UInt64 = 0
    public var rxDropped: UInt64 = 0
    public var txDropped: UInt64 = 0

    public init(
        rxPackets: UInt64 = 0, txPackets: UInt64 = 0, rxBytes: UInt64 = 0, txBytes: UInt64 = 0,
        rxErrors: UInt64 = 0, txErrors: UInt64 = 0, rxDropped: UInt64 = 0, txDropped: UInt64 = 0
    ) {
        self.rxPackets = rxPackets
        self.txPackets = txPackets
        self.rxBytes = rxBytes
        self.txBytes = txBytes
        self.rxErrors = rxErrors
        self.txErrors = txErrors
        self.rxDropped = rxDropped
        self.txDropped = txDropped
    }
}

/// A network interface (one RTM_NEWLINK message).
public struct NetInterface: Sendable, Equatable {
    public var index: Int32
    public var name: String
    /// Raw IFF_* flags (ifi_flags), including IFF_LOWER_UP and IFF_DORMANT.
    public var flags: UInt32
    public var mtu: UInt32
    /// The hardware address (IFLA_ADDRESS): 6 bytes for Ethernet, empty when the interface has none.
    public var macAddress: [UInt8]
    /// Zero when the kernel sent no statistics.
    public var stats: InterfaceStats

    public init(index: Int32, name: String, flags: UInt32, mtu: UInt32, macAddress: [UInt8], stats: InterfaceStats) {
        self.index = index
        self.name = name
        self.flags = flags
        self.mtu = mtu
        self.macAddress = macAddress
        self.stats = stats
    }

    // IFF_* values (linux/if.h, kernel ABI).
    public static let flagUp: UInt32 = 0x1
    public static let flagBroadcast: UInt32 = 0x2
    public static let flagLoopback: UInt32 = 0x8
    public static let flagPointToPoint: UInt32 = 0x10
    public static let flagRunning: UInt32 = 0x40
    public static let flagNoARP: UInt32 = 0x80
    public static let flagPromiscuous: UInt32 = 0x100
    public static let flagMulticast: UInt32 = 0x1000
    public static let flagLowerUp: UInt32 = 0x10000

    /// Administratively up (IFF_UP).
    public var isUp: Bool { flags & Self.flagUp != 0 }
    /// Operationally up (IFF_RUNNING): up with carrier.
    public var isRunning: Bool { flags & Self.flagRunning != 0 }
    public var isLoopback: Bool { flags & Self.flagLoopback != 0 }
    /// The lower layer has carrier (IFF_LOWER_UP).
    public var hasCarrier: Bool { flags & Self.flagLowerUp != 0 }

    /// "aa:bb:cc:dd:ee:ff" (lowercase hex, as `ip link` prints it); empty when there is none.
    public var macAddressString: String {
        macAddress.map { byte in
            let hex = String(byte, radix: 16)
            return byte < 16 ? "0" + hex : hex
        }.joined(separator: ":")
    }
}

/// An RT_SCOPE_* value: how far an address or route reaches.
public struct RouteScope: RawRepresentable, Sendable, Hashable, CustomStringConvertible {
    public var rawValue: UInt8
    public init(rawValue: UInt8) { self.rawValue = rawValue }
    public static let universe = RouteScope(rawValue: 0)
    public static let site = RouteScope(rawValue: 200)
    public static let link = RouteScope(rawValue: 253)
    public static let host = RouteScope(rawValue: 254)
    public static let nowhere = RouteScope(rawValue: 255)
    /// The names `ip` uses ("global" for universe).
    public var description: String {
        switch rawValue {
        case 0: "global"
        case 200: "site"
        case 253: "link"
        case 254: "host"
        case 255: "nowhere"
        default: String(rawValue)
        }
    }
}

/// IFA_F_* flags of an address.
public struct AddressFlags: OptionSet, Sendable, Hashable {
    public var rawValue: UInt32
    public init(rawValue: UInt32) { self.rawValue = rawValue }
    public static let secondary = AddressFlags(rawValue: 0x01)
    /// No duplicate address detection: an IPv6 address is usable at once.
    public static let noDAD = AddressFlags(rawValue: 0x02)
    public static let optimistic = AddressFlags(rawValue: 0x04)
    public static let dadFailed = AddressFlags(rawValue: 0x08)
    public static let homeAddress = AddressFlags(rawValue: 0x10)
    public static let deprecated = AddressFlags(rawValue: 0x20)
    /// Still in duplicate address detection: not yet usable.
    public static let tentative = AddressFlags(rawValue: 0x40)
    /// Configured (not from autoconfiguration or DHCP lifetimes).
    public static let permanent = AddressFlags(rawValue: 0x80)
    public static let manageTemporaryAddress = AddressFlags(rawValue: 0x100)
    /// No prefix route is added for the address.
    public static let noPrefixRoute = AddressFlags(rawValue: 0x200)
    public static let multicastAutoJoin = AddressFlags(rawValue: 0x400)
    public static let stablePrivacy = AddressFlags(rawValue: 0x800)
}

/// An address assigned to an interface (one RTM_NEWADDR message).
public struct NetAddress: Sendable, Equatable, CustomStringConvertible {
    public var interfaceIndex: Int32
    /// The interface's own address (IFA_LOCAL, or IFA_ADDRESS when there is no IFA_LOCAL, as for IPv6).
    public var address: IPAddress
    public var prefixLength: UInt8
    public var scope: RouteScope
    public var flags: AddressFlags
    /// IPv4: the address's label (IFA_LABEL, usually the interface name); nil when absent.
    public var label: String?
    /// Point-to-point: the peer's address (IFA_ADDRESS when it differs from IFA_LOCAL); nil otherwise.
    public var peer: IPAddress?

    public init(
        interfaceIndex: Int32, address: IPAddress, prefixLength: UInt8, scope: RouteScope,
        flags: AddressFlags = [], label: String? = nil, peer: IPAddress? = nil
    ) {
        self.interfaceIndex = interfaceIndex
        self.address = address
        self.prefixLength = prefixLength
        self.scope = scope
        self.flags = flags
        self.label = label
        self.peer = peer
    }

    public var family: IPFamily { address.family }
    /// "10.1.0.1", "fd00::1".
    public var addressString: String { address.description }
    /// "10.1.0.1/24".
    public var description: String { "\(address)/\(prefixLength)" }
}

/// A routing table: an RT_TABLE_* value, or any number up to 2^32-1.
public struct RouteTable: RawRepresentable, Sendable, Hashable, CustomStringConvertible {
    public var rawValue: UInt32
    public init(rawValue: UInt32) { self.rawValue = rawValue }
    public static let unspecified = RouteTable(rawValue: 0)
    public static let `default` = RouteTable(rawValue: 253)
    public static let main = RouteTable(rawValue: 254)
    public static let local = RouteTable(rawValue: 255)
    public var description: String {
        switch rawValue {
        case 253: "default"
        case 254: "main"
        case 255: "local"
        default: String(rawValue)
        }
    }
}

/// Who installed a route: an RTPROT_* value.
public struct RouteProtocol: RawRepresentable, Sendable, Hashable, CustomStringConvertible {
    public var rawValue: UInt8
    public init(rawValue: UInt8) { self.rawValue = rawValue }
    public static let unspecified = RouteProtocol(rawValue: 0)
    public static let redirect = RouteProtocol(rawValue: 1)
    /// Made by the kernel (prefix routes of addresses, local routes).
    public static let kernel = RouteProtocol(rawValue: 2)
    /// `ip route add`'s default.
    public static let boot = RouteProtocol(rawValue: 3)
    /// An administrator's route (netd's default).
    public static let `static` = RouteProtocol(rawValue: 4)
    public static let routerAdvertisement = RouteProtocol(rawValue: 9)
    public static let dhcp = RouteProtocol(rawValue: 16)
    public var description: String {
        switch rawValue {
        case 0: "unspec"
        case 1: "redirect"
        case 2: "kernel"
        case 3: "boot"
        case 4: "static"
        case 9: "ra"
        case 16: "dhcp"
        default: String(rawValue)
        }
    }
}

/// What a route does with a packet: an RTN_* value.
public struct RouteType: RawRepresentable, Sendable, Hashable, CustomStringConvertible {
    public var rawValue: UInt8
    public init(rawValue: UInt8) { self.rawValue = rawValue }
    public static let unspecified = RouteType(rawValue: 0)
    public static let unicast = RouteType(rawValue: 1)
    public static let local = RouteType(rawValue: 2)
    public static let broadcast = RouteType(rawValue: 3)
    public static let anycast = RouteType(rawValue: 4)
    public static let multicast = RouteType(rawValue: 5)
    public static let blackhole = RouteType(rawValue: 6)
    public static let unreachable = RouteType(rawValue: 7)
    public static let prohibit = RouteType(rawValue: 8)
    public static let `throw` = RouteType(rawValue: 9)
    public static let nat = RouteType(rawValue: 10)
    public var description: String {
        let names = ["unspec", "unicast", "local", "broadcast", "anycast", "multicast", "blackhole", "unreachable", "prohibit", "throw", "nat"]
        return Int(rawValue) < names.count ? names[Int(rawValue)] : String(rawValue)
    }
}

/// A route (one RTM_NEWROUTE message).
public struct NetRoute: Sendable, Equatable, CustomStringConvertible {
    public var family: IPFamily
    /// The destination network; all zero for a default route.
    public var destination: IPAddress
    /// 0 for a default route.
    public var prefixLength: UInt8
    public var gateway: IPAddress?
    /// The output interface (RTA_OIF); nil when the route has none (or several: see `nextHops`).
    public var interfaceIndex: Int32?
    public var table: RouteTable
    public var `protocol`: RouteProtocol
    public var scope: RouteScope
    public var type: RouteType
    /// The metric (RTA_PRIORITY); nil when absent (IPv4 routes with metric 0).
    public var priority: UInt32?
    /// The preferred source address (RTA_PREFSRC).
    public var preferredSource: IPAddress?
    /// A multipath route's next hops (RTA_MULTIPATH); empty for a single-path route.
    public var nextHops: [NextHop]

    /// One path of a multipath route.
    public struct NextHop: Sendable, Equatable {
        public var interfaceIndex: Int32
        public var gateway: IPAddress?
        /// rtnh_hops: the weight less one.
        public var hops: UInt8
        public init(interfaceIndex: Int32, gateway: IPAddress?, hops: UInt8) {
            self.interfaceIndex = interfaceIndex
            self.gateway = gateway
            self.hops = hops
        }
    }

    public init(
        family: IPFamily, destination: IPAddress, prefixLength: UInt8, gateway: IPAddress? = nil,
        interfaceIndex: Int32? = nil, table: RouteTable = .main, protocol: RouteProtocol = .static,
        scope: RouteScope = .universe, type: RouteType = .unicast, priority: UInt32? = nil,
        preferredSource: IPAddress? = nil, nextHops: [NextHop] = []
    ) {
        self.family = family
        self.destination = destination
        self.prefixLength = prefixLength
        self.gateway = gateway
        self.interfaceIndex = interfaceIndex
        self.table = table
        self.protocol = `protocol`
        self.scope = scope
        self.type = type
        self.priority = priority
        self.preferredSource = preferredSource
        self.nextHops = nextHops
    }

    public var isDefault: Bool { prefixLength == 0 }

    /// "default via 10.1.0.2 dev#2", "10.1.0.0/24 dev#2 proto kernel scope link".
    public var description: String {
        var s = isDefault ? "default" : "\(destination)/\(prefixLength)"
        if type != .unicast { s = "\(type) " + s }
        if let gateway { s += " via \(gateway)" }
        if let interfaceIndex { s += " dev#\(interfaceIndex)" }
        if table != .main { s += " table \(table)" }
        s += " proto \(`protocol`)"
        if scope != .universe { s += " scope \(scope)" }
        if let priority { s += " metric \(priority)" }
        return s
    }
}
