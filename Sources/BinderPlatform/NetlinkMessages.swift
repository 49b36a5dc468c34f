// rtnetlink messages as bytes: building requests, parsing replies. Pure: no system calls, so every
// path is unit-testable with hand-made byte arrays. Malformed or truncated input throws
// `NetlinkError.malformed`; every read is bounds-checked first, so nothing traps or reads past the end.
//
// Layouts (all integers in host byte order; everything 4-byte aligned):
//   nlmsghdr   16: len u32, type u16, flags u16, seq u32, pid u32
//   ifinfomsg  16: family u8, pad u8, type u16, index i32, flags u32, change u32
//   ifaddrmsg   8: family u8, prefixlen u8, flags u8, scope u8, index u32
//   rtmsg      12: family, dst_len, src_len, tos, table, protocol, scope, type (u8 each), flags u32
//   rtattr      4: len u16 (header included, padding not), type u16; then the payload, padded to 4
//   nlmsgerr   20: error i32 (0 = ACK, else -errno), then the request's nlmsghdr (and its payload
//                  unless NLM_F_CAPPED); with NLM_F_ACK_TLVS, attributes follow (NLMSGERR_ATTR_MSG text)

/// Netlink and rtnetlink constants (linux/netlink.h, rtnetlink.h, if_link.h, if_addr.h; kernel ABI).
/// Swift's Glibc module imports none of those headers.
enum NL {
    static let headerSize = 16

    // Message types.
    static let noop: UInt16 = 1
    static let error: UInt16 = 2
    static let done: UInt16 = 3
    static let overrun: UInt16 = 4

    // Header flags.
    static let request: UInt16 = 0x1
    static let multi: UInt16 = 0x2
    static let ack: UInt16 = 0x4
    static let dumpInterrupted: UInt16 = 0x10
    static let dump: UInt16 = 0x300  // NLM_F_ROOT | NLM_F_MATCH
    static let replace: UInt16 = 0x100
    static let exclusive: UInt16 = 0x200
    static let create: UInt16 = 0x400
    // On NLMSG_ERROR.
    static let capped: UInt16 = 0x100
    static let ackTLVs: UInt16 = 0x200
    static let errorAttributeMessage: UInt16 = 1  // NLMSGERR_ATTR_MSG

    static let attributeTypeMask: UInt16 = 0x3fff  // without NLA_F_NESTED, NLA_F_NET_BYTEORDER
}

enum RTM {
    static let newLink: UInt16 = 16
    static let getLink: UInt16 = 18
    static let newAddress: UInt16 = 20
    static let deleteAddress: UInt16 = 21
    static let getAddress: UInt16 = 22
    static let newRoute: UInt16 = 24
    static let deleteRoute: UInt16 = 25
    static let getRoute: UInt16 = 26

    static func name(_ type: UInt16) -> String {
        switch type {
        case 16: "RTM_NEWLINK"
        case 18: "RTM_GETLINK"
        case 20: "RTM_NEWADDR"
        case 21: "RTM_DELADDR"
        case 22: "RTM_GETADDR"
        case 24: "RTM_NEWROUTE"
        case 25: "RTM_DELROUTE"
        case 26: "RTM_GETROUTE"
        default: "RTM \(type)"
        }
    }
}

enum IFLA {
    static let address: UInt16 = 1
    static let ifname: UInt16 = 3
    static let mtu: UInt16 = 4
    static let stats: UInt16 = 7
    static let stats64: UInt16 = 23
}

enum IFA {
    static let address: UInt16 = 1
    static let local: UInt16 = 2
    static let label: UInt16 = 3
    static let flags: UInt16 = 8
}

enum RTA {
    static let destination: UInt16 = 1
    static let outputInterface: UInt16 = 4
    static let gateway: UInt16 = 5
    static let priority: UInt16 = 6
    static let preferredSource: UInt16 = 7
    static let multipath: UInt16 = 9
    static let table: UInt16 = 15
}

/// A reply that could not be used: malformed bytes, or the kernel's refusal.
enum NetlinkError: Error, Equatable, Sendable, CustomStringConvertible {
    /// The bytes do not form valid messages (truncated, bad lengths, wrong sizes).
    case malformed(String)
    /// NLMSG_ERROR (or NLMSG_DONE) carried `-errno`; `message` is the kernel's extended-ACK text.
    case kernel(errno: Int32, message: String?)

    var description: String {
        switch self {
        case .malformed(let why): "malformed netlink message: \(why)"
        case .kernel(let errno, let message): "kernel error \(errno)" + (message.map { ": \($0)" } ?? "")
        }
    }
}

@inline(__always)
func netlinkAlign(_ n: Int) -> Int { (n + 3) & ~3 }

/// Reads a host-order integer at `offset` of `bytes`, after checking that it lies inside.
@inline(__always)
func readInteger<T: FixedWidthInteger>(
    _: T.Type, _ bytes: [UInt8], at offset: Int, _ what: @autoclosure () -> String
) throws(NetlinkError) -> T {
    let size = MemoryLayout<T>.size
    guard offset >= 0, offset <= bytes.count - size else {
        throw .malformed("\(what()) truncated: needs \(size) bytes at offset \(offset), have \(bytes.count)")
    }
    // Unsafe, bounds checked just above: an unaligned load of `size` bytes inside the array.
    return bytes.withUnsafeBytes { $0.loadUnaligned(fromByteOffset: offset, as: T.self) }
}

@inline(__always)
func appendInteger<T: FixedWidthInteger>(_ value: T, to bytes: inout [UInt8]) {
    withUnsafeBytes(of: value) { bytes.append(contentsOf: $0) }
}

/// A message header (struct nlmsghdr).
struct NetlinkHeader: Equatable, Sendable {
    var length: UInt32
    var type: UInt16
    var flags: UInt16
    var sequence: UInt32
    var portID: UInt32
}

/// One netlink message: its header and the bytes after it (up to `length`, without padding).
struct NetlinkMessage: Equatable, Sendable {
    var header: NetlinkHeader
    var payload: [UInt8]

    /// Splits one received datagram into its messages.
    static func split(_ datagram: [UInt8]) throws(NetlinkError) -> [NetlinkMessage] {
        var messages: [NetlinkMessage] = []
        var offset = 0
        while offset < datagram.count {
            guard datagram.count - offset >= NL.headerSize else {
                throw .malformed("message header truncated: \(datagram.count - offset) bytes at offset \(offset), need \(NL.headerSize)")
            }
            let length = try readInteger(UInt32.self, datagram, at: offset, "nlmsg_len")
            guard length >= UInt32(NL.headerSize), Int(length) <= datagram.count - offset else {
                throw .malformed("nlmsg_len \(length) at offset \(offset) outside 16...\(datagram.count - offset)")
            }
            let header = NetlinkHeader(
                length: length,
                type: try readInteger(UInt16.self, datagram, at: offset + 4, "nlmsg_type"),
                flags: try readInteger(UInt16.self, datagram, at: offset + 6, "nlmsg_flags"),
                sequence: try readInteger(UInt32.self, datagram, at: offset + 8, "nlmsg_seq"),
                portID: try readInteger(UInt32.self, datagram, at: offset + 12, "nlmsg_pid"))
            messages.append(NetlinkMessage(header: header, payload: Array(datagram[(offset + NL.headerSize)..<(offset + Int(length))])))
            offset += netlinkAlign(Int(length))  // may step past the end when the last message is unpadded
        }
        return messages
    }
}

/// One attribute (struct rtattr): its type (flags masked off) and payload (no padding).
struct NetlinkAttribute: Equatable, Sendable {
    var type: UInt16
    var payload: [UInt8]

    /// The attributes in `bytes` from `offset` on. Up to 3 trailing bytes (padding) are allowed.
    static func parse(_ bytes: [UInt8], from offset: Int, in what: String) throws(NetlinkError) -> [NetlinkAttribute] {
        guard offset <= bytes.count else {
            throw .malformed("\(what) truncated: fixed header needs \(offset) bytes, have \(bytes.count)")
        }
        var result: [NetlinkAttribute] = []
        var at = offset
        while bytes.count - at >= 4 {
            let length = Int(try readInteger(UInt16.self, bytes, at: at, "rta_len"))
            let type = try readInteger(UInt16.self, bytes, at: at + 2, "rta_type")
            guard length >= 4, length <= bytes.count - at else {
                throw .malformed("\(what): attribute \(type & NL.attributeTypeMask) at offset \(at) has length \(length), \(bytes.count - at) bytes left")
            }
            result.append(NetlinkAttribute(type: type & NL.attributeTypeMask, payload: Array(bytes[(at + 4)..<(at + length)])))
            at += netlinkAlign(length)
        }
        return result
    }

    func u32(_ what: String) throws(NetlinkError) -> UInt32 {
        guard payload.count == 4 else { throw .malformed("\(what): \(payload.count) bytes, expected 4") }
        return try readInteger(UInt32.self, payload, at: 0, what)
    }

    /// A NUL-terminated string (the NUL and anything after it dropped; invalid UTF-8 repaired).
    var string: String { String(decoding: payload.prefix { $0 != 0 }, as: UTF8.self) }

    func address(_ family: IPFamily, _ what: String) throws(NetlinkError) -> IPAddress {
        guard payload.count == family.byteCount, let ip = IPAddress(bytes: payload) else {
            throw .malformed("\(what): \(payload.count) bytes for an \(family) address")
        }
        return ip
    }
}

extension Array where Element == NetlinkAttribute {
    /// The first attribute of `type`.
    func attribute(_ type: UInt16) -> NetlinkAttribute? { first { $0.type == type } }
}

/// A request: message type, flags and the body (the family header, then attributes).
struct NetlinkRequest: Equatable, Sendable {
    var type: UInt16
    var flags: UInt16
    var body: [UInt8] = []

    /// Whether the reply is a multipart dump (ends with NLMSG_DONE) rather than an ACK.
    var isDump: Bool { flags & NL.dump == NL.dump }

    mutating func append<T: FixedWidthInteger>(_ value: T) { appendInteger(value, to: &body) }

    /// Appends an attribute, padded to 4 bytes.
    mutating func appendAttribute(_ type: UInt16, _ payload: [UInt8]) {
        append(UInt16(4 + payload.count))
        append(type)
        body += payload
        body += [UInt8](repeating: 0, count: netlinkAlign(payload.count) - payload.count)
    }

    mutating func appendAttribute(_ type: UInt16, u32 value: UInt32) {
        var bytes: [UInt8] = []
        appendInteger(value, to: &bytes)
        appendAttribute(type, bytes)
    }

    /// The whole message: nlmsghdr then the body (nlmsg_len includes the last attribute's padding).
    func encoded(sequence: UInt32, portID: UInt32 = 0) -> [UInt8] {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(NL.headerSize + body.count)
        appendInteger(UInt32(NL.headerSize + netlinkAlign(body.count)), to: &bytes)
        appendInteger(type, to: &bytes)
        appendInteger(flags, to: &bytes)
        appendInteger(sequence, to: &bytes)
        appendInteger(portID, to: &bytes)
        bytes += body
        bytes += [UInt8](repeating: 0, count: netlinkAlign(body.count) - body.count)
        return bytes
    }
}

/// Gathers the reply to one request from the datagrams that arrive: data messages until
/// NLMSG_DONE (dumps), or the NLMSG_ERROR that acknowledges (error 0) or refuses (-errno) a change.
/// Messages with another sequence number (left from an abandoned request) are skipped.
struct NetlinkReplyCollector {
    let sequence: UInt32
    private(set) var messages: [NetlinkMessage] = []
    /// A message carried NLM_F_DUMP_INTR: the dump saw a change part-way and may be inconsistent.
    private(set) var interrupted = false
    private(set) var isComplete = false

    init(sequence: UInt32) { self.sequence = sequence }

    /// Takes one datagram. Returns true once the reply is complete.
    /// - Throws: `.kernel` for an error reply, `.malformed` for bad bytes or NLMSG_OVERRUN.
    mutating func consume(_ datagram: [UInt8]) throws(NetlinkError) -> Bool {
        for message in try NetlinkMessage.split(datagram) {
            guard !isComplete, message.header.sequence == sequence else { continue }
            if message.header.flags & NL.dumpInterrupted != 0 { interrupted = true }
            switch message.header.type {
            case NL.noop:
                continue
            case NL.overrun:
                throw .malformed("NLMSG_OVERRUN: the kernel dropped messages")
            case NL.error:
                let errno = try Self.errorCode(message)
                if errno != 0 { throw .kernel(errno: errno, message: Self.extendedAckMessage(message)) }
                isComplete = true
            case NL.done:
                // A dump that failed part-way reports -errno here (kernels since 4.x; older send 0 or nothing).
                if message.payload.count >= 4 {
                    let code = try readInteger(Int32.self, message.payload, at: 0, "NLMSG_DONE error")
                    if code < 0 { throw .kernel(errno: -code, message: Self.extendedAckMessage(message)) }
                }
                isComplete = true
            default:
                messages.append(message)
            }
        }
        return isComplete
    }

    /// The errno of an NLMSG_ERROR: 0 for an ACK.
    static func errorCode(_ message: NetlinkMessage) throws(NetlinkError) -> Int32 {
        let code = try readInteger(Int32.self, message.payload, at: 0, "NLMSG_ERROR error")
        guard code <= 0, code > Int32.min else { throw .malformed("NLMSG_ERROR with error \(code)") }
        return -code
    }

    /// NLMSGERR_ATTR_MSG of an extended ACK, if any. Never throws: the text is a courtesy.
    static func extendedAckMessage(_ message: NetlinkMessage) -> String? {
        guard message.header.flags & NL.ackTLVs != 0 else { return nil }
        var offset = 4  // the error code
        if message.header.type == NL.error {
            // The request's header, and its payload too unless the kernel capped it.
            guard let requestLength = try? readInteger(UInt32.self, message.payload, at: 4, "request length") else { return nil }
            offset += message.header.flags & NL.capped != 0 ? NL.headerSize : netlinkAlign(Int(requestLength))
        }
        guard let attributes = try? NetlinkAttribute.parse(message.payload, from: offset, in: "extended ACK"),
              let text = attributes.attribute(NL.errorAttributeMessage)?.string, !text.isEmpty
        else { return nil }
        return text
    }
}

/// Requests and parsers for links, addresses and routes.
enum RouteMessages {
    // MARK: Requests

    /// RTM_GETLINK dump: every interface, with statistics.
    static func dumpLinks() -> NetlinkRequest {
        var r = NetlinkRequest(type: RTM.getLink, flags: NL.request | NL.dump)
        r.body = [UInt8](repeating: 0, count: 16)  // ifinfomsg, AF_UNSPEC
        return r
    }

    /// RTM_GETADDR dump of one family (nil: all).
    static func dumpAddresses(family: IPFamily?) -> NetlinkRequest {
        var r = NetlinkRequest(type: RTM.getAddress, flags: NL.request | NL.dump)
        r.body = [family?.addressFamily ?? 0, 0, 0, 0, 0, 0, 0, 0]  // ifaddrmsg
        return r
    }

    /// RTM_GETROUTE dump of one family (nil: all), every table (the kernel filters by table only
    /// with strict checking, so the caller filters).
    static func dumpRoutes(family: IPFamily?) -> NetlinkRequest {
        var r = NetlinkRequest(type: RTM.getRoute, flags: NL.request | NL.dump)
        r.body = [family?.addressFamily ?? 0, 0, 0, 0, 0, 0, 0, 0] + [0, 0, 0, 0]  // rtmsg
        return r
    }

    /// RTM_NEWADDR (exclusive: an existing address is EEXIST) or RTM_DELADDR, acknowledged.
    /// IFA_LOCAL and IFA_ADDRESS both carry the address, as `ip address add` sends them.
    static func address(
        add: Bool, _ address: IPAddress, prefix: UInt8, interface: Int32, flags: AddressFlags = [], scope: RouteScope = .universe
    ) -> NetlinkRequest {
        var r = NetlinkRequest(
            type: add ? RTM.newAddress : RTM.deleteAddress,
            flags: NL.request | NL.ack | (add ? NL.create | NL.exclusive : 0))
        r.append(address.family.addressFamily)
        r.append(prefix)
        r.append(UInt8(truncatingIfNeeded: flags.rawValue))  // ifa_flags holds the low 8 bits
        r.append(add ? scope.rawValue : 0)
        r.append(UInt32(bitPattern: interface))
        r.appendAttribute(IFA.local, address.bytes)
        r.appendAttribute(IFA.address, address.bytes)
        if flags.rawValue > 0xff { r.appendAttribute(IFA.flags, u32: flags.rawValue) }
        return r
    }

    /// RTM_NEWLINK on an existing interface: changes the flags in `change` to their values in
    /// `flags`, and the MTU when given; acknowledged.
    static func setLink(interface: Int32, flags: UInt32 = 0, change: UInt32 = 0, mtu: UInt32? = nil) -> NetlinkRequest {
        var r = NetlinkRequest(type: RTM.newLink, flags: NL.request | NL.ack)
        r.append(UInt8(0))  // ifi_family AF_UNSPEC
        r.append(UInt8(0))
        r.append(UInt16(0))  // ifi_type
        r.append(interface)
        r.append(flags)
        r.append(change)
        if let mtu { r.appendAttribute(IFLA.mtu, u32: mtu) }
        return r
    }

    /// RTM_NEWROUTE (exclusive) or RTM_DELROUTE, acknowledged. For deletion, unspecified protocol,
    /// type and scope RT_SCOPE_NOWHERE match any, as `ip route del` sends them.
    static func route(
        add: Bool, destination: IPAddress, prefix: UInt8, gateway: IPAddress?, interface: Int32?,
        table: RouteTable, protocol: RouteProtocol, scope: RouteScope, type: RouteType, metric: UInt32?
    ) -> NetlinkRequest {
        var r = NetlinkRequest(
            type: add ? RTM.newRoute : RTM.deleteRoute,
            flags: NL.request | NL.ack | (add ? NL.create | NL.exclusive : 0))
        r.append(destination.family.addressFamily)
        r.append(prefix)  // rtm_dst_len
        r.append(UInt8(0))  // rtm_src_len
        r.append(UInt8(0))  // rtm_tos
        r.append(table.rawValue < 256 ? UInt8(table.rawValue) : 0)  // larger tables go in RTA_TABLE
        r.append(add ? `protocol`.rawValue : 0)
        r.append(add ? scope.rawValue : RouteScope.nowhere.rawValue)
        r.append(add ? type.rawValue : 0)
        r.append(UInt32(0))  // rtm_flags
        if prefix > 0 { r.appendAttribute(RTA.destination, destination.bytes) }
        if let gateway { r.appendAttribute(RTA.gateway, gateway.bytes) }
        if let interface { r.appendAttribute(RTA.outputInterface, u32: UInt32(bitPattern: interface)) }
        if let metric { r.appendAttribute(RTA.priority, u32: metric) }
        if table.rawValue >= 256 { r.appendAttribute(RTA.table, u32: table.rawValue) }
        return r
    }

    // MARK: Replies

    /// An RTM_NEWLINK message.
    static func parseLink(_ message: NetlinkMessage) throws(NetlinkError) -> NetInterface {
        let p = message.payload
        guard message.header.type == RTM.newLink else { throw .malformed("expected RTM_NEWLINK, got type \(message.header.type)") }
        let index = try readInteger(Int32.self, p, at: 4, "ifinfomsg")
        let flags = try readInteger(UInt32.self, p, at: 8, "ifinfomsg")
        _ = try readInteger(UInt32.self, p, at: 12, "ifinfomsg")  // ifi_change: the whole header must be there
        let attributes = try NetlinkAttribute.parse(p, from: 16, in: "RTM_NEWLINK")
        guard let name = attributes.attribute(IFLA.ifname) else { throw .malformed("RTM_NEWLINK for index \(index) without IFLA_IFNAME") }
        var link = NetInterface(
            index: index, name: name.string, flags: flags, mtu: try attributes.attribute(IFLA.mtu)?.u32("IFLA_MTU") ?? 0,
            macAddress: attributes.attribute(IFLA.address)?.payload ?? [], stats: InterfaceStats())
        if let s = attributes.attribute(IFLA.stats64) {
            // struct rtnl_link_stats64: u64 rx_packets, tx_packets, rx_bytes, tx_bytes, rx_errors,
            // tx_errors, rx_dropped, tx_dropped, ... (grown over kernel versions; the first 8 are fixed).
            guard s.payload.count >= 64 else { throw .malformed("IFLA_STATS64: \(s.payload.count) bytes, need 64") }
            var v: [UInt64] = []
            for i in 0..<8 { v.append(try readInteger(UInt64.self, s.payload, at: i * 8, "IFLA_STATS64")) }
            link.stats = InterfaceStats(
                rxPackets: v[0], txPackets: v[1], rxBytes: v[2], txBytes: v[3], rxErrors: v[4], txErrors: v[5], rxDropped: v[6], txDropped: v[7])
        } else if let s = attributes.attribute(IFLA.stats) {
            // struct rtnl_link_stats: the same fields as u32.
            guard s.payload.count >= 32 else { throw .malformed("IFLA_STATS: \(s.payload.count) bytes, need 32") }
            var v: [UInt64] = []
            for i in 0..<8 { v.append(UInt64(try readInteger(UInt32.self, s.payload, at: i * 4, "IFLA_STATS"))) }
            link.stats = InterfaceStats(
                rxPackets: v[0], txPackets: v[1], rxBytes: v[2], txBytes: v[3], rxErrors: v[4], txErrors: v[5], rxDropped: v[6], txDropped: v[7])
        }
        return link
    }

    /// An RTM_NEWADDR message; nil for a family other than IPv4 and IPv6.
    static func parseAddress(_ message: NetlinkMessage) throws(NetlinkError) -> NetAddress? {
        let p = message.payload
        guard message.header.type == RTM.newAddress else { throw .malformed("expected RTM_NEWADDR, got type \(message.header.type)") }
        let rawFamily = try readInteger(UInt8.self, p, at: 0, "ifaddrmsg")
        let index = try readInteger(UInt32.self, p, at: 4, "ifaddrmsg")
        guard let family = IPFamily(addressFamily: rawFamily) else { return nil }
        let prefix = p[1]
        guard prefix <= family.bitCount else { throw .malformed("RTM_NEWADDR prefix length \(prefix) for \(family)") }
        let attributes = try NetlinkAttribute.parse(p, from: 8, in: "RTM_NEWADDR")
        let local = try attributes.attribute(IFA.local)?.address(family, "IFA_LOCAL")
        let remote = try attributes.attribute(IFA.address)?.address(family, "IFA_ADDRESS")
        guard let address = local ?? remote else { throw .malformed("RTM_NEWADDR without IFA_LOCAL or IFA_ADDRESS") }
        let flags = try attributes.attribute(IFA.flags)?.u32("IFA_FLAGS") ?? UInt32(p[2])
        return NetAddress(
            interfaceIndex: Int32(bitPattern: index), address: address, prefixLength: prefix, scope: RouteScope(rawValue: p[3]),
            flags: AddressFlags(rawValue: flags), label: attributes.attribute(IFA.label)?.string,
            peer: local != nil && remote != nil && local != remote ? remote : nil)
    }

    /// An RTM_NEWROUTE message; nil for a family other than IPv4 and IPv6.
    static func parseRoute(_ message: NetlinkMessage) throws(NetlinkError) -> NetRoute? {
        let p = message.payload
        guard message.header.type == RTM.newRoute else { throw .malformed("expected RTM_NEWROUTE, got type \(message.header.type)") }
        _ = try readInteger(UInt32.self, p, at: 8, "rtmsg")  // the whole header must be there
        guard let family = IPFamily(addressFamily: p[0]) else { return nil }
        let prefix = p[1]
        guard prefix <= family.bitCount else { throw .malformed("RTM_NEWROUTE destination length \(prefix) for \(family)") }
        let attributes = try NetlinkAttribute.parse(p, from: 12, in: "RTM_NEWROUTE")
        var route = NetRoute(
            family: family, destination: try attributes.attribute(RTA.destination)?.address(family, "RTA_DST") ?? .any(family),
            prefixLength: prefix, gateway: try attributes.attribute(RTA.gateway)?.address(family, "RTA_GATEWAY"),
            interfaceIndex: try attributes.attribute(RTA.outputInterface).map { a throws(NetlinkError) in Int32(bitPattern: try a.u32("RTA_OIF")) },
            table: RouteTable(rawValue: try attributes.attribute(RTA.table)?.u32("RTA_TABLE") ?? UInt32(p[4])),
            protocol: RouteProtocol(rawValue: p[5]), scope: RouteScope(rawValue: p[6]), type: RouteType(rawValue: p[7]),
            priority: try attributes.attribute(RTA.priority)?.u32("RTA_PRIORITY"),
            preferredSource: try attributes.attribute(RTA.preferredSource)?.address(family, "RTA_PREFSRC"))
        if let multipath = attributes.attribute(RTA.multipath) {
            route.nextHops = try parseNextHops(multipath.payload, family: family)
        }
        return route
    }

    /// RTA_MULTIPATH: struct rtnexthop (len u16, flags u8, hops u8, ifindex i32) then its
    /// attributes, each 4-byte aligned.
    static func parseNextHops(_ bytes: [UInt8], family: IPFamily) throws(NetlinkError) -> [NetRoute.NextHop] {
        var hops: [NetRoute.NextHop] = []
        var at = 0
        while bytes.count - at >= 8 {
            let length = Int(try readInteger(UInt16.self, bytes, at: at, "rtnh_len"))
            guard length >= 8, length <= bytes.count - at else {
                throw .malformed("RTA_MULTIPATH: next hop at offset \(at) has length \(length), \(bytes.count - at) bytes left")
            }
            let hop = Array(bytes[at..<(at + length)])
            let attributes = try NetlinkAttribute.parse(hop, from: 8, in: "rtnexthop")
            hops.append(NetRoute.NextHop(
                interfaceIndex: try readInteger(Int32.self, hop, at: 4, "rtnh_ifindex"),
                gateway: try attributes.attribute(RTA.gateway)?.address(family, "RTA_GATEWAY"), hops: hop[3]))
            at += netlinkAlign(length)
        }
        return hops
    }
}
