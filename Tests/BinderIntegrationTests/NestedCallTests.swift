import Binder
import BinderPlatform
import BinderWire
import Synchronization
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// Passes a call along a route of objects: code 1 carries the rest of the route (object references);
/// the handler calls the first with the remainder and replies with the threads that ran each step,
/// its own first.
private final class Relay: BinderObject {
    static let thisThread: @Sendable () -> UInt64 = { UInt64(pthread_self()) }

    func onTransact(code: UInt32, data: inout Parcel, reply: inout Parcel, context: TransactionContext) throws {
        let route = try data.readArray { p throws(StatusCode) in try p.readObject() } ?? []
        var threads = [Self.thisThread()]
        if let next = route.first, let proxy = try context.connection.proxy(for: next) {
            threads += try Self.call(proxy, route: Array(route.dropFirst()))
        }
        reply.write(array: threads) { $0.write($1) }
    }

    /// Calls `proxy` with `route` and returns the threads that ran each step.
    static func call(_ proxy: BinderProxy, route: [ObjectRef]) throws -> [UInt64] {
        var data = Parcel()
        data.write(array: route) { $0.write(object: $1) }
        var reply = try proxy.transact(code: 1, data: data)
        return try reply.readArray { p throws(StatusCode) in try p.read(UInt64.self) } ?? []
    }
}

/// A process (broker connection) with a thread pool of one, serving a relay as `name`.
private func relayProcess(_ broker: TestBroker, _ name: String) throws -> BinderConnection {
    let c = try broker.connect(threads: 1)
    try c.serviceManager.addService(name, Relay())
    return c
}

/// Runs `body` on its own thread and waits at most 10 s: a deadlock fails the test instead of hanging it.
private func withinTenSeconds<T: Sendable>(_ body: @escaping @Sendable () throws -> T) throws -> T {
    let done = Latch()
    let result = Mutex<Result<T, any Error>?>(nil)
    startThread {
        let r = Result { try body() }
        result.withLock { $0 = r }
        done.signal()
    }
    guard done.wait() else { throw TestFailure("the call did not finish in 10 s: deadlocked") }
    return try result.withLock { $0! }.get()
}

@Suite("Nested calls through a real binderd")
struct NestedCallTests {
    @Test("a service with a pool of one thread takes a callback from the service it is calling, on the thread that waits")
    func callbackOnTheWaitingThread() throws {
        let broker = try TestBroker()
        let a = try relayProcess(broker, "a")
        let b = try relayProcess(broker, "b")
        let client = try broker.connect()
        let toA = try #require(try client.serviceManager.getService("a"))
        // The client's handle for b, translated by the broker for each process it passes through.
        // The proxy stays alive while the handle is used: its last proxy going releases a handle.
        let toB = try #require(try client.serviceManager.getService("b"))
        let bRef = toB.handle.map { ObjectRef.handle($0) }
        let aRef = try #require(toA.handle.map { ObjectRef.handle($0) })
        // client → a → b → a: a's only thread waits on b when b calls back.
        let threads = try withinTenSeconds { try Relay.call(toA, route: [try #require(bRef), aRef]) }
        #expect(threads.count == 3)
        #expect(threads[0] == threads[2], "the callback ran on another thread than the one waiting")
        _ = (a, b, toB)
    }

    @Test("deeper nesting: a → b → a → b → a, each process with one thread, each level on its process's waiting thread")
    func deepNesting() throws {
        let broker = try TestBroker()
        let a = try relayProcess(broker, "a")
        let b = try relayProcess(broker, "b")
        let client = try broker.connect()
        let toA = try #require(try client.serviceManager.getService("a"))
        let aRef = ObjectRef.handle(try #require(toA.handle))
        let toB = try #require(try client.serviceManager.getService("b"))
        let bRef = ObjectRef.handle(try #require(toB.handle))
        let threads = try withinTenSeconds { try Relay.call(toA, route: [bRef, aRef, bRef, aRef]) }
        #expect(threads.count == 5)
        #expect(threads[0] == threads[2] && threads[2] == threads[4])
        #expect(threads[1] == threads[3])
        _ = (a, b, toB)
    }

    @Test("through a third process: a → b → c → a runs the last step on a's waiting thread")
    func throughAThirdProcess() throws {
        let broker = try TestBroker()
        let a = try relayProcess(broker, "a")
        let b = try relayProcess(broker, "b")
        let c = try relayProcess(broker, "c")
        let client = try broker.connect()
        let toA = try #require(try client.serviceManager.getService("a"))
        let proxies = try ["b", "c", "a"].map { try #require(try client.serviceManager.getService($0)) }
        let route = try proxies.map { ObjectRef.handle(try #require($0.handle)) }
        let threads = try withinTenSeconds { try Relay.call(toA, route: route) }
        #expect(threads.count == 4)
        #expect(threads[0] == threads[3])
        #expect(Set(threads[0...2]).count == 3)
        _ = (a, b, c, proxies)
    }

    @Test("a call back into a process runs on the thread that waits, even when that thread is not a pool thread")
    func callbackOnTheCallersOwnThread() throws {
        let broker = try TestBroker()
        let b = try relayProcess(broker, "b")
        let a = try broker.connect(threads: 1)
        try a.serviceManager.addService("a", Relay())
        let toB = try #require(try a.serviceManager.getService("b"))
        // a's pool thread is idle, yet b's call back must run here, where a waits on b.
        let mine = Relay.thisThread()
        let threads = try Relay.call(toB, route: [a.publish(Relay())])
        #expect(threads.count == 2)
        #expect(threads[1] == mine)
        _ = b
    }
}
