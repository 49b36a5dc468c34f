import Binder
import BinderPlatform
import BinderWire
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// A `binder` CLI process started in the background (`binder container exec ID -- binder echo serve`),
/// with its stdout on a pipe.
private final class Background {
    let pid: Int32
    let stdout: Pipe
    private var waited = false
    init(_ broker: TestBroker, _ arguments: [String]) throws {
        stdout = try Pipe()
        pid = try ProcessControl.spawn(binDir + "/binder", arguments, environment: broker.environment, passing: [(stdout.write.fd, 1)])
    }
    /// Reads `line` (and its newline) from the process's stdout, or fails after 10 s.
    func expectLine(_ line: String) throws {
        let got = try stdout.readBytes(line.utf8.count + 1)
        guard got == Array((line + "\n").utf8) else { throw TestFailure("expected '\(line)', got '\(String(decoding: got, as: UTF8.self))'") }
    }
    /// Its exit status (it ends when its container stops or its broker goes).
    func exitStatus() -> Int32 {
        waited = true
        return ProcessControl.wait(pid)
    }
    deinit {
        if !waited {
            ProcessControl.kill(pid, signal: SIGKILL)
            ProcessControl.wait(pid)
        }
    }
}

/// Starts `binder echo serve --name NAME` inside container `id` and waits until it has registered.
private func serveEcho(_ broker: TestBroker, in id: UInt32, name: String) throws -> Background {
    let b = try Background(broker, ["container", "exec", "\(id)", "--", binDir + "/binder", "echo", "serve", "--name", name])
    try b.expectLine("serving \(name)")
    return b
}

/// Mounts in this process's mount namespace, leaving out the network namespaces other tests make
/// at the same time (`ip netns add` bind-mounts each under /run/netns).
private func mountCount() -> Int {
    (FileSystem.readText("/proc/self/mountinfo") ?? "").split(separator: "\n").filter { !$0.contains(" /run/netns") }.count
}

/// No process of the container runs any more (PID 1 is gone or a zombie), and its network
/// namespace is gone (no process anywhere is in it).
private func containerIsGone(_ info: ContainerInfo) -> Bool {
    let stat = FileSystem.readText("/proc/\(info.initPID)/stat") ?? ""
    let running = !stat.isEmpty && !stat.contains(") Z ")
    return !running && !Namespaces.networkNamespaceInUse(info.networkNamespace)
}

private func lines(_ s: String) -> [String] { s.split(separator: "\n").map(String.init) }

@Suite("Containers: real namespaces through a real binderd", .enabled(if: getuid() == 0, "needs root: creates PID, mount, UTS, IPC and network namespaces"))
struct ContainerTests {
    @Test("create, exec, list and stop: real PID, UTS, mount and network namespaces; nothing left behind")
    func lifecycle() throws {
        let mountsBefore = mountCount()
        let broker = try TestBroker()
        let created = try broker.cli("container", "create", "1", "--name", "alpha")
        #expect(created.status == 0, "\(created.stderr)")
        let c = try broker.connect()
        let info = try #require(try c.serviceManager.listContainers().first)
        #expect(info.id == 1 && info.name == "alpha")
        #expect(info.networkNamespace != Namespaces.ownNetwork, "a network namespace of its own")
        #expect(created.stdout == "container 1 (alpha) started: pid \(info.initPID), network namespace \(info.networkNamespace)\n")

        let hostname = try broker.cli("container", "exec", "1", "--", "hostname")
        #expect(hostname.stdout == "alpha\n", "UTS namespace: \(hostname.stderr)")
        let pid1 = try broker.cli("container", "exec", "1", "--", "cat", "/proc/1/comm")
        #expect(pid1.stdout == "binder-init\n", "PID namespace with binder-init as PID 1, its own /proc")
        let netns = try broker.cli("container", "exec", "1", "--", "readlink", "/proc/self/ns/net")
        #expect(netns.stdout == "net:[\(info.networkNamespace)]\n", "the command runs in the container's network namespace")
        let links = try broker.cli("container", "exec", "1", "--", "ls", "/sys/class/net")
        #expect(links.stdout == "lo\n", "no virtual NIC: only loopback")
        let endpoint = try broker.cli("container", "exec", "1", "--", "ls", "/run/binder")
        #expect(endpoint.stdout == "binder.sock\n", "the endpoint at the default path, nothing else of the host's /run/binder")
        let inside = try broker.cli("container", "exec", "1", "--", binDir + "/binder", "status")
        #expect(inside.status == 0, "an unmodified client inside reaches the broker: \(inside.stderr)")
        #expect(inside.stdout.contains("CONTAINERS (1; foreground 0)"))
        let exit = try broker.cli("container", "exec", "1", "--", "sh", "-c", "exit 7")
        #expect(exit.status == 7, "exec exits with the command's status")

        let list = try broker.cli("container", "list")
        #expect(lines(list.stdout).count == 2 && list.stdout.contains("1   alpha  \(info.initPID)"), "\(list.stdout)")
        let stopped = try broker.cli("container", "stop", "1")
        #expect(stopped.status == 0 && stopped.stdout == "container 1 stopped\n", "\(stopped.stderr)")
        #expect(try c.serviceManager.listContainers().isEmpty)
        #expect(lines(try broker.cli("container", "list").stdout).count == 1, "only the header")
        #expect(containerIsGone(info), "no process or network namespace of the container is left")
        #expect(!FileSystem.exists(broker.dir + "/containers/1"), "the endpoint directory is removed")
        #expect(!FileSystem.exists(broker.dir + "/containers/1.state"))
        #expect(mountCount() == mountsBefore, "no mount leaked into the host's mount namespace")
    }

    @Test("container run: creates, runs the command as a child of PID 1's namespace, stops; exit status passes through")
    func run() throws {
        let broker = try TestBroker()
        let r = try broker.cli("container", "run", "4", "--name", "runner", "--", "sh", "-c", "hostname; exit 3")
        #expect(r.status == 3 && r.stdout == "runner\n", "\(r.stderr)")
        #expect(try broker.connect().serviceManager.listContainers().isEmpty, "run stops its container")
    }

    @Test("bad IDs, unknown containers, duplicates and missing commands: one line each, non-zero exit")
    func badInput() throws {
        let broker = try TestBroker()
        #expect(try broker.cli("container", "create", "2").status == 0)
        let cases: [([String], Int32, String)] = [
            (["container", "create", "0"], 64, "binder: container IDs are 1…4096 (0 is the root), not 0\n"),
            (["container", "create", "abc"], 64, ""),
            (["container", "create", "5", "--name", "-x"], 64, ""),
            (["container", "create", "2"], 1, "binder: createContainer failed: container 2 exists already"),
            (["container", "stop", "9"], 1, "binder: stopContainer failed: no container 9\n"),
            (["container", "exec", "9", "--", "true"], 1, "binder: no container 9\n"),
            (["container", "exec", "2", "--", "no-such-command"], 127, "binder: no-such-command: command not found in container 2\n"),
            (["container", "exec", "2"], 64, ""),
            (["container", "foreground", "7"], 1, "binder: setForegroundContainer failed: no container 7\n"),
        ]
        for (arguments, status, message) in cases {
            let r = try ProcessControl.run(binDir + "/binder", arguments, environment: broker.environment)
            #expect(r.status == status, "\(arguments): \(r.stderr)")
            #expect(lines(r.stderr).count == 1 && r.stderr.hasPrefix(message.isEmpty ? "binder: " : message), "\(arguments): \(r.stderr)")
        }
        let fg = try broker.cli("container", "foreground", "2")
        #expect(fg.stdout == "foreground: 2\n")
        #expect(try broker.cli("container", "list").stdout.contains("yes"), "list marks the foreground container")
        #expect(try broker.cli("container", "stop", "2").status == 0)
        #expect(try broker.cli("container", "foreground").stdout == "foreground: 0\n", "stopping it returns the foreground to the root")
    }

    @Test("addressing by container ID: the root and (by policy) container 2 reach container 1's service; container 3 is denied; handlers see each caller's container")
    func addressing() throws {
        let policyDir = try FileSystem.makeTemporaryDirectory(prefix: "binder-policy")
        defer { FileSystem.removeTree(policyDir) }
        try FileSystem.writeText(policyDir + "/policy", "# test policy\nallow 2 -> 1 demo.echo\n")
        let broker = try TestBroker(extraArguments: ["--policy", policyDir + "/policy"])
        for id in 1...3 { #expect(try broker.cli("container", "create", "\(id)").status == 0) }
        let service = try serveEcho(broker, in: 1, name: "demo.echo")

        // The root, by container ID, through the library.
        let root = try broker.connect()
        #expect(try root.serviceManager.getService("demo.echo") == nil, "not among the root's own names")
        let echo = try #require(try root.serviceManager.getService("demo.echo", inContainer: 1))
        let seen = try IEcho.Proxy(echo).whoAmI()
        #expect(seen.container == 0 && seen.pid == 0, "the root's pid is not visible in container 1's PID namespace")
        var data = Parcel()
        data.write(Int32(42))
        #expect(try root.transact(container: 1, service: "demo.echo", code: EchoService.Code.echo.rawValue, data: data) == data)
        #expect(throws: StatusCode.nameNotFound) {
            try root.transact(container: 1, service: "missing", code: EchoService.Code.echo.rawValue, data: data)
        }
        #expect(try broker.cli("service", "list", "--container", "1").stdout == "demo.echo\n")
        let call = try broker.cli("service", "call", "--container", "1", "demo.echo", "1", "i32", "7", "--reply", "i32")
        #expect(call.status == 0 && call.stdout.hasSuffix("7\n"), "\(call.stdout)\(call.stderr)")

        // Container 2: allowed by the policy; the service sees container 2.
        let from2 = try broker.cli("container", "exec", "2", "--", binDir + "/binder", "echo", "whoami", "demo.echo", "--container", "1")
        #expect(from2.status == 0, "\(from2.stderr)")
        #expect(from2.stdout.hasPrefix("demo.echo in container 1 saw the caller as pid=0 ") && from2.stdout.hasSuffix(" container=2\n"))
        // From inside container 1 the caller's pid is the one container 1's PID namespace gives it.
        let own = try broker.cli("container", "exec", "1", "--", "sh", "-c", "echo $$; exec \(binDir)/binder echo whoami demo.echo")
        let ownLines = lines(own.stdout)
        #expect(ownLines.count == 2 && ownLines[1] == "demo.echo saw the caller as pid=\(ownLines[0]) uid=0 container=1", "\(own.stdout)\(own.stderr)")
        let ownPID = try #require(Int32(ownLines.first ?? ""), "the shell printed its pid")
        #expect(ownPID > 1 && ownPID < 100, "a small pid: PID 1 is binder-init")
        // Its own names do not include container 1's.
        #expect(try broker.cli("container", "exec", "2", "--", binDir + "/binder", "service", "list").stdout == "")

        // Container 3: no rule, so PERMISSION_DENIED.
        let from3 = try broker.cli("container", "exec", "3", "--", binDir + "/binder", "echo", "whoami", "demo.echo", "--container", "1")
        #expect(from3.status == 1 && from3.stderr == "binder: getServiceInContainer failed: PERMISSION_DENIED\n", "\(from3.stderr)")

        // Exported root services are visible in every container; others of the root's are not.
        let system = try broker.connect()
        try system.serviceManager.addExportedService("sys.echo", EchoService())
        try system.serviceManager.addService("root.private", EchoService())
        let names3 = try broker.cli("container", "exec", "3", "--", binDir + "/binder", "service", "list")
        #expect(names3.stdout == "sys.echo\n", "container 3 sees only the exported name: \(names3.stdout)")
        let sys3 = try broker.cli("container", "exec", "3", "--", binDir + "/binder", "echo", "whoami", "sys.echo")
        #expect(sys3.stdout.hasSuffix(" container=3\n"), "\(sys3.stdout)\(sys3.stderr)")
        let status = try root.serviceManager.status()
        #expect(status.services.contains { $0.name == "sys.echo" && $0.exported && $0.container == 0 })
        #expect(status.services.contains { $0.name == "demo.echo" && !$0.exported && $0.container == 1 })

        #expect(try broker.cli("container", "stop", "1").status == 0)
        #expect(service.exitStatus() != 0, "the service process died with its container")
        for id in 2...3 { #expect(try broker.cli("container", "stop", "\(id)").status == 0) }
    }

    @Test("direct channels reach into a container: from the root and from inside, each end told the other's identity as seen from its own container")
    func directChannels() throws {
        let broker = try TestBroker()
        #expect(try broker.cli("container", "create", "1").status == 0)
        let echo = try serveEcho(broker, in: 1, name: "c.echo")
        // A root client: it sees the service as container 1's process; the service, in a PID
        // namespace that cannot see the client, gets pid 0 for it.
        let client = try broker.connect()
        let routed = try #require(try client.serviceManager.getService("c.echo", inContainer: 1))
        let direct = try routed.openDirectChannel()
        var data = Parcel()
        data.write(Int32(42))
        #expect(try direct.transact(code: EchoService.Code.echo.rawValue, data: data).bytes == data.bytes)
        let peer = try #require(direct.directPeer)
        #expect(peer.container == 1 && peer.pid > 1, "\(peer)")
        try echo.expectLine("direct channel from pid=0 uid=\(getuid()) container=0: accepted")
        direct.closeDirectChannel()
        try echo.expectLine("direct channel from pid=0 uid=\(getuid()) container=0: closed")
        // A client inside the container: both ends are in container 1 and see each other's pids.
        let inside = try broker.cli("container", "exec", "1", "--", binDir + "/binder", "channel", "open", "c.echo")
        #expect(inside.status == 0, "\(inside.stderr)")
        let first = inside.stdout.split(separator: "\n").first.map(String.init) ?? ""
        #expect(first.hasPrefix("direct channel to c.echo: peer pid=") && first.hasSuffix(" container=1") && !first.contains("pid=0 "), "\(first)")
    }

    @Test("a process cannot pass for another container or the root: endpoints check the peer's network namespace")
    func noForgery() throws {
        let broker = try TestBroker()
        for id in 1...2 { #expect(try broker.cli("container", "create", "\(id)").status == 0) }
        let (server, _, echo) = try broker.echoPair()
        // From container 1, through the root's socket file and through container 2's (both visible in /tmp).
        for dir in [broker.dir, broker.dir + "/containers/2"] {
            let r = try broker.cli("container", "exec", "1", "--", "env", "BINDER_RUNTIME_DIR=\(dir)", binDir + "/binder", "service", "list")
            #expect(r.status == 1 && r.stderr.hasPrefix("binder: cannot reach the broker at \(dir)/binder.sock"), "\(r.stderr)")
        }
        // From the root, through container 1's endpoint.
        #expect(throws: (any Error).self) { try BinderConnection(path: broker.dir + "/containers/1/binder.sock") }
        // Every connection the broker kept says where it came from; the others never noticed.
        #expect(try echo.transact(code: EchoService.Code.echo.rawValue, data: Parcel()).count == 0)
        #expect(try server.serviceManager.status().connections.allSatisfy { $0.container == 0 })
        for id in 1...2 { #expect(try broker.cli("container", "stop", "\(id)").status == 0) }
    }

    @Test("stopping a container kills its processes, closes its connections, removes its services and notifies holders elsewhere")
    func stopCleansUp() throws {
        let broker = try TestBroker()
        #expect(try broker.cli("container", "create", "1").status == 0)
        let info = try #require(try broker.connect().serviceManager.listContainers().first)
        let service = try serveEcho(broker, in: 1, name: "demo.echo")
        let root = try broker.connect()
        let echo = try #require(try root.serviceManager.getService("demo.echo", inContainer: 1))
        let recipient = Obituaries()
        try echo.linkToDeath(recipient)
        #expect(try root.serviceManager.status().connections.contains { $0.container == 1 })

        try root.serviceManager.stopContainer(1)
        #expect(recipient.heard.wait(), "the holder in the root hears of the death")
        #expect(throws: StatusCode.deadObject) { try echo.transact(code: EchoService.Code.echo.rawValue, data: Parcel()) }
        let status = try root.serviceManager.status()
        #expect(!status.connections.contains { $0.container == 1 }, "its connections are closed")
        #expect(!status.services.contains { $0.container == 1 }, "its services are removed")
        #expect(status.containers.isEmpty)
        #expect(throws: ServiceError.self) { try root.serviceManager.getService("demo.echo", inContainer: 1) }
        #expect(service.exitStatus() == 128 + SIGKILL, "the service process was killed")
        #expect(containerIsGone(info))
    }

    @Test("restarting the broker: containers keep running and are adopted; their clients see the broker go and reconnect")
    func brokerRestart() throws {
        let first = try TestBroker()
        #expect(try first.cli("container", "create", "1", "--name", "keeper").status == 0)
        let info = try #require(try first.connect().serviceManager.listContainers().first)
        let service = try serveEcho(first, in: 1, name: "demo.echo")
        first.crash()
        first.keepDirectory = true
        #expect(service.exitStatus() == 1, "the service inside hears the broker go (and says so, exit 1)")

        let second = try TestBroker(reusing: first.dir)
        let adopted = try second.connect().serviceManager.listContainers()
        #expect(adopted.map(\.id) == [1] && adopted.first?.initPID == info.initPID && adopted.first?.name == "keeper")
        let inside = try second.cli("container", "exec", "1", "--", "hostname")
        #expect(inside.stdout == "keeper\n", "the container kept running")
        let again = try serveEcho(second, in: 1, name: "demo.echo")
        let echo = try #require(try second.connect().serviceManager.getService("demo.echo", inContainer: 1))
        #expect(try IEcho.Proxy(echo).whoAmI().container == 0)
        #expect(try second.cli("container", "stop", "1").status == 0)
        #expect(again.exitStatus() == 128 + SIGKILL)
        #expect(containerIsGone(info))
    }
}
