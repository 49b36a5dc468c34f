import ArgumentParser
import Binder
import BinderNet
import BinderPlatform
import BinderWire
import Synchronization

/// `binder net`: the network as netd serves it (`Protocols/binder/net/INetd.aidl`).
struct NetCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "net",
        abstract: "The host's network as netd serves it to this process's container.",
        subcommands: [Show.self, Route.self, Stats.self, Send.self, Listen.self, MTU.self, Addr.self, Link.self, HostRoute.self])

    /// `--container ID`: run the same command inside that container, so netd sees its caller there.
    struct ContainerOption: ParsableArguments {
        @Option(help: "Run as an app in child container ID (what it sees, through its netd proxy).")
        var container: UInt32?
        func validate() throws {
            if let container, container == 0 || container > 65535 { throw ValidationError("--container takes a child container ID (1…65535)") }
        }
    }

    struct Show: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Interfaces (name, index, flags, MTU, MAC, addresses) and routes, as netd reads them from the kernel.")
        @OptionGroup var where_: ContainerOption
        func run() throws {
            if try reExec(where_.container, ["net", "show"]) { return }
            let netd = try connectToNetd()
            let interfaces = try netdCall("getInterfaces") { try netd.getInterfaces() }
            var rows = [["INDEX", "NAME", "STATE", "MTU", "MAC", "ADDRESSES"]]
            for i in interfaces {
                let state = [i.up ? "UP" : "DOWN", i.running ? "RUNNING" : nil, i.loopback ? "LOOPBACK" : nil].compactMap { $0 }.joined(separator: ",")
                let addresses = i.addresses.map { "\($0.address)/\($0.prefixLength)" }.joined(separator: " ")
                rows.append(["\(i.index)", i.name, state, "\(i.mtu)", i.mac.isEmpty ? "-" : i.mac, addresses.isEmpty ? "-" : addresses])
            }
            print("INTERFACES")
            print(indent(table(rows)))
            let routes = try netdCall("getRoutes") { try netd.getRoutes() }
            var rrows = [["DESTINATION", "GATEWAY", "DEVICE", "METRIC", "PROTOCOL", "SCOPE"]]
            for r in routes {
                let destination = r.destination == "default" ? "default" : "\(r.destination)/\(r.prefixLength)"
                rrows.append([destination, r.gateway ?? "-", r.interfaceName ?? "-", r.metric < 0 ? "-" : "\(r.metric)", r.protocol, r.scope])
            }
            print("")
            print("ROUTES (main table)")
            print(indent(table(rrows)))
        }
    }

    struct Route: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "netd's inbound routing table: which container gets datagrams from a remote address (else the foreground one).",
            subcommands: [Add.self, Del.self, List.self])

        struct Add: ParsableCommand {
            static let configuration = CommandConfiguration(abstract: "Send datagrams from REMOTE to container --to.")
            @Argument(help: "The remote IPv4 or IPv6 address.") var remote: String
            @Option(help: "The container that gets them (0: the root).") var to: UInt32
            @Flag(help: "Remove the entry after the first datagram delivered through it.") var once = false
            func validate() throws { try validateAddress(remote) }
            func run() throws {
                let netd = try connectToNetd()
                try netdCall("addInboundRoute") { try netd.addInboundRoute(remoteAddress: remote, container: Int32(to), once: once) }
                print("route \(remote) → container \(to)\(once ? " (once)" : "")")
            }
        }

        struct Del: ParsableCommand {
            static let configuration = CommandConfiguration(abstract: "Remove the entry for REMOTE.")
            @Argument(help: "The remote address.") var remote: String
            func validate() throws { try validateAddress(remote) }
            func run() throws {
                let netd = try connectToNetd()
                try netdCall("removeInboundRoute") { try netd.removeInboundRoute(remoteAddress: remote) }
                print("route \(remote) removed")
            }
        }

        struct List: ParsableCommand {
            static let configuration = CommandConfiguration(abstract: "Show the entries.")
            func run() throws {
                let netd = try connectToNetd()
                let routes = try netdCall("listInboundRoutes") { try netd.listInboundRoutes() }
                let ports = try netdCall("inboundPorts") { try netd.inboundPorts() }
                print("inbound UDP ports: \(ports.isEmpty ? "none" : ports.map(String.init).joined(separator: ", ")); unrouted datagrams go to the foreground container")
                var rows = [["REMOTE", "CONTAINER", "ONCE", "DELIVERED"]]
                for r in routes { rows.append([r.remoteAddress, "\(r.container)", r.once ? "yes" : "", "\(r.delivered)"]) }
                print(table(rows))
            }
        }
    }

    struct Stats: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Per-container traffic counters and the newest traffic records (a child sees its own).")
        @OptionGroup var where_: ContainerOption
        @Option(help: "Traffic records to show.") var records: Int32 = 10
        func run() throws {
            if try reExec(where_.container, ["net", "stats", "--records", "\(records)"]) { return }
            let netd = try connectToNetd()
            let counters = try netdCall("getCounters") { try netd.getCounters() }
            let loaded = try netdCall("loadedContainers") { try netd.loadedContainers() }
            print("netd proxies loaded in containers: \(loaded.isEmpty ? "none" : loaded.map(String.init).joined(separator: ", "))")
            var rows = [["CONTAINER", "DATAGRAMS OUT", "BYTES OUT", "CONNECTIONS", "SOCKETS", "DATAGRAMS IN", "BYTES IN"]]
            for c in counters {
                rows.append(["\(c.container)", "\(c.datagramsSent)", "\(c.bytesSent)", "\(c.connections)", "\(c.socketsOpened)", "\(c.datagramsReceived)", "\(c.bytesReceived)"])
            }
            print(table(rows))
            let traffic = try netdCall("getTraffic") { try netd.getTraffic(max: records) }
            guard !traffic.isEmpty else { return }
            print("")
            var trows = [["TIME (ms)", "CONTAINER", "PROTO", "KIND", "SOURCE", "DESTINATION", "LENGTH"]]
            for t in traffic {
                trows.append(["\(t.timeMillis)", "\(t.container)", t.protocol, t.kind, t.source.isEmpty ? "-" : t.source, t.destination.isEmpty ? "-" : t.destination, "\(t.length)"])
            }
            print(table(trows))
        }
    }

    struct Send: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Send MESSAGE as one UDP datagram to ADDRESS:PORT from the host: netd sends it, or (--via-socket) this process, through a socket netd made in the host's namespace.")
        @Argument(help: "Destination, e.g. 10.0.0.2:7000 or [fd00::2]:7000.") var destination: String
        @Argument(help: "The datagram's text.") var message: String
        @Flag(help: "Ask netd for a UDP socket connected to the destination (an fd) and send through it here.") var viaSocket = false
        @Flag(help: "With --via-socket: a TCP connection instead (the message is written to it, then it is closed).") var tcp = false
        func validate() throws {
            guard InetSocketAddress(destination) != nil else { throw ValidationError("'\(destination)' is not ADDRESS:PORT") }
            if tcp && !viaSocket { throw ValidationError("--tcp needs --via-socket") }
        }
        func run() throws {
            let target = InetSocketAddress(destination)!
            let netd = try connectToNetd()
            if viaSocket {
                let fd = try netdCall("openSocket") {
                    try netd.openSocket(protocol: tcp ? 6 : 17, family: target.ip.family == .v4 ? 4 : 6, destination: target.ip.description, port: Int32(target.port))
                }
                let socket = InetSocket(adopting: fd.detach(), kind: tcp ? .tcp : .udp, family: target.ip.family)
                defer { socket.close() }
                let local: InetSocketAddress
                let sent: Int
                do {
                    local = try socket.localAddress()
                    sent = try socket.send(Array(message.utf8))
                } catch { throw CLIFailure("sending through netd's socket failed: \(error)") }
                print("sent \(sent) bytes to \(target) from \(local), through a socket of the host's namespace")
                return
            }
            let sent = try netdCall("sendDatagram") {
                try netd.sendDatagram(destination: target.ip.description, port: Int32(target.port), payload: Array(message.utf8))
            }
            print("sent \(sent) bytes to \(target)")
        }
    }

    struct Listen: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Register this container's listener with netd and print inbound datagrams, one line each.",
            discussion: "Prints 'listening' once registered. Exits after --count datagrams, or when netd unloads this container's proxy.")
        @Option(help: "Datagrams to wait for (0: until unloaded).") var count: Int = 0
        @Option(help: "Give up after this many seconds (0: never).") var timeout: Double = 0
        func validate() throws {
            guard count >= 0 else { throw ValidationError("--count must be 0 or more") }
            guard timeout >= 0 else { throw ValidationError("--timeout must be 0 or more") }
        }
        func run() throws {
            let c = try connectToBroker(threads: 2)
            guard let proxy = try brokerCall("getService", { try c.serviceManager.getService("netd") }) else {
                throw CLIFailure("netd is not running (no service 'netd')")
            }
            let netd = INetd.Proxy(proxy)
            let listener = PrintingListener(count: count)
            try netdCall("registerListener") { try netd.registerListener(listener: listener) }
            printLine("listening")
            guard listener.done.wait(seconds: timeout == 0 ? .infinity : timeout) else {
                throw CLIFailure("no datagram within \(timeout) s")
            }
            if listener.unloaded.load(ordering: .relaxed) { throw CLIFailure("netd unloaded this container's proxy", code: 3) }
        }
    }

    struct MTU: ParsableCommand {
        static let configuration = CommandConfiguration(commandName: "mtu", abstract: "Set the MTU of a host interface (root, or containers netd allows).")
        @Argument(help: "Interface name.") var interface: String
        @Argument(help: "The MTU.") var mtu: Int32
        @OptionGroup var where_: ContainerOption
        func run() throws {
            if try reExec(where_.container, ["net", "mtu", interface, "\(mtu)"]) { return }
            let netd = try connectToNetd()
            try netdCall("setMtu") { try netd.setMtu(interfaceName: interface, mtu: mtu) }
            print("\(interface): MTU \(mtu)")
        }
    }
}

extension NetCommand {
    struct Addr: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Add or remove an address of a host interface (root, or containers netd allows).")
        @Argument(help: "add or del.") var action: String
        @Argument(help: "Interface name.") var interface: String
        @Argument(help: "ADDRESS/PREFIX, e.g. 10.0.0.5/24.") var address: String
        @OptionGroup var where_: ContainerOption
        func validate() throws {
            guard ["add", "del"].contains(action) else { throw ValidationError("the action is add or del") }
            _ = try prefixed(address)
        }
        func run() throws {
            if try reExec(where_.container, ["net", "addr", action, interface, address]) { return }
            let (ip, prefix) = try prefixed(address)
            let netd = try connectToNetd()
            if action == "add" {
                try netdCall("addAddress") { try netd.addAddress(interfaceName: interface, address: ip, prefixLength: prefix) }
            } else {
                try netdCall("removeAddress") { try netd.removeAddress(interfaceName: interface, address: ip, prefixLength: prefix) }
            }
            print("\(interface): \(action == "add" ? "added" : "removed") \(address)")
        }
    }

    struct Link: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Bring a host interface up or down (root, or containers netd allows).")
        @Argument(help: "Interface name.") var interface: String
        @Argument(help: "up or down.") var state: String
        @OptionGroup var where_: ContainerOption
        func validate() throws { guard ["up", "down"].contains(state) else { throw ValidationError("the state is up or down") } }
        func run() throws {
            if try reExec(where_.container, ["net", "link", interface, state]) { return }
            let netd = try connectToNetd()
            try netdCall("setInterfaceUp") { try netd.setInterfaceUp(interfaceName: interface, up: state == "up") }
            print("\(interface): \(state)")
        }
    }

    struct HostRoute: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "host-route", abstract: "Add or remove a route of the host's main table (root, or containers netd allows).")
        @Argument(help: "add or del.") var action: String
        @Argument(help: "DESTINATION/PREFIX, or default.") var destination: String
        @Option(help: "Gateway address.") var via: String?
        @Option(help: "Output interface.") var dev: String?
        @OptionGroup var where_: ContainerOption
        func validate() throws {
            guard ["add", "del"].contains(action) else { throw ValidationError("the action is add or del") }
            if destination != "default" { _ = try prefixed(destination) }
            guard via != nil || dev != nil else { throw ValidationError("give --via GATEWAY, --dev INTERFACE, or both") }
        }
        func run() throws {
            var arguments = ["net", "host-route", action, destination]
            if let via { arguments += ["--via", via] }
            if let dev { arguments += ["--dev", dev] }
            if try reExec(where_.container, arguments) { return }
            let (ip, prefix) = destination == "default" ? ("default", Int32(0)) : try prefixed(destination)
            let netd = try connectToNetd()
            if action == "add" {
                try netdCall("addRoute") { try netd.addRoute(destination: ip, prefixLength: prefix, gateway: via, interfaceName: dev) }
            } else {
                try netdCall("removeRoute") { try netd.removeRoute(destination: ip, prefixLength: prefix, gateway: via, interfaceName: dev) }
            }
            print("route \(destination) \(action == "add" ? "added" : "removed")")
        }
    }
}

/// "ADDRESS/PREFIX" → (address, prefix).
private func prefixed(_ text: String) throws -> (String, Int32) {
    let parts = text.split(separator: "/")
    guard parts.count == 2, let ip = IPAddress(String(parts[0])), let prefix = Int32(parts[1]), prefix >= 0, prefix <= (ip.family == .v4 ? 32 : 128) else {
        throw ValidationError("'\(text)' is not ADDRESS/PREFIX")
    }
    return (String(parts[0]), prefix)
}

/// Prints each inbound datagram; counts down to `count`.
private final class PrintingListener: INetListener.Interface {
    let done = Latch()
    let unloaded = Atomic<Bool>(false)
    private let finished = Atomic<Bool>(false)
    private let remaining: Mutex<Int>
    init(count: Int) { remaining = Mutex(count) }
    func onDatagram(source: String, sourcePort: Int32, localPort: Int32, payload: [UInt8]) throws {
        printLine("datagram from \(source):\(sourcePort) to port \(localPort): \(String(decoding: payload, as: UTF8.self))")
        let left = remaining.withLock { n in
            n -= 1
            return n
        }
        if left == 0 {
            finished.store(true, ordering: .relaxed)
            done.signal()
        }
    }
    func onUnloaded(container: Int32) throws {
        // After the last datagram, this process letting go of netd unloads the proxy: not news.
        guard !finished.load(ordering: .relaxed) else { return }
        printLine("unloaded: netd's proxy in container \(container) went")
        unloaded.store(true, ordering: .relaxed)
        done.signal()
    }
}


private func connectToNetd() throws -> INetd.Proxy {
    let c = try connectToBroker()
    guard let proxy = try brokerCall("getService", { try c.serviceManager.getService("netd") }) else {
        throw CLIFailure("netd is not running (no service 'netd')")
    }
    return INetd.Proxy(proxy)
}

/// Runs a netd call: "netd WHAT failed: STATUS", "netd WHAT refused: MESSAGE".
private func netdCall<T>(_ what: String, _ body: () throws -> T) throws -> T {
    try brokerCall("netd \(what)", refused: "refused", body)
}

private func validateAddress(_ text: String) throws {
    guard IPAddress(text) != nil else { throw ValidationError("'\(text)' is not an IPv4 or IPv6 address") }
}

/// With a container: runs `binder ARGUMENTS` inside it and exits with its status (returns true
/// only when it ran there and succeeded). Without: false, the caller goes on here.
private func reExec(_ container: UInt32?, _ arguments: [String]) throws -> Bool {
    guard let container else { return false }
    let c = try connectToBroker()
    let containers = try brokerCall("listContainers") { try c.serviceManager.listContainers() }
    guard let info = containers.first(where: { $0.id == container }) else { throw CLIFailure("no container \(container)") }
    c.close()
    let status = try runInside(info, [ProcessControl.executableDirectory() + "/binder"] + arguments)
    if status != 0 { throw ExitCode(status) }
    return true
}
