import Binder
import BinderPlatform
import BinderWire
import Synchronization
import Testing

/// A service for deadline tests.
///
/// | code | call |
/// |------|------|
/// | 1, 2 | signals `entered`, then blocks until `release` opens (2 is IEcho's whoAmI: a generated proxy can call it) |
/// | 3    | counts a run |
/// | 4    | replies with the runs counted (i64) |
/// | 5    | replies with its context's deadline (u64) and remaining time in nanoseconds (i64, -1: none) |
/// | 6    | calls the object in the request with code 5 (with the i64 timeout in nanoseconds that follows, 0: none) and replies with its own deadline, then the callee's |
private final class DeadlineService: BinderObject {
    let entered = Latch()
    let release = Latch()
    private let runs = Atomic<Int64>(0)

    func onTransact(code: UInt32, data: inout Parcel, reply: inout Parcel, context: TransactionContext) throws {
        switch code {
        case 1, 2:
            entered.signal()
            _ = release.wait(seconds: 30)
        case 3:
            runs.add(1, ordering: .relaxed)
        case 4:
            reply.write(runs.load(ordering: .relaxed))
        case 5:
            reply.write(context.deadlineNanos)
            reply.write(context.remainingTime.map { Int64($0.components.seconds * 1_000_000_000 + $0.components.attoseconds / 1_000_000_000) } ?? -1)
        case 6:
            guard let inner = try context.connection.proxy(for: try data.readObject()) else { throw StatusCode.badValue }
            let timeout: Int64 = try data.read()
            var answer = try inner.transact(code: 5, timeout: timeout == 0 ? nil : .nanoseconds(timeout))
            reply.write(context.deadlineNanos)
            reply.write(try answer.read(UInt64.self))
        default:
            throw StatusCode.unknownTransaction
        }
    }
}

/// The service's count of code-3 runs, asked with no deadline.
private func runs(_ service: BinderProxy) throws -> Int64 {
    var reply = try service.transact(code: 4)
    return try reply.read()
}

@Suite("Per-call deadlines through a real binderd (WIRE.md §3.2)")
struct DeadlineTests {
    /// A broker, a service connection serving a `DeadlineService` as "deadline", and a client's proxy.
    private static func setUp(serviceThreads: Int = 2) throws -> (TestBroker, BinderConnection, DeadlineService, BinderConnection, BinderProxy) {
        let broker = try TestBroker()
        let server = try broker.connect(threads: serviceThreads)
        let service = DeadlineService()
        try server.acceptDirectChannels()
        try server.serviceManager.addService("deadline", service)
        let client = try broker.connect()
        let proxy = try #require(try client.serviceManager.getService("deadline"))
        return (broker, server, service, client, proxy)
    }

    @Test("a call that expires while the service runs it fails with TIMED_OUT at its deadline; the late reply is dropped and the connection carries on")
    func expiresDuringTheCall() throws {
        let (broker, server, service, client, proxy) = try Self.setUp()
        defer { withExtendedLifetime((broker, server, client)) {} }
        let start = monotonicNanos()
        #expect(throws: StatusCode.timedOut) { try proxy.transact(code: 1, timeout: .milliseconds(300)) }
        let waited = monotonicNanos() - start
        // The handler started and is still blocked (nothing released it): only the deadline could end the call.
        #expect(service.entered.wait(seconds: 0))
        #expect(waited >= 300_000_000)
        service.release.signal()  // its reply now comes late, for a call nobody waits for
        #expect(try runs(proxy) == 0)
        _ = try proxy.transact(code: 3)
        #expect(try runs(proxy) == 1)
    }

    @Test("the async form fails with TIMED_OUT at its deadline too, and the generated proxy's withTimeout sets one")
    func asyncAndGenerated() async throws {
        let (broker, server, service, client, proxy) = try Self.setUp()
        defer { withExtendedLifetime((broker, server, client)) {} }
        let start = monotonicNanos()
        await #expect(throws: StatusCode.timedOut) { try await proxy.transact(code: 1, timeout: .milliseconds(200)) }
        #expect(monotonicNanos() - start >= 200_000_000)
        #expect(service.entered.wait(seconds: 0))
        // whoAmI is code 2, which blocks here as well.
        let generated = IEcho.Proxy(proxy).withTimeout(.milliseconds(200))
        #expect(generated.timeout == .milliseconds(200))
        #expect(throws: StatusCode.timedOut) { try Self.blockingWhoAmI(generated) }
        await #expect(throws: StatusCode.timedOut) { _ = try await generated.whoAmI() }
        service.release.signal()
        #expect(try runs(proxy) == 0)
    }

    private static func blockingWhoAmI(_ proxy: IEcho.Proxy) throws { _ = try proxy.whoAmI() }

    @Test("a call whose deadline passes while it waits for the service's only thread is never run")
    func expiresBeforeItRuns() throws {
        let (broker, server, service, client, proxy) = try Self.setUp(serviceThreads: 1)
        defer { withExtendedLifetime((broker, server, client)) {} }
        let first = Latch()
        startThread {
            _ = try? proxy.transact(code: 1)
            first.signal()
        }
        #expect(service.entered.wait())
        // The one thread is busy: this call waits in the service's socket until after its deadline.
        #expect(throws: StatusCode.timedOut) { try proxy.transact(code: 3, timeout: .milliseconds(200)) }
        service.release.signal()
        #expect(first.wait())
        // Calls run in order on the one thread: by the time this one is answered, the expired one was met and skipped.
        #expect(try runs(proxy) == 0)
        _ = try proxy.transact(code: 3)
        #expect(try runs(proxy) == 1)
    }

    @Test("the broker answers a call that reaches it expired with TIMED_OUT and never delivers it; binder status counts it")
    func brokerRefusesExpired() throws {
        let (broker, server, _, client, proxy) = try Self.setUp()
        defer { withExtendedLifetime(server) {} }
        let raw = try RawClient(path: broker.socketPath)
        var lookup = Parcel()
        lookup.write("deadline")
        try raw.send(FrameHeader(command: .transaction, transactionID: 1, target: 0, code: IServiceManager.Code.checkService.rawValue), lookup)
        guard var (_, found) = try raw.receive() else { throw TestFailure("no reply to checkService") }
        try found.readException()
        let handle = try found.readObject().id
        try raw.send(FrameHeader(command: .transaction, transactionID: 2, target: handle, code: 3, deadline: monotonicNanos() - 1))
        let (answer, _) = try #require(try raw.receive())
        #expect(answer.command == .reply && answer.transactionID == 2 && answer.status == .timedOut)
        // A deadline still ahead is delivered: the same call runs.
        try raw.send(FrameHeader(command: .transaction, transactionID: 3, target: handle, code: 3, deadline: monotonicNanos() + 10_000_000_000))
        let (delivered, _) = try #require(try raw.receive())
        #expect(delivered.transactionID == 3 && delivered.status == .ok)
        #expect(try runs(proxy) == 1)
        #expect(try client.serviceManager.status().expiredCalls == 1)
        // A deadline on anything but a transaction breaks the protocol: that connection alone is dropped.
        try raw.send(FrameHeader(command: .threads, code: 1, deadline: 1))
        #expect(try raw.receive()?.0 == nil)
        #expect(try runs(proxy) == 1)
    }

    @Test("a nested call inherits the deadline of the call it is made in; an explicit time-out only shortens it")
    func nestedInheritance() throws {
        let (broker, server, _, client, proxy) = try Self.setUp()
        defer { withExtendedLifetime(server) {} }
        // The inner object is the client's own: the nested call comes back to the thread that waits (A→B→A).
        let inner = DeadlineService()
        func nested(callerTimeout: Duration, innerTimeout: Duration?) throws -> (outer: UInt64, inner: UInt64) {
            var data = Parcel()
            data.write(object: client.publish(inner))
            data.write(innerTimeout.map { Int64($0.components.seconds * 1_000_000_000) } ?? 0)
            let before = monotonicNanos()
            var reply = try proxy.transact(code: 6, data: data, timeout: callerTimeout)
            let (outer, innerDeadline) = (try reply.read(UInt64.self), try reply.read(UInt64.self))
            #expect(outer > before && outer <= before + UInt64(callerTimeout.components.seconds) * 1_000_000_000 + 1_000_000_000)
            return (outer, innerDeadline)
        }
        let inherited = try nested(callerTimeout: .seconds(10), innerTimeout: nil)
        #expect(inherited.inner == inherited.outer)
        let longer = try nested(callerTimeout: .seconds(10), innerTimeout: .seconds(60))
        #expect(longer.inner == longer.outer)
        let shorter = try nested(callerTimeout: .seconds(10), innerTimeout: .seconds(1))
        #expect(shorter.inner < shorter.outer)
        // The service reads what remains; a call without a deadline has none.
        var timed = try proxy.transact(code: 5, timeout: .seconds(5))
        #expect(try timed.read(UInt64.self) != 0)
        let remaining = try timed.read(Int64.self)
        #expect(remaining > 0 && remaining <= 5_000_000_000)
        var untimed = try proxy.transact(code: 5)
        #expect(try untimed.read(UInt64.self) == 0 && (try untimed.read(Int64.self)) == -1)
    }

    @Test("deadlines behave the same on a direct channel, on its socket and on its shared rings")
    func directChannel() throws {
        let (broker, server, service, client, proxy) = try Self.setUp()
        defer { withExtendedLifetime((broker, server, client)) {} }
        let direct = try proxy.openDirectChannel(waitForAnswer: true)
        var first = try direct.transact(code: 5, timeout: .seconds(5))
        #expect(try first.read(UInt64.self) != 0)
        _ = try direct.transact(code: 3)
        #expect(direct.isOnSharedMemory)
        let start = monotonicNanos()
        #expect(throws: StatusCode.timedOut) { try direct.transact(code: 1, timeout: .milliseconds(300)) }
        #expect(monotonicNanos() - start >= 300_000_000)
        #expect(service.entered.wait(seconds: 0))
        service.release.signal()
        _ = try direct.transact(code: 3)
        #expect(try runs(direct) == 2)
        #expect(direct.isDirect)
    }
}
