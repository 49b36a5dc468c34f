import Binder
import BinderPlatform
import BinderWire
import Synchronization
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// A service whose code 1 replies with a reference to a fresh object of its process.
private final class ObjectFactory: BinderObject {
    func onTransact(code: UInt32, data: inout Parcel, reply: inout Parcel, context: TransactionContext) throws {
        reply.write(object: context.connection.publish(EchoService()))
    }
}

/// Code 1: takes the callback object in the request, links `recipient` to its death and keeps its proxy.
private final class CallbackKeeper: BinderObject {
    let recipient = Obituaries()
    let kept = Mutex<[BinderProxy]>([])
    func onTransact(code: UInt32, data: inout Parcel, reply: inout Parcel, context: TransactionContext) throws {
        guard let callback = try context.connection.proxy(for: try data.readObject()) else { throw StatusCode.badValue }
        try callback.linkToDeath(recipient)
        kept.withLock { $0.append(callback) }
    }
}

@Suite("Death notifications through a real binderd")
struct DeathNotificationTests {
    @Test("a client holding a callback in a service dies: the service's link on the callback fires")
    func clientWithCallbackDies() throws {
        let broker = try TestBroker()
        let server = try broker.connect()
        let keeper = CallbackKeeper()
        try server.serviceManager.addService("keeper", keeper)
        let client = try broker.connect()
        let service = try #require(try client.serviceManager.getService("keeper"))
        var data = Parcel()
        data.write(object: client.publish(EchoService()))
        try service.transact(code: 1, data: data)
        #expect(keeper.recipient.deaths.isEmpty)
        client.close()
        #expect(keeper.recipient.heard.wait(), "the service was not told")
        #expect(keeper.recipient.deaths == keeper.kept.withLock { $0 })
        #expect(throws: StatusCode.deadObject) { try keeper.kept.withLock { $0[0] }.transact(code: EchoService.Code.echo.rawValue) }
    }

    @Test("a killed service process: the recipient hears once, with the proxy; calls and unlink then say DEAD_OBJECT")
    func serviceProcessKilled() throws {
        let broker = try TestBroker()
        let pid = try ProcessControl.spawn(binDir + "/binder", ["echo", "serve", "--name", "mortal", "--quiet"], environment: broker.environment)
        defer { ProcessControl.wait(pid) }
        let client = try broker.connect()
        let echo = try #require(try client.serviceManager.waitForService("mortal", timeout: .seconds(10)))
        let recipient = Obituaries()
        try echo.linkToDeath(recipient)
        #expect(try echo.transact(code: EchoService.Code.echo.rawValue, data: Parcel()).count == 0)
        #expect(recipient.deaths.isEmpty, "no death while the service lives")

        ProcessControl.kill(pid, signal: SIGKILL)
        #expect(recipient.heard.wait(), "no notification")
        #expect(recipient.deaths == [echo])
        #expect(throws: StatusCode.deadObject) { try echo.transact(code: EchoService.Code.echo.rawValue, data: Parcel()) }
        #expect(throws: StatusCode.deadObject) { try echo.unlinkToDeath(recipient) }
        #expect(throws: StatusCode.deadObject) { try echo.linkToDeath(Obituaries()) }
        // Once: a later death elsewhere does not repeat it.
        let other = try broker.connect()
        try other.serviceManager.addService("other", EchoService())
        let otherProxy = try #require(try client.serviceManager.getService("other"))
        let second = Obituaries()
        try otherProxy.linkToDeath(second)
        other.close()
        #expect(second.heard.wait())
        #expect(recipient.deaths.count == 1)
    }

    @Test("an object passed in a parcel: linked recipients hear when its process goes, unlinked ones do not")
    func objectFromAParcel() throws {
        let broker = try TestBroker()
        let server = try broker.connect()
        try server.serviceManager.addService("factory", ObjectFactory())
        let client = try broker.connect()
        let factory = try #require(try client.serviceManager.getService("factory"))
        var reply = try factory.transact(code: 1)
        let object = try #require(try client.proxy(for: try reply.readObject()))
        #expect(object != factory)

        let kept = Obituaries(expect: 2)
        let dropped = Obituaries()
        try object.linkToDeath(kept)
        try object.linkToDeath(dropped)
        try factory.linkToDeath(kept)
        try object.unlinkToDeath(dropped)
        #expect(throws: StatusCode.nameNotFound) { try object.unlinkToDeath(dropped) }

        server.close()  // the process's connection goes: every object it owns dies
        #expect(kept.heard.wait())
        #expect(Set(kept.deaths) == [object, factory])
        #expect(dropped.deaths.isEmpty)
    }

    @Test("links on a process's own object, on handle 0's answers and by a watcher that left are handled without harm")
    func edges() throws {
        let broker = try TestBroker()
        let server = try broker.connect()
        let service = EchoService()
        try server.serviceManager.addService("echo", service)
        // Its own object: it cannot die while this process lives.
        let own = try #require(try server.serviceManager.getService("echo"))
        #expect(own.isLocal)
        #expect(throws: StatusCode.invalidOperation) { try own.linkToDeath(Obituaries()) }

        // A watcher that closes first: the death later notifies nobody, and the broker stays up.
        let watcher = try broker.connect()
        let proxy = try #require(try watcher.serviceManager.getService("echo"))
        try proxy.linkToDeath(Obituaries())
        watcher.close()
        let observer = try broker.connect()
        let seen = Obituaries()
        try #require(try observer.serviceManager.getService("echo")).linkToDeath(seen)
        server.close()
        #expect(seen.heard.wait())
        #expect(try observer.serviceManager.listServices().isEmpty)
    }
}
