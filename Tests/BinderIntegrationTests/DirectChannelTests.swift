@testable import Binder
import BinderPlatform
import BinderWire
import Synchronization
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// The channels a serving process accepted and saw close, in order.
final class ChannelLog: @unchecked Sendable {
    private let lock = ConditionLock()
    private var closedRequesters: [CallerIdentity] = []
    let closed: Latch
    init(expectClosed: Int = 1) { closed = Latch(expectClosed) }
    func add(_ r: DirectChannelRequest) {
        lock.withLock { closedRequesters.append(r.requester) }
        closed.signal()
    }
    var requesters: [CallerIdentity] { lock.withLock { closedRequesters } }
}

/// A service process in this test: echo as "echo", accepting direct channels.
func directEchoServer(_ broker: TestBroker, log: ChannelLog? = nil, accept: Bool = true) throws -> BinderConnection {
    let server = try broker.connect()
    var onClosed: (@Sendable (DirectChannelRequest) -> Void)? = nil
    if let log { onClosed = { log.add($0) } }
    try server.acceptDirectChannels(accept: { _ in accept }, onClosed: onClosed)
    try server.serviceManager.addService("echo", EchoService())
    return server
}

func payload(_ n: Int) -> Parcel {
    var p = Parcel()
    [UInt8]((0..<n).map { UInt8(truncatingIfNeeded: $0) }).withUnsafeBytes { p.writeRaw($0) }
    return p
}

/// Reads one line (without the newline) from `fd`; nil at end of file or after 10 s.
func readLine(_ fd: Int32) -> String? {
    var line: [UInt8] = []
    while waitReadable(fd) {
        var b: UInt8 = 0
        guard read(fd, &b, 1) == 1 else { return nil }
        if b == 0x0A { return String(decoding: line, as: UTF8.self) }
        line.append(b)
    }
    return nil
}

/// Spawns `binder ARGS` with its stdout on a pipe whose read end is returned.
func spawnCLI(_ broker: TestBroker, _ arguments: [String]) throws -> (pid: Int32, stdout: Int32) {
    let (r, w) = try ProcessControl.pipe()
    let pid = try ProcessControl.spawn(binDir + "/binder", arguments, environment: broker.environment, passing: [(w, 1)])
    FileDescriptor.close(w)
    return (pid, r)
}


@Suite("Direct channels through a real binderd")
struct DirectChannelTests {
    @Test("a direct proxy answers like the routed one, with the caller's broker-stamped identity, and the broker sees none of its calls")
    func directCallsSkipTheBroker() throws {
        let broker = try TestBroker()
        let server = try directEchoServer(broker)
        let client = try broker.connect()
        let routed = try #require(try client.serviceManager.getService("echo"))

        let direct = try routed.openDirectChannel()
        #expect(direct.isDirect && !routed.isDirect)
        #expect(direct.directPeer == CallerIdentity(pid: getpid(), uid: getuid(), container: 0))
        #expect(client.openChannelCount == 1)

        let before = try client.serviceManager.status().transactions
        for size in [0, 32, 4096, 65536] {
            let data = payload(size)
            #expect(try direct.transact(code: EchoService.Code.echo.rawValue, data: data).bytes == data.bytes)
        }
        // The service sends its welcome before it files the channel (so the first call does not
        // wait for its thread); once a call has been answered there, the channel is filed.
        #expect(server.openChannelCount == 1)
        let me = try IEcho.Proxy(direct).whoAmI()
        #expect(me == IEcho.Identity(pid: getpid(), uid: Int32(bitPattern: getuid()), container: 0))
        // One more transaction: the status call itself.
        #expect(try client.serviceManager.status().transactions == before + 1)

        // The routed proxy still goes through the broker.
        #expect(try routed.transact(code: EchoService.Code.echo.rawValue, data: payload(8)).count == 8)
        #expect(try client.serviceManager.status().transactions == before + 3)
    }

    @Test("statuses, exceptions, fds and their refusal, and object references cross a direct channel as documented")
    func semantics() throws {
        let broker = try TestBroker()
        let server = try directEchoServer(broker)
        let recorder = RecordingService(expect: 1)
        try server.serviceManager.addService("recorder", recorder)
        let client = try broker.connect()
        let echo = try #require(try client.serviceManager.getService("echo")).openDirectChannel()
        let proxy = IEcho.Proxy(echo)

        // A transport status thrown by the service arrives as that status. The first call goes
        // over the channel's socket; the second moves the channel onto shared rings.
        #expect(throws: StatusCode.permissionDenied) { try proxy.fail(status: StatusCode.permissionDenied.rawValue) }
        #expect(!echo.isOnSharedMemory)
        #expect(throws: StatusCode.unknownTransaction) { try echo.transact(code: 999) }
        #expect(echo.isOnSharedMemory)

        // fd round trip: the service writes through the fd it received, the caller reads the original.
        let pipe = try Pipe()
        #expect(try proxy.writeFD(fd: pipe.write, bytes: Array("direct".utf8)) == 6)
        #expect(try pipe.readBytes(6) == Array("direct".utf8))
        // Echo returns the request's fd: a fresh close-on-exec fd for the same pipe.
        var data = Parcel()
        data.write(fileDescriptor: pipe.write)
        var echoed = try echo.transact(code: EchoService.Code.echo.rawValue, data: data)
        let back = try #require(try echoed.readFileDescriptor())
        #expect(back.fd != pipe.write.fd && fcntl(back.fd, F_GETFD) & FD_CLOEXEC != 0)
        try Array("again".utf8).withUnsafeBytes { try FileDescriptor.writeAll(back.fd, $0) }
        #expect(try pipe.readBytes(5) == Array("again".utf8))

        // An object that did not opt in to fds refuses them, as the broker would.
        let recorderDirect = try #require(try client.serviceManager.getService("recorder")).openDirectChannel()
        var withFD = Parcel()
        withFD.write(Int32(1))
        withFD.write(fileDescriptor: pipe.write)
        #expect(throws: StatusCode.fdsNotAllowed) { try recorderDirect.transact(code: 1, data: withFD) }
        #expect(throws: StatusCode.fdsNotAllowed, "the same on the rings") { try recorderDirect.transact(code: 1, data: withFD) }
        #expect(recorderDirect.isOnSharedMemory)

        // No broker translates object references on a direct channel: the sender is told at once.
        var withObject = Parcel()
        withObject.write(binder: echo)
        #expect(throws: StatusCode.invalidOperation) { try echo.transact(code: EchoService.Code.echo.rawValue, data: withObject) }
        #expect(recorder.received.isEmpty)
        #expect(try proxy.whoAmI().pid == getpid(), "the channel is still usable")
    }

    @Test("one-way calls on a direct channel run in the order they were sent")
    func oneWayOrder() throws {
        let broker = try TestBroker()
        let server = try broker.connect()
        try server.acceptDirectChannels()
        let recorder = RecordingService(expect: 500)
        try server.serviceManager.addService("recorder", recorder)
        let client = try broker.connect()
        let direct = try #require(try client.serviceManager.getService("recorder")).openDirectChannel()
        for i in 0..<500 {
            var p = Parcel()
            p.write(Int32(i))
            try direct.transact(code: 1, data: p, flags: .oneWay)
        }
        #expect(recorder.done.wait())
        #expect(recorder.received == Array(0..<500))
    }

    @Test("a service refuses with PERMISSION_DENIED, a process that never accepts gives UNSUPPORTED_OPERATION, and the routed proxy keeps working")
    func refusal() async throws {
        let broker = try TestBroker()
        let refusing = try directEchoServer(broker, accept: false)
        let client = try broker.connect()
        let echo = try #require(try client.serviceManager.getService("echo"))
        #expect(throws: StatusCode.permissionDenied) { try echo.openDirectChannel(waitForAnswer: true) }
        // Opened without waiting: the calls made at once, and every later one, fail with the refusal.
        let unanswered = try echo.openDirectChannel()
        #expect(throws: StatusCode.permissionDenied) { try unanswered.transact(code: EchoService.Code.echo.rawValue, data: payload(4)) }
        #expect(throws: StatusCode.permissionDenied) { try unanswered.transact(code: EchoService.Code.echo.rawValue, data: payload(4)) }
        // The same for an async first call, whose reply (here, the refusal) a pool thread reads.
        let unansweredAsync = try echo.openDirectChannel()
        await #expect(throws: StatusCode.permissionDenied) { try await unansweredAsync.transact(code: EchoService.Code.echo.rawValue, data: payload(4)) }
        #expect(try await echo.transact(code: EchoService.Code.echo.rawValue, data: payload(4)).count == 4)
        #expect(refusing.openChannelCount == 0)

        let plain = try broker.connect()
        try plain.serviceManager.addService("plain", EchoService())
        let proxy = try #require(try client.serviceManager.getService("plain"))
        let error = try #require(throws: ServiceError.self) { try proxy.openDirectChannel() }
        #expect(error.code == .unsupportedOperation)
        #expect(try client.serviceManager.status().channelEnds.isEmpty, "the refused channels left nothing in the registry")
    }

    @Test("calls made before the service accepted run once it does, in order; a two-way one's reply is the service's answer, with no WELCOME")
    func callsBeforeTheAnswer() throws {
        let broker = try TestBroker()
        let server = try broker.connect()
        // The service holds each request until the test has queued calls on the channel.
        let asked = [Latch(), Latch()]
        let gates = [Latch(), Latch()]
        let requests = Mutex(0)
        try server.acceptDirectChannels(accept: { _ in
            let n = requests.withLock { n in
                defer { n += 1 }
                return n
            }
            asked[n].signal()
            return gates[n].wait()
        })
        let recorder = RecordingService(expect: 4)
        try server.serviceManager.addService("recorder", recorder)
        let client = try broker.connect()
        let routed = try #require(try client.serviceManager.getService("recorder"))
        func number(_ n: Int32) -> Parcel {
            var p = Parcel()
            p.write(n)
            return p
        }

        // Through the library: a one-way call queued before the acceptance, then two-way ones.
        let direct = try routed.openDirectChannel()
        #expect(asked[0].wait())
        try direct.transact(code: 1, data: number(0), flags: .oneWay)
        gates[0].signal()
        _ = try direct.transact(code: 1, data: number(1))
        _ = try direct.transact(code: 1, data: number(2))
        #expect(direct.isOnSharedMemory, "the channel moved onto the rings once answered")

        // On the wire: a two-way call queued before the acceptance is answered by its reply.
        let (end, info) = try client.serviceManager.openChannel(to: routed)
        let raw = try RawChannelEnd(clientEnd: end, waitForAnswer: false)
        #expect(asked[1].wait())
        try raw.send(FrameHeader(command: .transaction, flags: .acceptFDs, transactionID: 1, target: info.cookie, code: 1), number(3))
        gates[1].signal()
        let (answer, _) = try #require(try raw.receive())
        #expect(answer.command == .reply && answer.transactionID == 1 && answer.status == .ok, "\(answer)")
        #expect(recorder.done.wait())
        #expect(recorder.received == [0, 1, 2, 3])
    }

    @Test("when the service side goes, a call waiting on the channel and every later call get DEAD_OBJECT")
    func serviceSideDeath() throws {
        let broker = try TestBroker()
        // A call held in flight, then the service's connection closes (which closes its channels).
        let server = try broker.connect()
        try server.acceptDirectChannels()
        let blocking = BlockingService()
        try server.serviceManager.addService("blocking", blocking)
        let client = try broker.connect()
        let direct = try #require(try client.serviceManager.getService("blocking")).openDirectChannel()
        let failed = Latch()
        let outcome = Mutex<StatusCode?>(nil)
        startThread {
            do throws(StatusCode) {
                try direct.transact(code: 1)
            } catch {
                let status = error
                outcome.withLock { $0 = status }
            }
            failed.signal()
        }
        #expect(blocking.entered.wait())
        server.close()
        #expect(failed.wait(), "the waiting call did not fail")
        #expect(outcome.withLock { $0 } == .deadObject)
        blocking.release.signal()
        #expect(throws: StatusCode.deadObject) { try direct.transact(code: 1) }

        // A real service process killed with SIGKILL.
        let echoPID = try ProcessControl.spawn(binDir + "/binder", ["echo", "serve", "--name", "proc.echo", "--quiet"], environment: broker.environment)
        defer { ProcessControl.wait(echoPID) }
        let routed = try #require(try client.serviceManager.waitForService("proc.echo", timeout: .seconds(10)))
        let toProcess = try routed.openDirectChannel()
        #expect(toProcess.directPeer?.pid == echoPID)
        #expect(try toProcess.transact(code: EchoService.Code.echo.rawValue, data: payload(16)).count == 16)
        ProcessControl.kill(echoPID, signal: SIGKILL)
        #expect(throws: StatusCode.deadObject) { try toProcess.transact(code: EchoService.Code.echo.rawValue, data: payload(16)) }
    }

    @Test("when the client process dies, the service hears its channel close, with the client's identity")
    func clientSideDeath() throws {
        let broker = try TestBroker()
        let log = ChannelLog()
        let server = try directEchoServer(broker, log: log)
        let (pid, stdout) = try spawnCLI(broker, ["channel", "open", "echo", "--hold"])
        defer { FileDescriptor.close(stdout) }
        let first = readLine(stdout)
        #expect(first?.hasPrefix("direct channel to echo: peer pid=\(getpid()) ") == true, "\(first ?? "nil")")
        _ = readLine(stdout)  // timings
        #expect(readLine(stdout) == "open")
        #expect(server.openChannelCount == 1)
        ProcessControl.kill(pid, signal: SIGKILL)
        ProcessControl.wait(pid)
        #expect(log.closed.wait(), "the service did not hear the channel close")
        #expect(log.requesters.map(\.pid) == [pid])
        #expect(server.openChannelCount == 0)
    }

    @Test("opening and closing channels leaks no fd in the broker, the service process or the client")
    func noLeaks() throws {
        let broker = try TestBroker()
        // The service is a process of its own, so that its fd count is its alone; it prints a line
        // when each channel closes, which is the event this test waits for.
        let (echoPID, stdout) = try spawnCLI(broker, ["echo", "serve", "--name", "leak.echo"])
        defer {
            ProcessControl.kill(echoPID)
            ProcessControl.wait(echoPID)
            FileDescriptor.close(stdout)
        }
        #expect(readLine(stdout) == "serving leak.echo")
        let client = try broker.connect()
        let routed = try #require(try client.serviceManager.getService("leak.echo"))
        let me = CallerIdentity(pid: getpid(), uid: getuid(), container: 0)
        // Warm up: the first channel starts the service's pool threads, which stay.
        let warm = try routed.openDirectChannel()
        _ = try warm.transact(code: EchoService.Code.echo.rawValue, data: payload(4))
        #expect(readLine(stdout) == "direct channel from \(me): accepted")
        // binderd closes its copies of a pair's ends once their sends complete, which it handles
        // on its next turn: a broker round trip before each count makes sure that turn came.
        _ = try client.serviceManager.status()
        let brokerFDs = FileDescriptor.openCount(pid: broker.pid)
        let serviceFDs = FileDescriptor.openCount(pid: echoPID)
        for _ in 0..<20 {
            let direct = try routed.openDirectChannel()
            #expect(try direct.transact(code: EchoService.Code.echo.rawValue, data: payload(4)).count == 4)
            direct.closeDirectChannel()
            #expect(readLine(stdout) == "direct channel from \(me): accepted")
            #expect(readLine(stdout) == "direct channel from \(me): closed")
        }
        _ = try client.serviceManager.status()
        #expect(FileDescriptor.openCount(pid: broker.pid) == brokerFDs)
        #expect(FileDescriptor.openCount(pid: echoPID) == serviceFDs)
        #expect(client.openChannelCount == 1, "closed channels are forgotten")
        #expect(try client.serviceManager.status().channelEnds.isEmpty)
    }

    @Test("CLI: channel open prints the peer and timings; errors are one line")
    func cli() throws {
        let broker = try TestBroker()
        let echoPID = try ProcessControl.spawn(binDir + "/binder", ["echo", "serve", "--name", "cli.echo", "--quiet"], environment: broker.environment)
        let refusingPID = try ProcessControl.spawn(
            binDir + "/binder", ["echo", "serve", "--name", "cli.refusing", "--refuse-direct", "--quiet"], environment: broker.environment)
        defer {
            for pid in [echoPID, refusingPID] {
                ProcessControl.kill(pid)
                ProcessControl.wait(pid)
            }
        }
        #expect(try broker.cli("service", "wait", "cli.echo").status == 0)
        #expect(try broker.cli("service", "wait", "cli.refusing").status == 0)

        let out = try broker.cli("channel", "open", "cli.echo", "--size", "100")
        #expect(out.status == 0, "\(out.stderr)")
        #expect(out.stdout.hasPrefix("direct channel to cli.echo: peer pid=\(echoPID) uid=\(getuid()) container=0\n  hand-out "))
        #expect(out.stdout.contains("echo of 100 B"))

        let missing = try broker.cli("channel", "open", "nope")
        #expect(missing.status == 1 && missing.stderr == "binder: nope: no such service\n")
        let refused = try broker.cli("channel", "open", "cli.refusing")
        #expect(refused.status == 1 && refused.stderr == "binder: opening a direct channel to cli.refusing failed: PERMISSION_DENIED\n")
        let bad = try broker.cli("channel", "open", "cli.echo", "--size", "70000")
        #expect(bad.status == 64 && bad.stderr == "binder: --size must be between 0 and 65536\n")

        for mode in ["direct", "handout"] {
            let bench = try broker.cli("bench", "--mode", mode, "--service", "cli.echo", "--seconds", "0.3", "--pin", "any", "--json")
            #expect(bench.status == 0, "\(bench.stderr)")
            #expect(bench.stdout.hasPrefix("{\"name\":\"\(mode)\",\"size\":32,\"p50_us\":"))
        }
        #expect(try broker.cli("bench", "--mode", "handout", "--fds", "1").stderr == "binder: --fds cannot be combined with --mode handout\n")
    }
}
