import Binder
import BinderWire
import Testing

/// Answers code 2 with whether `TransactionContext.current` is the call it is serving.
private final class Inner: BinderObject {
    func onTransact(code: UInt32, data: inout Parcel, reply: inout Parcel, context: TransactionContext) throws {
        reply.write(TransactionContext.current?.connection === context.connection && TransactionContext.current?.isOneWay == false)
    }
}

/// Code 1: checks `TransactionContext.current` before, during (in the object it calls back) and
/// after a nested call, and replies with the three answers.
private final class Outer: BinderObject {
    func onTransact(code: UInt32, data: inout Parcel, reply: inout Parcel, context: TransactionContext) throws {
        let before = TransactionContext.current?.connection === context.connection
        guard let callback = try context.connection.proxy(for: try data.readObject()) else { throw StatusCode.badValue }
        var answer = try callback.transact(code: 2)
        let during = try answer.readBool()
        let after = TransactionContext.current?.connection === context.connection
        reply.write(before)
        reply.write(during)
        reply.write(after)
    }
}

@Suite("TransactionContext.current through a real binderd")
struct CurrentCallTests {
    @Test("current is the call a hand-written handler serves, the innermost one during a nested call, restored after it, and nil outside a call")
    func currentIsTheServedCall() throws {
        let broker = try TestBroker()
        let service = try broker.connect()
        try service.serviceManager.addService("current.outer", Outer())
        let client = try broker.connect()
        guard let outer = try client.serviceManager.getService("current.outer") else { throw TestFailure("not registered") }
        #expect(TransactionContext.current == nil)
        var data = Parcel()
        // The callback is served by the client's connection: `current` there names that connection.
        data.write(object: client.publish(Inner()))
        var reply = try outer.transact(code: 1, data: data)
        let (before, during, after) = (try reply.readBool(), try reply.readBool(), try reply.readBool())
        #expect(before && during && after)
        #expect(TransactionContext.current == nil)
    }
}
