import BinderPlatform
import Foundation
import Glibc
import Synchronization

/// A failed step of a test's set-up.
struct FixtureError: Error, CustomStringConvertible {
    var description: String
}

/// iproute2, the reference the tests compare RouteNetlink with.
enum IPRoute2 {
    static let path = ["/usr/sbin/ip", "/sbin/ip", "/usr/bin/ip", "/bin/ip"].first { FileSystem.exists($0) } ?? "/usr/sbin/ip"

    @discardableResult
    static func run(_ arguments: [String]) throws -> String {
        let out = try ProcessControl.run(path, arguments)
        guard out.status == 0 else {
            throw FixtureError(description: "ip \(arguments.joined(separator: " ")): exit \(out.status): \(out.stderr)")
        }
        return out.stdout
    }

    /// `ip -j ARGUMENTS`, parsed.
    static func json(_ arguments: [String]) throws -> [[String: Any]] {
        let text = try run(["-j"] + arguments)
        guard let list = try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [[String: Any]] else {
            throw FixtureError(description: "ip -j \(arguments.joined(separator: " ")): not a JSON list: \(text)")
        }
        return list
    }
}

private let namespaceCounter = Atomic<Int>(0)

/// Runs `body` with `count` new network namespaces (`ip netns add`, unique names: pid, a counter
/// and `tag`), deleting them afterwards whatever happens. IPv6 duplicate address detection is
/// off in them, so addresses are usable (not tentative) at once.
func withNamespaces<R>(_ count: Int, tag: String, _ body: ([String]) throws -> R) throws -> R {
    var names: [String] = []
    defer {
        for name in names { _ = try? ProcessControl.run(IPRoute2.path, ["netns", "del", name]) }
    }
    for _ in 0..<count {
        let n = namespaceCounter.add(1, ordering: .relaxed).newValue
        let name = "bpt\(getpid())-\(n)-\(tag)"
        try IPRoute2.run(["netns", "add", name])
        names.append(name)
        // `ip netns exec` runs sysctl inside the namespace (its /proc/sys/net is the namespace's).
        try IPRoute2.run(["netns", "exec", name, "sysctl", "-q", "-w", "net.ipv6.conf.all.accept_dad=0", "net.ipv6.conf.default.accept_dad=0"])
    }
    return try body(names)
}

/// A veth pair: v0 (02:00:00:00:00:01) in `a`, v1 (02:00:00:00:00:02) in `b` (which may be `a`);
/// 10.1.0.1/24 + fd00:1::1/64 on v0, 10.1.0.2/24 + fd00:1::2/64 on v1, both up.
func makeVethPair(_ a: String, _ b: String) throws {
    try IPRoute2.run([
        "-n", a, "link", "add", "v0", "address", "02:00:00:00:00:01", "type", "veth",
        "peer", "name", "v1", "netns", b, "address", "02:00:00:00:00:02",
    ])
    for (ns, dev, v4, v6) in [(a, "v0", "10.1.0.1/24", "fd00:1::1/64"), (b, "v1", "10.1.0.2/24", "fd00:1::2/64")] {
        try IPRoute2.run(["-n", ns, "address", "add", v4, "dev", dev])
        try IPRoute2.run(["-n", ns, "address", "add", v6, "dev", dev, "nodad"])
        try IPRoute2.run(["-n", ns, "link", "set", dev, "up"])
    }
}

/// Polls `condition` every 10 ms until it holds or `seconds` pass (for link state, which the
/// kernel updates asynchronously). Throws on time-out.
func waitUntil(_ what: String, seconds: Double = 5, _ condition: () throws -> Bool) throws {
    let deadline = monotonicNanos() + UInt64(seconds * 1e9)
    while try !condition() {
        if monotonicNanos() > deadline { throw FixtureError(description: "timed out waiting until \(what)") }
        usleep(10_000)
    }
}

/// Waits until `interface` runs (carrier up on both ends) and no address in the namespace is tentative.
func waitSettled(_ netlink: RouteNetlink, _ interface: String) throws {
    try waitUntil("\(interface) runs and no address is tentative") {
        try netlink.interface(named: interface)?.isRunning == true && !netlink.addresses().contains { $0.flags.contains(.tentative) }
    }
}

/// The flag names `ip link` prints for raw IFF_* flags (iproute2's print_link_flags).
func iproute2FlagNames(_ raw: UInt32) -> [String] {
    var flags = raw
    var names: [String] = []
    if flags & 0x1 != 0 && flags & 0x40 == 0 { names.append("NO-CARRIER") }
    flags &= ~0x40  // IFF_RUNNING is not printed
    let table: [(UInt32, String)] = [
        (0x8, "LOOPBACK"), (0x2, "BROADCAST"), (0x10, "POINTOPOINT"), (0x1000, "MULTICAST"), (0x80, "NOARP"),
        (0x200, "ALLMULTI"), (0x100, "PROMISC"), (0x400, "MASTER"), (0x800, "SLAVE"), (0x4, "DEBUG"), (0x8000, "DYNAMIC"),
        (0x4000, "AUTOMEDIA"), (0x2000, "PORTSEL"), (0x20, "NOTRAILERS"), (0x1, "UP"), (0x10000, "LOWER_UP"),
        (0x20000, "DORMANT"), (0x40000, "ECHO"),
    ]
    for (bit, name) in table where flags & bit != 0 {
        names.append(name)
        flags &= ~bit
    }
    if flags != 0 { names.append(String(flags, radix: 16)) }
    return names
}

/// The address flags `ip -j address` prints as `"name": true` (iproute2's ifa_flag_names; "dynamic"
/// stands for not permanent).
func iproute2AddressFlagNames(_ flags: AddressFlags) -> Set<String> {
    let table: [(AddressFlags, String)] = [
        (.secondary, "secondary"), (.noDAD, "nodad"), (.optimistic, "optimistic"), (.dadFailed, "dadfailed"),
        (.homeAddress, "home"), (.deprecated, "deprecated"), (.tentative, "tentative"), (.manageTemporaryAddress, "mngtmpaddr"),
        (.noPrefixRoute, "noprefixroute"), (.multicastAutoJoin, "autojoin"), (.stablePrivacy, "stable-privacy"),
    ]
    var names = Set(table.filter { flags.contains($0.0) }.map(\.1))
    if !flags.contains(.permanent) { names.insert("dynamic") }
    return names
}

/// One route in a form both sides can produce: what `ip -d -N -j route` prints.
func routeKey(_ r: NetRoute) -> String {
    let dst = r.isDefault ? "default" : (r.prefixLength == r.family.bitCount ? "\(r.destination)" : "\(r.destination)/\(r.prefixLength)")
    return [
        "type \(r.type.rawValue)", dst, "via \(r.gateway.map { "\($0)" } ?? "-")", "dev \(r.interfaceIndex.map { "\($0)" } ?? "-")",
        "table \(r.table.rawValue)", "proto \(r.protocol.rawValue)", "scope \(r.scope.rawValue)",
        "metric \(r.priority.map { "\($0)" } ?? "-")", "src \(r.preferredSource.map { "\($0)" } ?? "-")",
    ].joined(separator: " ")
}

/// The same key from one entry of `ip -d -N -j route` (`table` when the entry has none: ip leaves
/// it out when a single table was asked for).
func routeKey(_ j: [String: Any], links: [String: Int32], table: UInt32) -> String {
    let dev = (j["dev"] as? String).flatMap { links[$0] }
    return [
        "type \(j["type"] as? String ?? "?")", j["dst"] as? String ?? "?", "via \(j["gateway"] as? String ?? "-")",
        "dev \(dev.map { "\($0)" } ?? "-")", "table \(j["table"] as? String ?? String(table))", "proto \(j["protocol"] as? String ?? "?")",
        "scope \(j["scope"] as? String ?? "?")", "metric \((j["metric"] as? Int).map { "\($0)" } ?? "-")",
        "src \(j["prefsrc"] as? String ?? "-")",
    ].joined(separator: " ")
}

/// ip's link list as name → index.
func linkIndexes(_ netns: String) throws -> [String: Int32] {
    var result: [String: Int32] = [:]
    for l in try IPRoute2.json(["-n", netns, "link"]) {
        if let name = l["ifname"] as? String, let index = l["ifindex"] as? Int { result[name] = Int32(index) }
    }
    return result
}

/// `ip -j -s link show dev DEV`'s stats64 as (rx bytes, rx packets, tx bytes, tx packets).
func iproute2Stats(_ netns: String, _ dev: String) throws -> [UInt64] {
    let link = try IPRoute2.json(["-s", "-n", netns, "link", "show", "dev", dev])
    guard let stats = link.first?["stats64"] as? [String: Any], let rx = stats["rx"] as? [String: Any], let tx = stats["tx"] as? [String: Any]
    else { throw FixtureError(description: "no stats64 for \(dev)") }
    return [rx["bytes"], rx["packets"], tx["bytes"], tx["packets"]].map { ($0 as? NSNumber)?.uint64Value ?? UInt64.max }
}
