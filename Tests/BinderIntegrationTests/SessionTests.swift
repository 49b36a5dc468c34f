import Binder
import BinderPlatform
import BinderWire
import Synchronization
import Testing

@Suite("Sessions: riding a restart of binderd (WIRE.md §2.1)")
struct SessionTests {
    @Test("after kill -9 of binderd and a new one on the same directory, services are registered again and proxies got by name carry on; twice in a row; nothing runs twice")
    func rideRestarts() throws {
        var broker = try TestBroker()
        let dir = broker.dir
        let server = try broker.connect()
        let echoService = EchoService()
        try server.serviceManager.addService("session.echo", echoService)
        let client = try broker.connect()
        let echo = try #require(try client.serviceManager.getService("session.echo"))
        var data = Parcel()
        data.write(Int32(7))
        #expect(try echo.transact(code: EchoService.Code.echo.rawValue, data: data).bytes == data.bytes)
        var made: Int64 = 1  // echo calls answered
        for restart in 1...2 {
            broker.keepDirectory = true
            let (clientBefore, serverBefore) = (client.sessionResumptions, server.sessionResumptions)
            broker.crash()
            broker = try TestBroker(reusing: dir)
            // The service reads its connection: it meets the end of the old broker and resumes by itself.
            #expect(server.waitForSessionResumption(after: serverBefore), "restart \(restart)")
            // The client reads only while it calls, so its next call notices the restart. A call sent
            // while the dead broker's sockets linger (the kernel tears an io_uring program's files
            // down just after it exits) is lost with them: at most once, it fails with DEAD_OBJECT
            // and is not sent again. Otherwise the call waits for the session and goes through.
            if try Self.echoUnlessLost(echo, data) { made += 1 }
            #expect(client.waitForSessionResumption(after: clientBefore), "restart \(restart)")
            // The proxy got by name before the restart reaches the service, which is back under its name.
            let echoed = try echo.transact(code: EchoService.Code.echo.rawValue, data: data)
            made += 1
            #expect(echoed.bytes == data.bytes, "restart \(restart)")
            let watcher = try broker.connect(reconnect: .never)
            #expect(try watcher.serviceManager.listServices() == ["session.echo"])
            #expect(try watcher.serviceManager.status().connections.count == 3)
        }
        // Nothing ran twice: the service ran exactly the calls that were answered.
        let answered = made
        #expect(echoService.echoCount == answered)
        #expect(!client.isClosed && !server.isClosed)
    }

    /// An echo call: true when answered, false when it failed with DEAD_OBJECT; any other failure throws.
    private static func echoUnlessLost(_ echo: BinderProxy, _ data: Parcel) throws -> Bool {
        do {
            _ = try echo.transact(code: EchoService.Code.echo.rawValue, data: data)
            return true
        } catch .deadObject {
            return false
        }
    }

    @Test("a connection that never reconnects closes with its broker, as before sessions; one whose broker never returns gives up and closes")
    func noReconnect() throws {
        let broker = try TestBroker()
        let (server, _, _) = try broker.echoPair()
        let never = try broker.connect(reconnect: .never)
        let brief = try BinderConnection(path: broker.socketPath, reconnect: ReconnectPolicy(giveUpAfter: .milliseconds(200)))
        brief.startPoolIfNeeded()  // a reader, to meet the end of the socket
        never.startPoolIfNeeded()
        broker.crash()
        never.waitUntilClosed()
        brief.waitUntilClosed()
        #expect(throws: StatusCode.deadObject) { try never.serviceManager.listServices() }
        #expect(throws: StatusCode.deadObject) { try brief.serviceManager.listServices() }
        _ = server
    }
}

/// An echo service that signals `reached` at its first call, and `reachedAgain` at the first call
/// after `arm()`.
private final class Tripwire: BinderObject, @unchecked Sendable {
    // @unchecked: `armed` is guarded by `lock`.
    let echo = EchoService()
    let reached = Latch()
    let reachedAgain = Latch()
    private let lock = ConditionLock()
    private var first = true
    private var armed = false
    func arm() { lock.withLock { armed = true } }
    func onTransact(code: UInt32, data: inout Parcel, reply: inout Parcel, context: TransactionContext) throws {
        let (isFirst, again) = lock.withLock {
            defer { (first, armed) = (false, false) }
            return (first, armed)
        }
        try echo.onTransact(code: code, data: &data, reply: &reply, context: context)
        if isFirst { reached.signal() }
        if again { reachedAgain.signal() }
    }
}

@Suite("binder bench rides a restart of binderd")
struct BenchRestartTests {
    @Test("bench keeps calling through kill -9 of binderd and a new one; its JSON counts the calls and the at most one call lost with the broker")
    func benchRidesRestart() throws {
        var broker = try TestBroker()
        let dir = broker.dir
        let server = try broker.connect()
        let service = Tripwire()
        try server.serviceManager.addService("ride.echo", service)
        let environment = broker.environment
        let finished = Latch()
        let result = Mutex<ProcessControl.Output?>(nil)
        startThread {
            let out = try? ProcessControl.run(binDir + "/binder", ["bench", "--service", "ride.echo", "--seconds", "3", "--pin", "any", "--json"], environment: environment)
            result.withLock { $0 = out }
            finished.signal()
        }
        #expect(service.reached.wait())
        broker.keepDirectory = true
        broker.crash()
        broker = try TestBroker(reusing: dir)
        service.arm()
        #expect(service.reachedAgain.wait(), "the bench's calls reach the service through the new broker")
        #expect(finished.wait(seconds: 30))
        let out = try #require(result.withLock { $0 })
        #expect(out.status == 0, "\(out.stderr)")
        let calls = out.stdout.firstMatch(of: /"calls":(\d+)/).flatMap { Int($0.1) } ?? 0
        let errors = out.stdout.firstMatch(of: /"errors":(\d+)/).flatMap { Int($0.1) } ?? -1
        #expect(calls > 0)
        #expect((0...1).contains(errors), "only the call in flight when the broker died may be lost")
        withExtendedLifetime(server) {}
    }
}
