import BinderWire
import Testing

@testable import Binder

@Suite("Runtime core: local objects and held references")
struct ReferenceTests {
    @Test("a RELEASED that crosses a new reference on its way keeps the object until that one is counted too")
    func releaseCrossesNewReference() {
        var objects = LocalObjectTable()
        let object = Served()
        let cookie = objects.publish(object)
        objects.sending([ObjectRef(kind: .local, id: cookie)])
        // A second reference goes out before the broker's RELEASED for the first arrives.
        #expect(objects.publish(object) == cookie)
        objects.sending([ObjectRef(kind: .local, id: cookie)])
        #expect(objects.released(cookie, seen: 1) == nil)
        #expect(objects[cookie] != nil)
        #expect(objects.released(cookie, seen: 1) === object)
        #expect(objects[cookie] == nil)
        // Publishing it again gives it a new identity.
        #expect(objects.publish(object) != cookie)
    }

    @Test("a reference published and not yet sent keeps the object through a RELEASED")
    func publishedNotSent() {
        var objects = LocalObjectTable()
        let object = Served()
        let cookie = objects.publish(object)
        objects.sending([ObjectRef(kind: .local, id: cookie)])
        _ = objects.publish(object)  // written into a parcel, not sent yet
        #expect(objects.released(cookie, seen: 1) == nil)
        objects.sending([ObjectRef(kind: .local, id: cookie)])
        #expect(objects.released(cookie, seen: 1) === object)
    }

    @Test("a RELEASED notice is served behind the calls queued before it, which still get their object")
    func releasedBehindCalls() {
        var core = Core(behaviour: .broker, maxThreads: 1)
        let (cookie, object) = core.publishObject()
        core.objects.sending([ObjectRef(kind: .local, id: cookie)])
        core.deliver([call(cookie, id: 5), notice(.released, target: cookie, transactionID: 1)])
        let step = core.next(for: nil)
        #expect(step.served?.transactionID == 5)
        #expect(step.servedObject === object)
        #expect(core.next(for: nil).served?.command == .released)
        #expect(core.objects.released(cookie, seen: 1) === object)
    }

    @Test("a direct channel ignores RELEASED: no broker counts references there")
    func noReleasedOnChannels() {
        var core = Core(behaviour: .directChannel, maxThreads: 1)
        _ = core.read(notice(.released, target: 1, transactionID: 1))
        #expect(core.next(for: nil).isRead)
    }

    @Test("the last holder of a handle gives back every reference the broker delivered; a handle made up here gives back none")
    func heldReferences() {
        var held = HeldReferences()
        held.delivered(.handle(7), count: 2)  // a parcel with two references to handle 7
        held.hold(.handle(7))  // a proxy made from it
        #expect(held.drop(.handle(7)) == nil)  // the parcel went; the proxy holds on
        #expect(held.drop(.handle(7)) == 2)
        #expect(held.entries.isEmpty)
        held.hold(.handle(9))
        #expect(held.drop(.handle(9)) == nil)
        #expect(held.entries.isEmpty)
    }
}
