import Binder
import BinderPlatform
import BinderWire
import Testing

#if canImport(Glibc)
import Glibc
#endif

@Suite("Through a real binderd")
struct BrokerIntegrationTests {
    @Test("register, look up and call; the handler sees the caller's kernel identity")
    func registerLookUpCall() throws {
        let broker = try TestBroker()
        let server = try broker.connect()
        try server.serviceManager.addService("echo", EchoService())
        let client = try broker.connect()
        let echo = try #require(try client.serviceManager.getService("echo"))
        var data = Parcel()
        data.write("hello")
        data.write(Int64(-7))
        let reply = try echo.transact(code: EchoService.Code.echo.rawValue, data: data)
        #expect(reply == data)
        let who = try IEcho.Proxy(echo).whoAmI()  // through the generated proxy and stub
        #expect(who == IEcho.Identity(pid: getpid(), uid: Int32(bitPattern: getuid()), container: 0))
        #expect(client.welcome.pid == UInt32(getpid()))
        #expect(throws: StatusCode.unknownTransaction) { try echo.transact(code: 99) }
        #expect(try client.serviceManager.listServices() == ["echo"])
        #expect(try client.serviceManager.checkService("missing") == nil)
    }

    @Test("the async form suspends instead of blocking, and reports statuses the same way")
    func asyncTransact() async throws {
        let broker = try TestBroker()
        let server = try broker.connect()
        try server.serviceManager.addService("echo", EchoService())
        let client = try broker.connect()
        let echo = try #require(try client.serviceManager.getService("echo"))
        let data: Parcel = {
            var p = Parcel()
            p.write("async")
            return p
        }()
        async let a = echo.transact(code: EchoService.Code.echo.rawValue, data: data)
        async let b = echo.transact(code: EchoService.Code.echo.rawValue, data: data)
        let (ra, rb) = try await (a, b)
        #expect(ra == data && rb == data)
        var failure = Parcel()
        failure.write(StatusCode.permissionDenied.rawValue)
        await #expect(throws: StatusCode.permissionDenied) { try await echo.transact(code: EchoService.Code.fail.rawValue, data: failure) }

        // A one-way call resumes on the broker's acknowledgement, and throws its failure.
        #expect(try await echo.transact(code: EchoService.Code.echo.rawValue, data: data, flags: .oneWay).count == 0)
        let obituaries = Obituaries()
        try echo.linkToDeath(obituaries)
        server.close()
        #expect(obituaries.heard.wait())
        await #expect(throws: StatusCode.deadObject) { try await echo.transact(code: EchoService.Code.echo.rawValue, data: data, flags: .oneWay) }
    }

    @Test("waitForService answers when the name registers, not before")
    func waitWakesOnRegistration() throws {
        let broker = try TestBroker()
        let raw = try RawClient(path: broker.socketPath)
        var wait = Parcel()
        wait.write("late.service")
        wait.write(Int64(60_000))
        try raw.send(FrameHeader(command: .transaction, transactionID: 1, target: 0, code: IServiceManager.Code.waitForService.rawValue), wait)
        // Frames on one connection are handled in order: once listServices is answered, the wait is filed.
        try raw.send(FrameHeader(command: .transaction, transactionID: 2, target: 0, code: IServiceManager.Code.listServices.rawValue))
        let first = try #require(try raw.receive())
        #expect(first.0.transactionID == 2, "the wait must not be answered before the service exists")
        let server = try broker.connect()
        try server.serviceManager.addService("late.service", EchoService())
        var (header, reply) = try #require(try raw.receive())
        #expect(header.transactionID == 1 && header.status == .ok)
        try reply.readException()
        #expect(try reply.readObject().kind == .handle)
    }

    @Test("waitForService times out with nil")
    func waitTimesOut() throws {
        let broker = try TestBroker()
        let client = try broker.connect()
        let start = monotonicNanos()
        #expect(try client.serviceManager.waitForService("never", timeout: .milliseconds(200)) == nil)
        #expect(monotonicNanos() - start >= 200_000_000)
    }

    @Test("registration notifications deliver a working proxy")
    func notifications() throws {
        let broker = try TestBroker()
        let listener = try broker.connect()
        let heard = Latch()
        let box = ProxyBox()
        let registration = try listener.serviceManager.registerForNotifications("announced") { name, proxy in
            if name == "announced" { box.set(proxy) }
            heard.signal()
        }
        let server = try broker.connect()
        try server.serviceManager.addService("announced", EchoService())
        #expect(heard.wait())
        let proxy = try #require(box.get())
        var p = Parcel()
        p.write(Int32(5))
        #expect(try proxy.transact(code: 1, data: p) == p)
        try listener.serviceManager.unregisterForNotifications(registration)
        #expect(throws: ServiceError.self) { try listener.serviceManager.unregisterForNotifications(registration) }
    }

    @Test("a caller waiting on a service whose connection dies gets DEAD_OBJECT at once")
    func deathInFlight() throws {
        let broker = try TestBroker()
        let server = try broker.connect()
        let blocking = BlockingService()
        try server.serviceManager.addService("slow", blocking)
        let client = try broker.connect()
        let slow = try #require(try client.serviceManager.getService("slow"))
        let outcome = ResultBox()
        let finished = Latch()
        startThread {
            do {
                _ = try slow.transact(code: 1)
                outcome.set("ok")
            } catch {
                outcome.set("\(error)")
            }
            finished.signal()
        }
        #expect(blocking.entered.wait())
        server.close()
        #expect(finished.wait(seconds: 5), "the caller must not wait for the handler to finish")
        #expect(outcome.get() == "DEAD_OBJECT")
        blocking.release.signal()
        #expect(throws: StatusCode.deadObject) { try slow.transact(code: 1) }
        #expect(try client.serviceManager.checkService("slow") == nil, "the service left with its owner")
    }

    @Test("a killed service process turns its proxies into DEAD_OBJECT")
    func serviceProcessKilled() throws {
        let broker = try TestBroker()
        let pid = try ProcessControl.spawn(binDir + "/binder", ["echo", "serve", "--name", "victim", "--quiet"], environment: broker.environment)
        let client = try broker.connect()
        let victim = try #require(try client.serviceManager.waitForService("victim", timeout: .seconds(10)))
        #expect(try victim.transact(code: 1).count == 0)
        ProcessControl.kill(pid, signal: SIGKILL)
        #expect(ProcessControl.wait(pid) == 128 + SIGKILL)
        #expect(throws: StatusCode.deadObject) { try victim.transact(code: 1) }
    }

    @Test("the pool starts with one thread; the broker asks for another while all are busy, up to the process's maximum")
    func threadsOnDemand() throws {
        let broker = try TestBroker()
        let server = try broker.connect(threads: 4)
        let gate = BlockingService(calls: 4)
        try server.serviceManager.addService("gate", gate)
        let observer = try broker.connect()
        func serverRow() throws -> BrokerStatus.Connection {
            try #require(try observer.serviceManager.status().connections.first { $0.id == server.welcome.connectionID })
        }
        #expect(try serverRow().threads == 1 && serverRow().maxThreads == 4)

        // Five calls held at once: four run, each on a thread the broker asked for; the fifth waits.
        let done = Latch(5)
        let clients = try (0..<5).map { _ in try broker.connect() }
        for c in clients {
            let proxy = try #require(try c.serviceManager.getService("gate"))
            startThread {
                _ = try? proxy.transact(code: 1)
                done.signal()
            }
        }
        #expect(gate.entered.wait(), "four calls did not run at once: threads were not started")
        // The fifth call is counted once it has been forwarded; the thread count stays at the maximum.
        let deadline = monotonicNanos() + 10_000_000_000
        var row = try serverRow()
        while row.busy < 5 && monotonicNanos() < deadline { row = try serverRow() }
        #expect(row.busy == 5)
        #expect(row.threads == 4)
        gate.release.signal()
        #expect(done.wait())
        #expect(try serverRow().busy == 0)
    }

    @Test("one-way calls to one object arrive in order on a four-thread pool")
    func oneWayOrder() throws {
        let broker = try TestBroker()
        let server = try BinderConnection(path: broker.socketPath, threadPoolSize: 4)
        let recorder = RecordingService(expect: 300)
        try server.serviceManager.addService("sink", recorder)
        // Four threads first: four calls held at once make the broker ask for them.
        let gate = BlockingService(calls: 4)
        try server.serviceManager.addService("gate", gate)
        let held = Latch(4)
        for _ in 0..<4 {
            let c = try broker.connect()
            let proxy = try #require(try c.serviceManager.getService("gate"))
            startThread {
                _ = try? proxy.transact(code: 1)
                held.signal()
            }
        }
        #expect(gate.entered.wait())
        gate.release.signal()
        #expect(held.wait())
        let client = try broker.connect()
        #expect(try client.serviceManager.status().connections.first { $0.id == server.welcome.connectionID }?.threads == 4)
        let sink = try #require(try client.serviceManager.getService("sink"))
        for i in 0..<300 {
            var p = Parcel()
            p.write(Int32(i))
            try sink.transact(code: 1, data: p, flags: .oneWay)
        }
        #expect(recorder.done.wait())
        #expect(recorder.received == Array(0..<300))
    }

    @Test("garbage, oversized and forged frames disconnect their sender only", arguments: ["garbage-first", "garbage-later", "oversized", "stamped-reply"])
    func badFramesIsolated(_ kind: String) throws {
        let broker = try TestBroker(extraArguments: ["--max-frame", "65536"])
        let server = try broker.connect()
        try server.serviceManager.addService("echo", EchoService())
        let bystander = try broker.connect()
        let echo = try #require(try bystander.serviceManager.getService("echo"))
        let raw = try RawClient(path: broker.socketPath, handshake: kind != "garbage-first")
        switch kind {
        case "garbage-first", "garbage-later": try raw.sendRaw([UInt8](repeating: 0xEE, count: 200))
        case "oversized":
            var big = Parcel()
            big.write(bytes: [UInt8](repeating: 7, count: 100_000))
            try raw.send(FrameHeader(command: .transaction, transactionID: 1, target: 0, code: 4), big)
        default:
            try raw.send(FrameHeader(command: .reply, transactionID: 1, sender: CallerIdentity(pid: 1, uid: 0, container: 0)))
        }
        #expect(try raw.receive() == nil, "the broker must close the offender's connection")
        var p = Parcel()
        p.write("still here")
        #expect(try echo.transact(code: 1, data: p) == p)
        #expect(try bystander.serviceManager.status().malformedDisconnects == 1)
    }

    @Test("a transaction with a forged sender stamp gets PERMISSION_DENIED; the connection stays")
    func forgedIdentity() throws {
        let broker = try TestBroker()
        let raw = try RawClient(path: broker.socketPath)
        let forged = CallerIdentity(pid: 1, uid: 0, container: 3)
        try raw.send(FrameHeader(command: .transaction, transactionID: 9, target: 0, code: IServiceManager.Code.listServices.rawValue, sender: forged))
        let (header, _) = try #require(try raw.receive())
        #expect(header.transactionID == 9 && header.status == .permissionDenied)
        try raw.send(FrameHeader(command: .transaction, transactionID: 10, target: 0, code: IServiceManager.Code.listServices.rawValue))
        #expect(try raw.receive()?.0.status == .ok)
    }

    @Test("a parcel over the negotiated limit fails locally with FAILED_TRANSACTION; the connection stays")
    func oversizedParcelFailsLocally() throws {
        let broker = try TestBroker(extraArguments: ["--max-frame", "8192"])
        let server = try broker.connect()
        try server.serviceManager.addService("echo", EchoService())
        let client = try broker.connect()
        #expect(client.welcome.maxFrameSize == 8192)
        let echo = try #require(try client.serviceManager.getService("echo"))
        var big = Parcel()
        big.write(bytes: [UInt8](repeating: 1, count: 9000))
        #expect(throws: StatusCode.failedTransaction) { try echo.transact(code: 1, data: big) }
        var small = Parcel()
        small.write(Int32(1))
        #expect(try echo.transact(code: 1, data: small) == small)
        #expect(try client.serviceManager.status().malformedDisconnects == 0)
    }

    @Test("a process that looks up its own service gets the object itself")
    func ownServiceIsLocal() throws {
        let broker = try TestBroker()
        let c = try broker.connect()
        try c.serviceManager.addService("mine", EchoService())
        let proxy = try #require(try c.serviceManager.getService("mine"))
        #expect(proxy.isLocal)
        #expect(try IEcho.Proxy(proxy).whoAmI().pid == getpid())
    }

    @Test("another uid cannot take a registered name")
    func uidOwnership() throws {
        let broker = try TestBroker()
        let owner = try broker.connect()
        try owner.serviceManager.addService("held", EchoService())
        let out = try ProcessControl.run(
            "/usr/bin/setpriv", ["--reuid=65534", "--regid=65534", "--clear-groups", binDir + "/binder", "echo", "serve", "--name", "held"],
            environment: broker.environment)
        #expect(out.status == 1)
        #expect(out.stderr == "binder: addService failed: 'held' is held by uid 0\n")
    }

    @Test("SIGTERM shuts down cleanly: exit 0, socket removed, clients see DEAD_OBJECT")
    func cleanShutdown() throws {
        let broker = try TestBroker()
        let client = try broker.connect()
        #expect(try client.serviceManager.listServices() == [])
        #expect(broker.stop() == 0)
        #expect(!FileSystem.exists(broker.socketPath))
        #expect(throws: StatusCode.deadObject) { try client.serviceManager.listServices() }
    }
}

final class ProxyBox: @unchecked Sendable {
    private let lock = ConditionLock()
    private var value: BinderProxy?
    func set(_ p: BinderProxy?) { lock.withLock { value = p } }
    func get() -> BinderProxy? { lock.withLock { value } }
}

final class ResultBox: @unchecked Sendable {
    private let lock = ConditionLock()
    private var value = ""
    func set(_ s: String) { lock.withLock { value = s } }
    func get() -> String { lock.withLock { value } }
}
