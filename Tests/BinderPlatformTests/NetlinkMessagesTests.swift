import Glibc
import Testing

@testable import BinderPlatform

// Hand-made netlink bytes, independent of the codec's own builders (host byte order, as the kernel
// sends them).
func u16(_ v: UInt16) -> [UInt8] { withUnsafeBytes(of: v) { Array($0) } }
func u32(_ v: UInt32) -> [UInt8] { withUnsafeBytes(of: v) { Array($0) } }
func i32(_ v: Int32) -> [UInt8] { withUnsafeBytes(of: v) { Array($0) } }
func u64(_ v: UInt64) -> [UInt8] { withUnsafeBytes(of: v) { Array($0) } }

/// An rtattr with its padding.
func attr(_ type: UInt16, _ payload: [UInt8]) -> [UInt8] {
    let padding = (4 - payload.count % 4) % 4
    return u16(UInt16(4 + payload.count)) + u16(type) + payload + [UInt8](repeating: 0, count: padding)
}

/// A netlink message: nlmsghdr (length includes the payload's padding) then the payload.
func message(type: UInt16, flags: UInt16 = 0, seq: UInt32, pid: UInt32 = 1234, _ payload: [UInt8]) -> [UInt8] {
    let padded = payload + [UInt8](repeating: 0, count: (4 - payload.count % 4) % 4)
    return u32(UInt32(16 + padded.count)) + u16(type) + u16(flags) + u32(seq) + u32(pid) + padded
}

/// A link like a veth end: index 2, "v0", MTU 1500, 02:00:00:00:00:01, stats 1...8 (plus a
/// nested attribute the parser must skip).
func linkMessage(seq: UInt32 = 1, flags: UInt16 = 0x2, index: Int32 = 2, name: String = "v0") -> [UInt8] {
    let ifinfo: [UInt8] = [0, 0] + u16(1) + i32(index) + u32(0x11043) + u32(0)
    var stats: [UInt8] = []
    for i in 1...8 { stats += u64(UInt64(i) * 1000 + UInt64(i)) }
    stats += [UInt8](repeating: 0, count: 200 - 64)
    let linkInfo = attr(1, Array("veth".utf8) + [0])  // IFLA_INFO_KIND inside IFLA_LINKINFO
    let attrs = attr(3, Array(name.utf8) + [0]) + attr(4, u32(1500)) + attr(1, [2, 0, 0, 0, 0, 1])
        + attr(18 | 0x8000, linkInfo) + attr(23, stats)
    return message(type: 16, flags: flags, seq: seq, ifinfo + attrs)
}

@Suite("rtnetlink codec: requests as bytes, replies from bytes")
struct NetlinkMessagesTests {
    @Test("RTM_NEWADDR for 10.1.0.1/24 on index 2 is exactly the bytes ip address add sends")
    func newAddressBytes() {
        let bytes = RouteMessages.address(add: true, IPAddress("10.1.0.1")!, prefix: 24, interface: 2).encoded(sequence: 7)
        let expected: [UInt8] =
            [40, 0, 0, 0] + [20, 0] + [0x05, 0x06] + [7, 0, 0, 0] + [0, 0, 0, 0]  // nlmsghdr: REQUEST|ACK|EXCL|CREATE
            + [2, 24, 0, 0, 2, 0, 0, 0]  // ifaddrmsg: AF_INET, /24, flags 0, scope universe, index 2
            + [8, 0, 2, 0, 10, 1, 0, 1]  // IFA_LOCAL
            + [8, 0, 1, 0, 10, 1, 0, 1]  // IFA_ADDRESS
        #expect(bytes == expected)
    }

    @Test("set MTU, link up, routes and dumps encode their headers and attributes")
    func otherRequests() {
        let mtu = RouteMessages.setLink(interface: 3, mtu: 1400).encoded(sequence: 1)
        #expect(mtu == [40, 0, 0, 0, 16, 0, 5, 0, 1, 0, 0, 0, 0, 0, 0, 0] + [0, 0, 0, 0] + i32(3) + u32(0) + u32(0) + [8, 0, 4, 0] + u32(1400))
        let up = RouteMessages.setLink(interface: 3, flags: 1, change: 1).encoded(sequence: 2)
        #expect(Array(up[16...]) == [0, 0, 0, 0] + i32(3) + u32(1) + u32(1))

        let route = RouteMessages.route(
            add: true, destination: IPAddress("fd00:9::")!, prefix: 64, gateway: IPAddress("fd00:1::2")!, interface: 2,
            table: RouteTable(rawValue: 1000), protocol: .static, scope: .universe, type: .unicast, metric: 42
        ).encoded(sequence: 3)
        #expect(Array(route[0..<8]) == u32(UInt32(route.count)) + [24, 0, 0x05, 0x06])
        #expect(Array(route[16..<28]) == [10, 64, 0, 0, 0, 4, 0, 1, 0, 0, 0, 0])  // table 1000 goes in RTA_TABLE
        #expect(Array(route[28...]) ==
            attr(1, IPAddress("fd00:9::")!.bytes) + attr(5, IPAddress("fd00:1::2")!.bytes) + attr(4, u32(2)) + attr(6, u32(42)) + attr(15, u32(1000)))

        let delete = RouteMessages.route(
            add: false, destination: IPAddress("10.9.0.0")!, prefix: 16, gateway: nil, interface: nil,
            table: .main, protocol: .unspecified, scope: .nowhere, type: .unspecified, metric: nil
        ).encoded(sequence: 4)
        #expect(delete == [36, 0, 0, 0, 25, 0, 5, 0, 4, 0, 0, 0, 0, 0, 0, 0] + [2, 16, 0, 0, 254, 0, 255, 0, 0, 0, 0, 0] + attr(1, [10, 9, 0, 0]))

        #expect(RouteMessages.dumpLinks().encoded(sequence: 9) == [32, 0, 0, 0, 18, 0, 0x01, 0x03, 9, 0, 0, 0, 0, 0, 0, 0] + [UInt8](repeating: 0, count: 16))
        #expect(RouteMessages.dumpAddresses(family: .v6).body == [10, 0, 0, 0, 0, 0, 0, 0])
    }

    @Test("a link: IFLA_IFNAME, IFLA_MTU, IFLA_ADDRESS, IFLA_STATS64, flags; nested attributes skipped")
    func parsesLink() throws {
        let m = try #require(try NetlinkMessage.split(linkMessage()).first)
        let link = try RouteMessages.parseLink(m)
        #expect(link.index == 2 && link.name == "v0" && link.mtu == 1500)
        #expect(link.macAddress == [2, 0, 0, 0, 0, 1] && link.macAddressString == "02:00:00:00:00:01")
        #expect(link.isUp && link.isRunning && link.hasCarrier && !link.isLoopback)
        #expect(link.stats == InterfaceStats(
            rxPackets: 1001, txPackets: 2002, rxBytes: 3003, txBytes: 4004, rxErrors: 5005, txErrors: 6006, rxDropped: 7007, txDropped: 8008))
    }

    @Test("a link without statistics has zero stats; 32-bit IFLA_STATS is used when there is no IFLA_STATS64")
    func linkStatsFallback() throws {
        let ifinfo: [UInt8] = [0, 0] + u16(772) + i32(1) + u32(0x9) + u32(0)
        let bare = message(type: 16, seq: 1, ifinfo + attr(3, Array("lo".utf8) + [0]))
        let link = try RouteMessages.parseLink(try NetlinkMessage.split(bare)[0])
        #expect(link.stats == InterfaceStats() && link.macAddress.isEmpty && link.macAddressString == "" && link.isLoopback)
        var stats32: [UInt8] = []
        for i in 1...8 { stats32 += u32(UInt32(i)) }
        let old = message(type: 16, seq: 1, ifinfo + attr(3, Array("lo".utf8) + [0]) + attr(7, stats32 + [UInt8](repeating: 0, count: 60)))
        let s = try RouteMessages.parseLink(try NetlinkMessage.split(old)[0]).stats
        #expect(s.rxPackets == 1 && s.txPackets == 2 && s.rxBytes == 3 && s.txBytes == 4 && s.txDropped == 8)
    }

    @Test("addresses: IPv6 from IFA_ADDRESS with IFA_FLAGS; IPv4 from IFA_LOCAL with its label; a peer")
    func parsesAddresses() throws {
        let v6 = message(
            type: 20, seq: 1,
            [10, 64, 0x80, 0] + u32(2) + attr(1, IPAddress("fd00::1")!.bytes) + attr(6, [UInt8](repeating: 0xff, count: 16)) + attr(8, u32(0x82)))
        let a = try #require(try RouteMessages.parseAddress(try NetlinkMessage.split(v6)[0]))
        #expect(a.interfaceIndex == 2 && a.family == .v6 && a.prefixLength == 64 && a.scope == .universe)
        #expect(a.addressString == "fd00::1" && a.description == "fd00::1/64" && a.flags == [.noDAD, .permanent] && a.label == nil && a.peer == nil)

        let v4 = message(
            type: 20, seq: 1,
            [2, 24, 0x80, 253] + u32(3) + attr(1, [10, 1, 0, 1]) + attr(2, [10, 1, 0, 1]) + attr(3, Array("v0:1".utf8) + [0]))
        let b = try #require(try RouteMessages.parseAddress(try NetlinkMessage.split(v4)[0]))
        #expect(b.address == IPAddress("10.1.0.1") && b.prefixLength == 24 && b.scope == .link && b.label == "v0:1" && b.flags == .permanent)

        let ptp = message(type: 20, seq: 1, [2, 32, 0, 0] + u32(4) + attr(2, [10, 0, 0, 1]) + attr(1, [10, 0, 0, 2]))
        let c = try #require(try RouteMessages.parseAddress(try NetlinkMessage.split(ptp)[0]))
        #expect(c.address == IPAddress("10.0.0.1") && c.peer == IPAddress("10.0.0.2"))

        let other = message(type: 20, seq: 1, [17, 0, 0, 0] + u32(4))  // AF_PACKET: not ours
        #expect(try RouteMessages.parseAddress(try NetlinkMessage.split(other)[0]) == nil)
    }

    @Test("routes: destination, gateway, output interface, table (RTA_TABLE wins), protocol, scope, type, metric; default; multipath")
    func parsesRoutes() throws {
        let r = message(
            type: 24, seq: 1,
            [2, 16, 0, 0, 254, 4, 0, 1] + u32(0) + attr(15, u32(254)) + attr(1, [10, 9, 0, 0]) + attr(5, [10, 1, 0, 2])
                + attr(4, u32(2)) + attr(6, u32(7)))
        let route = try #require(try RouteMessages.parseRoute(try NetlinkMessage.split(r)[0]))
        #expect(route == NetRoute(
            family: .v4, destination: IPAddress("10.9.0.0")!, prefixLength: 16, gateway: IPAddress("10.1.0.2"), interfaceIndex: 2,
            table: .main, protocol: .static, scope: .universe, type: .unicast, priority: 7))
        #expect(route.description == "10.9.0.0/16 via 10.1.0.2 dev#2 proto static metric 7")

        let big = message(type: 24, seq: 1, [10, 0, 0, 0, 0, 3, 0, 1] + u32(0) + attr(15, u32(1000)) + attr(4, u32(5)))
        let d = try #require(try RouteMessages.parseRoute(try NetlinkMessage.split(big)[0]))
        #expect(d.isDefault && d.destination == IPAddress("::") && d.table == RouteTable(rawValue: 1000) && d.gateway == nil && d.priority == nil)

        let hop1 = u16(16) + [0, 0] + i32(2) + attr(5, [10, 1, 0, 2])
        let hop2 = u16(16) + [0, 1] + i32(3) + attr(5, [10, 2, 0, 2])
        let multi = message(type: 24, seq: 1, [2, 0, 0, 0, 254, 4, 0, 1] + u32(0) + attr(9, hop1 + hop2))
        let m = try #require(try RouteMessages.parseRoute(try NetlinkMessage.split(multi)[0]))
        #expect(m.interfaceIndex == nil && m.nextHops == [
            NetRoute.NextHop(interfaceIndex: 2, gateway: IPAddress("10.1.0.2"), hops: 0),
            NetRoute.NextHop(interfaceIndex: 3, gateway: IPAddress("10.2.0.2"), hops: 1),
        ])
    }

    @Test("NLMSG_ERROR with -EEXIST throws the errno and the extended-ACK text; error 0 is the ACK")
    func errorAndAck() throws {
        let request = u32(40) + u16(20) + u16(0x605) + u32(5) + u32(0)  // the request's header, capped
        let failure = message(type: 2, flags: 0x100 | 0x200, seq: 5, i32(-EEXIST) + request + attr(1, Array("Address already assigned".utf8) + [0]))
        var collector = NetlinkReplyCollector(sequence: 5)
        #expect(throws: NetlinkError.kernel(errno: EEXIST, message: "Address already assigned")) { try collector.consume(failure) }

        let uncapped = message(type: 2, seq: 5, i32(-ENODEV) + request + [UInt8](repeating: 0, count: 24))  // no TLVs: no text
        var c2 = NetlinkReplyCollector(sequence: 5)
        #expect(throws: NetlinkError.kernel(errno: ENODEV, message: nil)) { try c2.consume(uncapped) }

        var c3 = NetlinkReplyCollector(sequence: 5)
        #expect(try c3.consume(message(type: 2, flags: 0x100, seq: 5, i32(0) + request)))
        #expect(c3.messages.isEmpty && c3.isComplete)
    }

    @Test("a multipart dump over several datagrams ends at NLMSG_DONE; other sequence numbers are skipped")
    func multipartDump() throws {
        var collector = NetlinkReplyCollector(sequence: 9)
        let first = linkMessage(seq: 9, index: 1, name: "lo") + linkMessage(seq: 8, index: 7, name: "stale") + linkMessage(seq: 9, index: 2)
        #expect(try collector.consume(first) == false)
        let second = linkMessage(seq: 9, index: 3, name: "v1") + message(type: 3, flags: 0x2, seq: 9, i32(0))
        #expect(try collector.consume(second) == true)
        #expect(try collector.messages.map { try RouteMessages.parseLink($0).name } == ["lo", "v0", "v1"])
        #expect(!collector.interrupted)

        var interrupted = NetlinkReplyCollector(sequence: 4)
        #expect(try interrupted.consume(linkMessage(seq: 4, flags: 0x2 | 0x10) + message(type: 3, flags: 0x2, seq: 4, i32(0))))
        #expect(interrupted.interrupted)

        var failed = NetlinkReplyCollector(sequence: 4)
        #expect(throws: NetlinkError.kernel(errno: ENOBUFS, message: nil)) { try failed.consume(message(type: 3, flags: 0x2, seq: 4, i32(-ENOBUFS))) }
    }

    @Test("truncated and garbage input throws a clear error")
    func malformedThrows() throws {
        /// The description of the `.malformed` error `body` throws; nil when it throws nothing else.
        func malformed(_ body: () throws -> Void) -> String? {
            do {
                try body()
                return nil
            } catch let error as NetlinkError {
                guard case .malformed = error else { return nil }
                return error.description
            } catch {
                return nil
            }
        }
        var c = NetlinkReplyCollector(sequence: 1)
        #expect(malformed { _ = try c.consume([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]) }?.contains("message header truncated") == true)
        #expect(malformed { _ = try c.consume(u32(8) + [UInt8](repeating: 0, count: 12)) }?.contains("nlmsg_len 8") == true)
        #expect(malformed { _ = try c.consume(u32(100) + [UInt8](repeating: 0, count: 12)) }?.contains("nlmsg_len 100") == true)
        #expect(malformed { _ = try c.consume(u32(18) + u16(2) + u16(0) + u32(1) + u32(0) + [0, 0]) }?.contains("NLMSG_ERROR error truncated") == true)

        let shortHeader = message(type: 16, seq: 1, [0, 0, 0, 0, 2, 0, 0, 0])
        #expect(malformed { _ = try RouteMessages.parseLink(try NetlinkMessage.split(shortHeader)[0]) }?.contains("ifinfomsg truncated") == true)
        let ifinfo: [UInt8] = [0, 0, 1, 0] + i32(2) + u32(0) + u32(0)
        let overlong = message(type: 16, seq: 1, ifinfo + u16(64) + u16(3) + Array("v0\0\0".utf8))
        #expect(malformed { _ = try RouteMessages.parseLink(try NetlinkMessage.split(overlong)[0]) }?.contains("has length 64") == true)
        let badMTU = message(type: 16, seq: 1, ifinfo + attr(3, Array("v0\0".utf8)) + attr(4, [1, 2]))
        #expect(malformed { _ = try RouteMessages.parseLink(try NetlinkMessage.split(badMTU)[0]) }?.contains("IFLA_MTU: 2 bytes") == true)
        let shortStats = message(type: 16, seq: 1, ifinfo + attr(3, Array("v0\0".utf8)) + attr(23, [UInt8](repeating: 0, count: 10)))
        #expect(malformed { _ = try RouteMessages.parseLink(try NetlinkMessage.split(shortStats)[0]) }?.contains("IFLA_STATS64") == true)
        let noName = message(type: 16, seq: 1, ifinfo)
        #expect(malformed { _ = try RouteMessages.parseLink(try NetlinkMessage.split(noName)[0]) }?.contains("without IFLA_IFNAME") == true)
        let badAddress = message(type: 20, seq: 1, [2, 24, 0, 0] + u32(2) + attr(2, [10, 1, 0, 1, 9]))
        #expect(malformed { _ = try RouteMessages.parseAddress(try NetlinkMessage.split(badAddress)[0]) }?.contains("5 bytes for an IPv4 address") == true)
        let badPrefix = message(type: 24, seq: 1, [2, 40, 0, 0, 254, 4, 0, 1] + u32(0))
        #expect(malformed { _ = try RouteMessages.parseRoute(try NetlinkMessage.split(badPrefix)[0]) }?.contains("destination length 40") == true)
        let badHop = message(type: 24, seq: 1, [2, 0, 0, 0, 254, 4, 0, 1] + u32(0) + attr(9, u16(200) + [0, 0] + i32(2)))
        #expect(malformed { _ = try RouteMessages.parseRoute(try NetlinkMessage.split(badHop)[0]) }?.contains("next hop") == true)
    }

    @Test("every truncation and random corruption of a valid dump throws or parses, never traps")
    func fuzzedInputNeverTraps() {
        let valid = linkMessage(seq: 3) + message(type: 20, seq: 3, [10, 64, 0, 0] + u32(2) + attr(1, IPAddress("fd00::1")!.bytes))
            + message(type: 24, seq: 3, [2, 16, 0, 0, 254, 4, 0, 1] + u32(0) + attr(1, [10, 9, 0, 0]) + attr(9, u16(16) + [0, 0] + i32(2) + attr(5, [1, 2, 3, 4])))
            + message(type: 3, seq: 3, i32(0))
        func exercise(_ bytes: [UInt8]) {
            var c = NetlinkReplyCollector(sequence: 3)
            _ = try? c.consume(bytes)
            for m in (try? NetlinkMessage.split(bytes)) ?? [] {
                _ = try? RouteMessages.parseLink(m)
                _ = try? RouteMessages.parseAddress(m)
                _ = try? RouteMessages.parseRoute(m)
            }
        }
        for n in 0...valid.count { exercise(Array(valid[0..<n])) }
        var seed: UInt64 = 0x9E37_79B9_7F4A_7C15
        func next() -> Int {
            seed = seed &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            return Int(truncatingIfNeeded: seed >> 33)
        }
        for _ in 0..<2000 {
            var bytes = valid
            for _ in 0..<(1 + next() % 4) { bytes[next() % bytes.count] = UInt8(truncatingIfNeeded: next()) }
            exercise(bytes)
        }
        // Whole messages of random bytes behind a plausible header.
        for _ in 0..<500 {
            let body = (0..<(next() % 80)).map { _ in UInt8(truncatingIfNeeded: next()) }
            for type: UInt16 in [2, 3, 16, 20, 24] { exercise(message(type: type, seq: 3, body)) }
        }
    }
}

@Suite("IP addresses and socket addresses")
struct IPAddressTests {
    @Test("inet_pton parses, inet_ntop formats")
    func parseAndFormat() {
        #expect(IPAddress("10.1.0.1")?.bytes == [10, 1, 0, 1] && IPAddress("10.1.0.1")?.family == .v4)
        #expect(IPAddress("fd00::1")?.bytes == [0xfd] + [UInt8](repeating: 0, count: 14) + [1])
        for text in ["10.1.0.1", "0.0.0.0", "255.255.255.255", "fd00::1", "::", "::1", "fe80::ff:fe00:1", "::ffff:1.2.3.4", "2001:db8:1:2:3:4:5:6"] {
            #expect(IPAddress(text)?.description == text)
        }
        #expect(IPAddress("FD00:0:0::1")?.description == "fd00::1")
        for bad in ["", "10.1.0", "10.1.0.256", "fd00::1/64", "fe80::1%2", "host", " 10.1.0.1"] { #expect(IPAddress(bad) == nil) }
        #expect(IPAddress(bytes: [1, 2, 3]) == nil)
        #expect(IPAddress.any(.v6).description == "::" && IPAddress.loopbackV4.description == "127.0.0.1" && IPAddress.loopbackV6.description == "::1")
    }

    @Test("socket addresses format and parse with their port")
    func socketAddresses() {
        #expect(InetSocketAddress(IPAddress("10.1.0.1")!, port: 53).description == "10.1.0.1:53")
        #expect(InetSocketAddress(IPAddress("fd00::1")!, port: 53).description == "[fd00::1]:53")
        #expect(InetSocketAddress(IPAddress("fe80::1")!, port: 53, scopeID: 2).description == "[fe80::1%2]:53")
        #expect(InetSocketAddress("[fd00::1]:8080") == InetSocketAddress(IPAddress("fd00::1")!, port: 8080))
        #expect(InetSocketAddress("10.1.0.1:0") == InetSocketAddress(IPAddress("10.1.0.1")!, port: 0))
        for bad in ["10.1.0.1", "fd00::1:53", "[10.1.0.1]:5", "10.1.0.1:70000", ":53"] { #expect(InetSocketAddress(bad) == nil) }
    }
}
