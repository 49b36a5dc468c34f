import BinderPlatform
import Foundation
import Glibc
import Testing

/// The inode of a namespace file (stat follows the link): identifies the namespace.
private func inode(_ path: String) -> UInt64 {
    var st = stat()
    return stat(path, &st) == 0 ? UInt64(st.st_ino) : 0
}

@Suite("RouteNetlink in namespaces of its own: reads, changes, errors", .enabled(if: getuid() == 0, "needs root: creates network namespaces"))
struct RouteNetlinkTests {
    @Test("NetworkNamespace.run works on another thread in the namespace and leaves the caller where it was")
    func runInNamespace() throws {
        try withNamespaces(1, tag: "run") { ns in
            let path = NetworkNamespace.path(named: ns[0])
            let before = inode("/proc/thread-self/ns/net")
            let inside = try NetworkNamespace.run(path: path) { inode("/proc/thread-self/ns/net") }
            #expect(inside == inode(path) && inside != before)
            #expect(inode("/proc/thread-self/ns/net") == before)
            #expect(throws: SystemError("thrown inside", EIO)) { try NetworkNamespace.run(path: path) { () throws(SystemError) in throw SystemError("thrown inside", EIO) } }
            #expect(throws: SystemError("setns /run/netns/\(ns[0])-missing", ENOENT)) { try RouteNetlink(networkNamespace: path + "-missing") }
            #expect(throws: SystemError("setns /proc/self/ns/uts", EINVAL)) { try NetworkNamespace.run(path: "/proc/self/ns/uts") { 0 } }
        }
    }

    @Test("interfaces, addresses and routes are what was configured and what ip -j reports; stats count UDP sent across the veth")
    func readsMatchIproute2() throws {
        try withNamespaces(2, tag: "read") { ns in
            let (a, b) = (ns[0], ns[1])
            try makeVethPair(a, b)
            try IPRoute2.run(["-n", a, "route", "add", "10.9.0.0/16", "via", "10.1.0.2"])
            try IPRoute2.run(["-n", a, "route", "add", "default", "via", "10.1.0.2", "metric", "7"])
            try IPRoute2.run(["-n", a, "route", "add", "fd00:9::/64", "via", "fd00:1::2", "metric", "50"])
            let netlink = try RouteNetlink(networkNamespace: NetworkNamespace.path(named: a))
            let peer = try RouteNetlink(networkNamespace: NetworkNamespace.path(named: b))
            try waitSettled(netlink, "v0")
            try waitSettled(peer, "v1")

            // Interfaces: lo (down, as in every new namespace) and v0.
            let links = try netlink.interfaces()
            #expect(links.map(\.name) == ["lo", "v0"])
            let lo = try #require(links.first { $0.name == "lo" })
            #expect(lo.index == 1 && lo.isLoopback && !lo.isUp && lo.mtu == 65536 && lo.macAddressString == "00:00:00:00:00:00")
            let v0 = try #require(links.first { $0.name == "v0" })
            #expect(v0.isUp && v0.isRunning && v0.hasCarrier && !v0.isLoopback && v0.mtu == 1500)
            #expect(v0.macAddress == [2, 0, 0, 0, 0, 1] && v0.macAddressString == "02:00:00:00:00:01")
            let ipLinks = try IPRoute2.json(["-n", a, "link"])
            #expect(ipLinks.count == links.count)
            for (j, link) in zip(ipLinks, links) {
                #expect(j["ifindex"] as? Int == Int(link.index) && j["ifname"] as? String == link.name)
                #expect(j["mtu"] as? Int == Int(link.mtu) && j["address"] as? String == link.macAddressString)
                #expect((j["flags"] as? [String])?.filter { $0 != "M-DOWN" } == iproute2FlagNames(link.flags), "flags of \(link.name)")
            }

            // Addresses: the two configured on v0 and its link-local one (from the MAC, EUI-64).
            let addresses = try netlink.addresses()
            #expect(Set(addresses.map { "\($0.interfaceIndex) \($0) \($0.scope)" }) == [
                "\(v0.index) 10.1.0.1/24 global", "\(v0.index) fd00:1::1/64 global", "\(v0.index) fe80::ff:fe00:1/64 link",
            ])
            #expect(addresses.first { $0.addressString == "10.1.0.1" }?.label == "v0")
            #expect(addresses.first { $0.addressString == "fd00:1::1" }?.flags == [.noDAD, .permanent])
            #expect(try netlink.addresses(family: .v4).map(\.description) == ["10.1.0.1/24"])
            #expect(try Set(netlink.addresses(family: .v6).map(\.description)) == ["fd00:1::1/64", "fe80::ff:fe00:1/64"])
            var fromIP: Set<String> = []
            for link in try IPRoute2.json(["-n", a, "address"]) {
                for info in link["addr_info"] as? [[String: Any]] ?? [] {
                    let flags = Set(info.compactMap { key, value in value as? Bool == true ? key : nil })
                    fromIP.insert(
                        "\(link["ifindex"] as? Int ?? -1) \(info["family"] as? String ?? "?") \(info["local"] as? String ?? "?")/\(info["prefixlen"] as? Int ?? -1)"
                            + " \(info["scope"] as? String ?? "?") \(info["label"] as? String ?? "-") \(flags.sorted())")
                }
            }
            let ours = Set(addresses.map { a in
                "\(a.interfaceIndex) \(a.family == .v4 ? "inet" : "inet6") \(a) \(a.scope) \(a.label ?? "-") \(iproute2AddressFlagNames(a.flags).sorted())"
            })
            #expect(ours == fromIP)

            // Routes, per family in the main table, and every table of both families.
            let indexes = try linkIndexes(a)
            let v4 = try netlink.routes(family: .v4)
            #expect(Set(v4.map(routeKey)) == [
                "type 1 default via 10.1.0.2 dev \(v0.index) table 254 proto 3 scope 0 metric 7 src -",
                "type 1 10.1.0.0/24 via - dev \(v0.index) table 254 proto 2 scope 253 metric - src 10.1.0.1",
                "type 1 10.9.0.0/16 via 10.1.0.2 dev \(v0.index) table 254 proto 3 scope 0 metric - src -",
            ])
            #expect(v4.first { $0.isDefault }?.gateway == IPAddress("10.1.0.2"))
            let v6 = try netlink.routes(family: .v6)
            #expect(v6.contains { routeKey($0) == "type 1 fd00:9::/64 via fd00:1::2 dev \(v0.index) table 254 proto 3 scope 0 metric 50 src -" })
            for (family, flag) in [(IPFamily.v4, "-4"), (.v6, "-6")] {
                let ip = try IPRoute2.json(["-d", "-N", flag, "-n", a, "route", "show", "table", "main"])
                #expect(Set(try netlink.routes(family: family).map(routeKey)) == Set(ip.map { routeKey($0, links: indexes, table: 254) }), "\(family) main")
            }
            let all = try netlink.routes(table: nil)
            #expect(all.contains { $0.table == .local && $0.type == .local && $0.destination == IPAddress("10.1.0.1") })
            let ipAll = try IPRoute2.json(["-d", "-N", "-n", a, "route", "show", "table", "all"])
            #expect(Set(all.map(routeKey)) == Set(ipAll.map { routeKey($0, links: indexes, table: 0) }))
            #expect(try netlink.routes(family: .v4, table: .local).allSatisfy { $0.table == .local && $0.family == .v4 })

            // Statistics: datagrams sent from a to b show in v0's tx and v1's rx counters, and ours
            // lie between two readings of ip's.
            let receiver = try InetSocket(.udp, family: .v4, networkNamespace: NetworkNamespace.path(named: b))
            let target = try receiver.bind(InetSocketAddress(IPAddress("10.1.0.2")!, port: 0))
            let sender = try InetSocket(.udp, family: .v4, networkNamespace: NetworkNamespace.path(named: a))
            let txBefore = try #require(try netlink.interface(named: "v0")).stats
            let rxBefore = try #require(try peer.interface(named: "v1")).stats
            let count = 20, size = 100
            var buffer = [UInt8](repeating: 0, count: 2048)
            for i in 0..<count {
                #expect(try sender.sendTo(target, [UInt8](repeating: UInt8(i), count: size)) == size)
                #expect(receiver.waitReadable(timeoutMillis: 5000))
                let received = try receiver.receiveFrom(into: &buffer)
                #expect(received.length == size)
            }
            let wire = UInt64(count * (size + 8 + 20 + 14))  // UDP, IPv4 and Ethernet headers
            let ipFirst = try iproute2Stats(a, "v0")
            let txAfter = try #require(try netlink.interface(named: "v0")).stats
            let ipSecond = try iproute2Stats(a, "v0")
            let rxAfter = try #require(try peer.interface(named: "v1")).stats
            #expect(txAfter.txPackets - txBefore.txPackets >= UInt64(count) && txAfter.txBytes - txBefore.txBytes >= wire)
            #expect(rxAfter.rxPackets - rxBefore.rxPackets >= UInt64(count) && rxAfter.rxBytes - rxBefore.rxBytes >= wire)
            #expect(txAfter.txErrors == 0 && txAfter.txDropped == 0 && rxAfter.rxErrors == 0)
            let oursNow = [txAfter.rxBytes, txAfter.rxPackets, txAfter.txBytes, txAfter.txPackets]
            for i in 0..<4 { #expect(ipFirst[i] <= oursNow[i] && oursNow[i] <= ipSecond[i], "counter \(i): ip \(ipFirst[i])...\(ipSecond[i]), ours \(oursNow[i])") }
        }
    }

    @Test("add/remove addresses, MTU, up/down, add/remove routes: each visible through ip -j; refusals carry the kernel's errno")
    func changes() throws {
        try withNamespaces(2, tag: "chg") { ns in
            let a = ns[0]
            try makeVethPair(a, ns[1])
            let netlink = try RouteNetlink(networkNamespace: NetworkNamespace.path(named: a))
            let v0 = try #require(try netlink.interface(named: "v0")).index
            try waitSettled(netlink, "v0")
            func ipAddresses() throws -> [[String: Any]] {
                try IPRoute2.json(["-n", a, "address", "show", "dev", "v0"]).first?["addr_info"] as? [[String: Any]] ?? []
            }
            func ipLink() throws -> [String: Any] { try IPRoute2.json(["-n", a, "link", "show", "dev", "v0"]).first ?? [:] }

            // Addresses.
            try netlink.addAddress(IPAddress("10.2.0.1")!, prefix: 16, interface: v0)
            try netlink.addAddress(IPAddress("fd00:2::1")!, prefix: 64, interface: v0, flags: .noDAD)
            let added = try ipAddresses()
            #expect(added.contains { $0["local"] as? String == "10.2.0.1" && $0["prefixlen"] as? Int == 16 && $0["scope"] as? String == "global" })
            #expect(added.contains { $0["local"] as? String == "fd00:2::1" && $0["prefixlen"] as? Int == 64 && $0["nodad"] as? Bool == true })
            #expect(try netlink.addresses().contains(NetAddress(
                interfaceIndex: v0, address: IPAddress("10.2.0.1")!, prefixLength: 16, scope: .universe, flags: .permanent, label: "v0")))
            let twice = #expect(throws: SystemError.self) { try netlink.addAddress(IPAddress("10.2.0.1")!, prefix: 16, interface: v0) }
            #expect(twice?.errno == EEXIST)
            let noDevice = #expect(throws: SystemError.self) { try netlink.addAddress(IPAddress("10.3.0.1")!, prefix: 24, interface: 9999) }
            #expect(noDevice?.errno == ENODEV)
            try netlink.removeAddress(IPAddress("10.2.0.1")!, prefix: 16, interface: v0)
            try netlink.removeAddress(IPAddress("fd00:2::1")!, prefix: 64, interface: v0)
            #expect(try !ipAddresses().contains { ["10.2.0.1", "fd00:2::1"].contains($0["local"] as? String ?? "") })
            #expect(try !netlink.addresses().contains { $0.addressString == "10.2.0.1" })
            let gone = #expect(throws: SystemError.self) { try netlink.removeAddress(IPAddress("10.2.0.1")!, prefix: 16, interface: v0) }
            #expect(gone?.errno == EADDRNOTAVAIL)
            #expect(throws: SystemError("RTM_NEWADDR: prefix length 33 for IPv4", EINVAL)) {
                try netlink.addAddress(IPAddress("10.2.0.1")!, prefix: 33, interface: v0)
            }

            // MTU.
            try netlink.setMTU(1400, interface: v0)
            #expect(try ipLink()["mtu"] as? Int == 1400)
            #expect(try netlink.interface(named: "v0")?.mtu == 1400)
            let tooSmall = #expect(throws: SystemError.self) { try netlink.setMTU(10, interface: v0) }
            #expect(tooSmall?.errno == EINVAL)
            let noLink = #expect(throws: SystemError.self) { try netlink.setMTU(1400, interface: 9999) }
            #expect(noLink?.errno == ENODEV)

            // Routes: through a gateway, out of a device (link scope), IPv6 with a metric, the
            // default route, a table above 255.
            /// `ip route show ARGS` (ip leaves out the table of entries when one table was asked for).
            func ipRoutes(_ args: [String], family: String = "-4", table: UInt32 = 254) throws -> Set<String> {
                Set(try IPRoute2.json(["-d", "-N", family, "-n", a, "route", "show"] + args).map { routeKey($0, links: ["v0": v0], table: table) })
            }
            let gateway = IPAddress("10.1.0.2")!
            try netlink.addRoute(destination: IPAddress("10.8.0.0")!, prefix: 16, gateway: gateway)
            try netlink.addRoute(destination: IPAddress("10.7.0.0")!, prefix: 16, interface: v0)
            try netlink.addRoute(destination: IPAddress("0.0.0.0")!, prefix: 0, gateway: gateway, metric: 30)
            try netlink.addRoute(destination: IPAddress("fd00:8::")!, prefix: 64, gateway: IPAddress("fd00:1::2"), interface: v0, metric: 42)
            try netlink.addRoute(destination: IPAddress("10.6.0.0")!, prefix: 16, gateway: gateway, table: RouteTable(rawValue: 1000))
            let v4 = try ipRoutes(["table", "main"])
            #expect(v4.contains("type 1 10.8.0.0/16 via 10.1.0.2 dev \(v0) table 254 proto 4 scope 0 metric - src -"))
            #expect(v4.contains("type 1 10.7.0.0/16 via - dev \(v0) table 254 proto 4 scope 253 metric - src -"))
            #expect(v4.contains("type 1 default via 10.1.0.2 dev \(v0) table 254 proto 4 scope 0 metric 30 src -"))
            #expect(try ipRoutes(["table", "main"], family: "-6").contains("type 1 fd00:8::/64 via fd00:1::2 dev \(v0) table 254 proto 4 scope 0 metric 42 src -"))
            #expect(try ipRoutes(["table", "1000"], table: 1000) == ["type 1 10.6.0.0/16 via 10.1.0.2 dev \(v0) table 1000 proto 4 scope 0 metric - src -"])
            #expect(try Set(netlink.routes(family: .v4).map(routeKey)) == ipRoutes(["table", "main"]))
            #expect(try netlink.routes(table: RouteTable(rawValue: 1000)).map(routeKey) == ["type 1 10.6.0.0/16 via 10.1.0.2 dev \(v0) table 1000 proto 4 scope 0 metric - src -"])

            let again = #expect(throws: SystemError.self) { try netlink.addRoute(destination: IPAddress("10.8.0.0")!, prefix: 16, gateway: gateway) }
            #expect(again?.errno == EEXIST)
            let unreachable = #expect(throws: SystemError.self) {
                try netlink.addRoute(destination: IPAddress("10.5.0.0")!, prefix: 16, gateway: IPAddress("192.0.2.1"))
            }
            #expect(unreachable?.errno == ENETUNREACH)
            let hostBits = #expect(throws: SystemError.self) { try netlink.addRoute(destination: IPAddress("10.5.0.1")!, prefix: 16, interface: v0) }
            #expect(hostBits?.errno == EINVAL)
            #expect(throws: SystemError("RTM_NEWROUTE: IPv6 gateway for an IPv4 destination", EINVAL)) {
                try netlink.addRoute(destination: IPAddress("10.5.0.0")!, prefix: 16, gateway: IPAddress("fd00:1::2"))
            }

            try netlink.removeRoute(destination: IPAddress("10.8.0.0")!, prefix: 16)
            try netlink.removeRoute(destination: IPAddress("10.7.0.0")!, prefix: 16, interface: v0)
            try netlink.removeRoute(destination: IPAddress("0.0.0.0")!, prefix: 0, gateway: gateway, metric: 30)
            try netlink.removeRoute(destination: IPAddress("fd00:8::")!, prefix: 64, metric: 42)
            try netlink.removeRoute(destination: IPAddress("10.6.0.0")!, prefix: 16, table: RouteTable(rawValue: 1000))
            #expect(try ipRoutes(["table", "main"]) == ["type 1 10.1.0.0/24 via - dev \(v0) table 254 proto 2 scope 253 metric - src 10.1.0.1"])
            #expect(try !ipRoutes(["table", "main"], family: "-6").contains { $0.contains("fd00:8::") })
            #expect(try ipRoutes(["table", "1000"], table: 1000).isEmpty)
            let missing = #expect(throws: SystemError.self) { try netlink.removeRoute(destination: IPAddress("10.8.0.0")!, prefix: 16) }
            #expect(missing?.errno == ESRCH)

            // Down and up (last: taking v0 down flushes its IPv6 addresses and its routes).
            try netlink.setUp(false, interface: v0)
            #expect(try (ipLink()["flags"] as? [String])?.contains("UP") == false)
            #expect(try netlink.interface(named: "v0")?.isUp == false)
            try netlink.setUp(true, interface: v0)
            #expect(try (ipLink()["flags"] as? [String])?.contains("UP") == true)
            #expect(try netlink.interface(named: "v0")?.isUp == true)
            try waitUntil("v0 runs again") { try netlink.interface(named: "v0")?.isRunning == true }

            // A closed RouteNetlink refuses further calls.
            netlink.close()
            #expect(throws: SystemError("RTM_GETLINK: RouteNetlink is closed", EBADF)) { try netlink.interfaces() }
        }
    }
}

@Suite("UDP and TCP sockets across namespaces", .enabled(if: getuid() == 0, "needs root: creates network namespaces"))
struct InetSocketTests {
    @Test("a datagram from namespace A reaches B with A's real address as its source; the reply comes back", arguments: [IPFamily.v4, .v6])
    func udpAcrossNamespaces(family: IPFamily) throws {
        try withNamespaces(2, tag: "udp") { ns in
            let (a, b) = (NetworkNamespace.path(named: ns[0]), NetworkNamespace.path(named: ns[1]))
            try makeVethPair(ns[0], ns[1])
            let (addressA, addressB) = family == .v4 ? (IPAddress("10.1.0.1")!, IPAddress("10.1.0.2")!) : (IPAddress("fd00:1::1")!, IPAddress("fd00:1::2")!)

            let receiver = try InetSocket(.udp, family: family, networkNamespace: b)
            let bound = try receiver.bind(InetSocketAddress(addressB, port: 0))
            #expect(bound.ip == addressB && bound.port != 0)
            #expect(!receiver.waitReadable(timeoutMillis: 20))  // nothing yet: the time-out is reported

            let sender = try InetSocket(.udp, family: family, networkNamespace: a)
            let message = Array("hello from A".utf8)
            #expect(try sender.sendTo(bound, message) == message.count)
            let senderAddress = try sender.localAddress()  // bound by the send
            #expect(receiver.waitReadable(timeoutMillis: 5000))
            var buffer = [UInt8](repeating: 0, count: 1500)
            let (length, source) = try receiver.receiveFrom(into: &buffer)
            #expect(Array(buffer[0..<length]) == message)
            #expect(source == InetSocketAddress(addressA, port: senderAddress.port))
            #expect(source.ip == addressA && source.port != 0)

            #expect(try receiver.sendTo(source, Array("reply".utf8)) == 5)
            #expect(sender.waitReadable(timeoutMillis: 5000))
            let back = try sender.receiveFrom(into: &buffer)
            #expect(Array(buffer[0..<back.length]) == Array("reply".utf8) && back.source == bound)

            let wrongFamily = #expect(throws: SystemError.self) {
                try sender.sendTo(InetSocketAddress(family == .v4 ? IPAddress("fd00:1::2")! : IPAddress("10.1.0.2")!, port: 9), message)
            }
            #expect(wrongFamily?.errno == EAFNOSUPPORT)
            sender.close()
            #expect(sender.fileDescriptor == -1)
            #expect(throws: SystemError.self) { try sender.sendTo(bound, message) }
        }
    }

    @Test("TCP: a client in A connects to a listener in B, which sees A's address as the peer")
    func tcpAcrossNamespaces() throws {
        try withNamespaces(2, tag: "tcp") { ns in
            try makeVethPair(ns[0], ns[1])
            let listener = try InetSocket(.tcp, family: .v4, networkNamespace: NetworkNamespace.path(named: ns[1]))
            try listener.setReuseAddress(true)
            let address = try listener.bind(InetSocketAddress(IPAddress("10.1.0.2")!, port: 0))
            try listener.listen()
            let client = try InetSocket(.tcp, family: .v4, networkNamespace: NetworkNamespace.path(named: ns[0]))
            try client.connect(address)
            #expect(try client.remoteAddress() == address)
            #expect(listener.waitReadable(timeoutMillis: 5000))
            let (connection, peer) = try listener.accept()
            let clientAddress = try client.localAddress()
            #expect(peer == clientAddress && peer.ip == IPAddress("10.1.0.1"))
            #expect(try client.send(Array("ping".utf8)) == 4)
            #expect(connection.waitReadable(timeoutMillis: 5000))
            var buffer = [UInt8](repeating: 0, count: 16)
            let n = try buffer.withUnsafeMutableBytes { try connection.receive(into: $0) }
            #expect(Array(buffer[0..<n]) == Array("ping".utf8))
            client.close()
            #expect(connection.waitReadable(timeoutMillis: 5000))
            let end = try buffer.withUnsafeMutableBytes { try connection.receive(into: $0) }
            #expect(end == 0)  // the peer closed
            let refused = #expect(throws: SystemError.self) {
                let other = try InetSocket(.tcp, family: .v4, networkNamespace: NetworkNamespace.path(named: ns[0]))
                try other.connect(InetSocketAddress(IPAddress("10.1.0.2")!, port: 1))
            }
            #expect(refused?.errno == ECONNREFUSED)
        }
    }
}
