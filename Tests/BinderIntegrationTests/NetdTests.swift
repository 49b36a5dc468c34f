import BinderPlatform
import Foundation
import Synchronization
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// A test's own "host" and a peer on the other end of a veth pair, each a network namespace it
/// creates (and deletes): the machine's own interfaces are never touched.
private final class NetHost: @unchecked Sendable {
    static let counter = Atomic<Int>(0)
    let host: String
    let peer: String
    let hostIP = "10.91.0.1"
    let peerIP = "10.91.0.2"
    let hostMAC = "02:b1:00:00:00:01"
    let hostIPv6 = "fd91::1"

    init() throws {
        let n = Self.counter.add(1, ordering: .relaxed).newValue
        host = "bt-nh-\(getpid())-\(n)"
        peer = "bt-np-\(getpid())-\(n)"
        try ip("netns", "add", host)
        try ip("netns", "add", peer)
        try ip("-n", host, "link", "add", "h0", "address", hostMAC, "type", "veth", "peer", "name", "p0", "address", "02:b1:00:00:00:02", "netns", peer)
        try ip("-n", host, "addr", "add", "\(hostIP)/24", "dev", "h0")
        try ip("-n", host, "addr", "add", "\(hostIPv6)/64", "dev", "h0", "nodad")
        try ip("-n", peer, "addr", "add", "\(peerIP)/24", "dev", "p0")
        for (ns, dev) in [(host, "h0"), (host, "lo"), (peer, "p0"), (peer, "lo")] { try ip("-n", ns, "link", "set", dev, "up") }
    }

    deinit {
        _ = try? ProcessControl.run("/usr/sbin/ip", ["netns", "del", host])
        _ = try? ProcessControl.run("/usr/sbin/ip", ["netns", "del", peer])
    }

    var hostPath: String { NetworkNamespace.path(named: host) }
    var peerPath: String { NetworkNamespace.path(named: peer) }

    @discardableResult
    func ip(_ arguments: String...) throws -> String {
        let out = try ProcessControl.run("/usr/sbin/ip", arguments)
        guard out.status == 0 else { throw TestFailure("ip \(arguments.joined(separator: " ")): \(out.stderr)") }
        return out.stdout
    }

    /// `ip -j` output, parsed.
    func json(_ arguments: String...) throws -> [[String: Any]] {
        let out = try ProcessControl.run("/usr/sbin/ip", ["-j"] + arguments)
        return try JSONSerialization.jsonObject(with: Data(out.stdout.utf8)) as? [[String: Any]] ?? []
    }
}

/// A broker and netd (receiving on UDP port 6000) in the host namespace, and child containers.
private final class NetdFixture: @unchecked Sendable {
    let net: NetHost
    let broker: TestBroker
    let netd: Int32
    let port = 6000

    init(containers: [UInt32] = [1], netdArguments: [String] = []) throws {
        net = try NetHost()
        broker = try TestBroker(networkNamespace: net.hostPath)
        netd = try broker.spawn(binDir + "/netd", ["--inbound-port", "\(port)", "--log-level", "error"] + netdArguments)
        try broker.cli("service", "wait", "netd", "--timeout", "10").expectSuccess()
        for id in containers { try broker.cli("container", "create", "\(id)", "--name", "app\(id)").expectSuccess() }
    }

    deinit {
        ProcessControl.kill(netd, signal: SIGTERM)
        ProcessControl.wait(netd)
    }

    /// `binder ARGUMENTS` inside container `id`.
    func inContainer(_ id: UInt32, _ arguments: String...) throws -> ProcessControl.Output {
        try broker.cli(["container", "exec", "\(id)", "--", binDir + "/binder"] + arguments)
    }

    /// Starts `binder net listen` in container `id`, returns once it has registered its listener.
    func listener(in id: UInt32, count: Int) throws -> LineProcess {
        let p = try LineProcess(broker, ["container", "exec", "\(id)", "--", binDir + "/binder", "net", "listen", "--count", "\(count)", "--timeout", "20"])
        #expect(try p.line() == "listening")
        return p
    }

    /// Sends a datagram from the peer namespace to netd's inbound port on the host.
    func sendFromPeer(_ text: String) throws {
        let socket = try InetSocket(.udp, family: .v4, networkNamespace: net.peerPath)
        defer { socket.close() }
        _ = try socket.sendTo(InetSocketAddress(IPAddress(net.hostIP)!, port: UInt16(port)), Array(text.utf8))
    }
}

/// A `binder` process beside the broker whose stdout is read line by line.
private final class LineProcess: @unchecked Sendable {
    let pid: Int32
    let out: Pipe
    let name: String
    private var buffered: [UInt8] = []

    init(_ broker: TestBroker, _ arguments: [String]) throws {
        name = arguments.joined(separator: " ")
        out = try Pipe()
        pid = try broker.spawn(binDir + "/binder", arguments, passing: [(out.write.fd, 1)])
        out.write.close()
    }

    /// The next line, waiting up to 10 s for it.
    func line() throws -> String {
        while true {
            if let i = buffered.firstIndex(of: 0x0A) {
                let line = String(decoding: buffered[..<i], as: UTF8.self)
                buffered.removeFirst(i + 1)
                return line
            }
            guard waitReadable(out.read.fd) else {
                throw TestFailure("no line from `binder \(name)` in 10 s (so far: \(String(decoding: buffered, as: UTF8.self)))")
            }
            var chunk = [UInt8](repeating: 0, count: 4096)
            let n = chunk.withUnsafeMutableBytes { Glibc.read(out.read.fd, $0.baseAddress, $0.count) }
            guard n > 0 else { throw TestFailure("the process closed its output") }
            buffered += chunk[0..<n]
        }
    }

    func exitStatus() -> Int32 { ProcessControl.wait(pid) }
}

extension ProcessControl.Output {
    func expectSuccess(sourceLocation: SourceLocation = #_sourceLocation) throws {
        guard status == 0 else { throw TestFailure("exit \(status): \(stderr)") }
    }
}

@Suite("netd: the host's real network, proxied into child containers", .serialized, .enabled(if: getuid() == 0, "needs root: creates network namespaces and containers"))
struct NetdTests {
    @Test("an app in a child container sees exactly the host's interfaces, MACs, addresses and routes, as the kernel reports them there")
    func containerSeesTheHost() throws {
        let f = try NetdFixture()
        let show = try f.inContainer(1, "net", "show")
        try show.expectSuccess()
        let rows = show.stdout.split(separator: "\n").map { $0.split(separator: " ", omittingEmptySubsequences: true).map(String.init) }
        let links = try f.net.json("-n", f.net.host, "addr")
        #expect(links.count == 2, "lo and h0")
        for link in links {
            let name = try #require(link["ifname"] as? String)
            let row = try #require(rows.first { $0.count > 1 && $0[1] == name }, "no row for \(name)")
            #expect(row[0] == "\(link["ifindex"] as? Int ?? -1)")
            #expect(row[3] == "\(link["mtu"] as? Int ?? -1)")
            #expect(row[4] == link["address"] as? String)
            let kernel = Set((link["addr_info"] as? [[String: Any]] ?? []).map { "\($0["local"]!)/\($0["prefixlen"]!)" })
            #expect(Set(row.dropFirst(5)) == kernel, "\(name): addresses as the kernel reports them")
        }
        #expect(rows.contains { $0.first == f.net.hostIP.replacingOccurrences(of: ".1", with: ".0") + "/24" && $0.contains("h0") }, "the connected route")
        #expect(show.stdout.contains(f.net.hostMAC) && show.stdout.contains("\(f.net.hostIPv6)/64"))
        // The container's own network namespace has only lo: what it saw came through netd.
        let own = try f.broker.cli("container", "exec", "1", "--", "/usr/sbin/ip", "-o", "link")
        #expect(own.stdout.split(separator: "\n").count == 1 && own.stdout.contains("lo:"))
    }

    @Test("a datagram netd sends for an app arrives at the peer from the host's real address, and is recorded with the container")
    func sendFromTheHost() throws {
        let f = try NetdFixture()
        let receiver = try InetSocket(.udp, family: .v4, networkNamespace: f.net.peerPath)
        defer { receiver.close() }
        _ = try receiver.bind(InetSocketAddress(IPAddress(f.net.peerIP)!, port: 7000))
        let sent = try f.inContainer(1, "net", "send", "\(f.net.peerIP):7000", "hello from container 1")
        try sent.expectSuccess()
        #expect(receiver.waitReadable(timeoutMillis: 10_000))
        var buffer = [UInt8](repeating: 0, count: 256)
        let (length, source) = try receiver.receiveFrom(into: &buffer)
        #expect(String(decoding: buffer[0..<length], as: UTF8.self) == "hello from container 1")
        #expect(source.ip.description == f.net.hostIP, "sent from the host's real address")
        let stats = try f.broker.cli("net", "stats")
        let record = try #require(stats.stdout.split(separator: "\n").first { $0.contains("datagram") })
        let fields = record.split(separator: " ", omittingEmptySubsequences: true)
        #expect(fields[1] == "1" && fields[2] == "udp" && fields[4] == "\(f.net.hostIP):\(source.port)" && fields[5] == "\(f.net.peerIP):7000" && fields[6] == "22")
        let own = try f.inContainer(1, "net", "stats")
        #expect(own.stdout.contains("datagram"), "a container reads its own records")
        // A socket netd made in the host's namespace, passed to the app as an fd: the app's own
        // datagram leaves from the host's address too, and netd recorded the connection.
        let viaSocket = try f.inContainer(1, "net", "send", "\(f.net.peerIP):7000", "through the fd", "--via-socket")
        try viaSocket.expectSuccess()
        #expect(receiver.waitReadable(timeoutMillis: 10_000))
        let (length2, source2) = try receiver.receiveFrom(into: &buffer)
        #expect(String(decoding: buffer[0..<length2], as: UTF8.self) == "through the fd")
        #expect(source2.ip.description == f.net.hostIP)
        #expect(viaSocket.stdout.contains("from \(f.net.hostIP):\(source2.port)"))
        let connect = try #require(try f.broker.cli("net", "stats").stdout.split(separator: "\n").first { $0.contains("connect") })
        #expect(connect.contains("\(f.net.hostIP):\(source2.port)") && connect.contains("\(f.net.peerIP):7000"))
        // TCP: the connection netd made arrives at the peer from the host's address.
        let server = try InetSocket(.tcp, family: .v4, networkNamespace: f.net.peerPath)
        defer { server.close() }
        _ = try server.bind(InetSocketAddress(IPAddress(f.net.peerIP)!, port: 7001))
        try server.listen()
        try f.inContainer(1, "net", "send", "\(f.net.peerIP):7001", "over tcp", "--via-socket", "--tcp").expectSuccess()
        #expect(server.waitReadable(timeoutMillis: 10_000))
        let (connection, peer) = try server.accept()
        defer { connection.close() }
        #expect(peer.ip.description == f.net.hostIP)
        #expect(connection.waitReadable(timeoutMillis: 10_000))
        var tcpBuffer = [UInt8](repeating: 0, count: 64)
        let n = try tcpBuffer.withUnsafeMutableBytes { try connection.receive(into: $0) }
        #expect(String(decoding: tcpBuffer[0..<n], as: UTF8.self) == "over tcp")
    }

    @Test("inbound datagrams go by the routing table (once), else to the foreground container; a switch unloads the old foreground's proxy and tells its listener")
    func receiveAndRoute() throws {
        let f = try NetdFixture(containers: [1, 2])
        try f.broker.cli("container", "foreground", "1").expectSuccess()
        let one = try f.listener(in: 1, count: 1)
        let two = try f.listener(in: 2, count: 1)
        let status = try f.broker.cli("status")
        #expect(status.stdout.contains("LOADED PROXIES (2"), "netd is loaded in both containers")
        try f.broker.cli("net", "route", "add", f.net.peerIP, "--to", "2", "--once").expectSuccess()
        try f.sendFromPeer("routed")
        #expect(try two.line().hasSuffix("to port 6000: routed") && two.exitStatus() == 0, "the table sends it to container 2")
        #expect(try !f.broker.cli("net", "route", "list").stdout.contains(f.net.peerIP), "a once entry goes after its first datagram")
        try f.sendFromPeer("unrouted")
        let line = try one.line()
        #expect(line.hasPrefix("datagram from \(f.net.peerIP):") && line.hasSuffix(": unrouted"), "no entry: the foreground container")
        #expect(one.exitStatus() == 0)
        // The foreground moves to 2: container 1's proxy unloads, and its listener hears it.
        let waiting = try f.listener(in: 1, count: 0)
        try f.broker.cli("container", "foreground", "2").expectSuccess()
        #expect(try waiting.line() == "unloaded: netd's proxy in container 1 went")
        #expect(waiting.exitStatus() == 3)
        let loaded = try f.broker.cli("net", "stats").stdout
        #expect(!loaded.contains("containers: 1"), "container 1's proxy is not loaded")
    }

    @Test("the root, and containers netd allows, change the network (the kernel shows it); another container gets a one-line permission error")
    func changesFollowPolicy() throws {
        let f = try NetdFixture(containers: [1, 2], netdArguments: ["--allow-changes", "2"])
        func link() throws -> [String: Any] { try #require(try f.net.json("-n", f.net.host, "link", "show", "h0").first) }
        func addresses() throws -> [String] {
            let info = try f.net.json("-n", f.net.host, "addr", "show", "h0").first?["addr_info"] as? [[String: Any]] ?? []
            return info.map { "\($0["local"]!)/\($0["prefixlen"]!)" }
        }
        try f.broker.cli("net", "mtu", "h0", "1400").expectSuccess()
        #expect(try link()["mtu"] as? Int == 1400)
        try f.broker.cli("net", "addr", "add", "h0", "10.91.5.1/24").expectSuccess()
        #expect(try addresses().contains("10.91.5.1/24"))
        try f.broker.cli("net", "host-route", "add", "10.92.0.0/16", "--via", f.net.peerIP).expectSuccess()
        let routes = try f.net.json("-n", f.net.host, "route", "show", "10.92.0.0/16")
        #expect(routes.first?["gateway"] as? String == f.net.peerIP)
        try f.broker.cli("net", "link", "h0", "down").expectSuccess()
        #expect(!(try link()["flags"] as? [String] ?? []).contains("UP"))
        try f.broker.cli("net", "link", "h0", "up").expectSuccess()
        #expect((try link()["flags"] as? [String] ?? []).contains("UP"))
        // Container 1 may not; container 2 (--allow-changes 2) may.
        let refused = try f.inContainer(1, "net", "mtu", "h0", "1300")
        #expect(refused.status != 0)
        #expect(refused.stderr == "binder: netd setMtu refused: container 1 may not change the network configuration (netd --allow-changes)\n")
        #expect(try f.inContainer(1, "net", "addr", "del", "h0", "10.91.5.1/24").status != 0)
        #expect(try link()["mtu"] as? Int == 1400 && addresses().contains("10.91.5.1/24"))
        try f.inContainer(2, "net", "addr", "del", "h0", "10.91.5.1/24").expectSuccess()
        #expect(try !addresses().contains("10.91.5.1/24"))
        // A kernel refusal reaches the caller as one line with the kernel's reason.
        let twice = try f.broker.cli("net", "addr", "add", "h0", "\(f.net.hostIP)/24")
        #expect(twice.status != 0 && twice.stderr.hasPrefix("binder: netd addAddress refused: ") && twice.stderr.contains("exists"))
    }
}
