import BinderWire
import Testing

@testable import BinderBrokerCore

/// A policy that allows everything except what a test lists, and records every question.
final class MockAccessPolicy: ServiceAccessPolicy {
    var deniedAdds: Set<String> = []
    var hidden: Set<String> = []
    var denyManagement = false
    private(set) var questions: [String] = []

    func canAdd(_ name: String, exported: Bool, by caller: PeerIdentity, heldBy holder: UInt32?) -> AccessDecision {
        questions.append("add \(name) exported=\(exported) uid=\(caller.uid) holder=\(holder.map(String.init) ?? "-")")
        return deniedAdds.contains(name) ? .denied("mock refuses to register '\(name)'") : .allowed
    }
    func canFind(_ name: String, in container: UInt32, exported: Bool, by caller: PeerIdentity) -> AccessDecision {
        questions.append("find \(name) in \(container)")
        return hidden.contains(name) ? .denied("hidden by the mock") : .allowed
    }
    func canList(_ container: UInt32, by caller: PeerIdentity) -> AccessDecision {
        questions.append("list \(container)")
        return .allowed
    }
    func canListContainers(by caller: PeerIdentity) -> AccessDecision {
        questions.append("list containers")
        return .allowed
    }
    func canManage(_ management: ContainerManagement, by caller: PeerIdentity) -> AccessDecision {
        questions.append("manage \(management)")
        return denyManagement ? .denied("mock refuses to manage containers") : .allowed
    }
}

@Suite("The service manager's access policy")
struct AccessPolicyTests {
    @Test("a refused registration is the policy's refusal: its reason, as a SECURITY exception; the default policy accepts the same call")
    func addDeniedByPolicy() throws {
        let policy = MockAccessPolicy()
        policy.deniedAdds = ["vendor.secret"]
        let h = CoreHarness(access: policy)
        let owner = h.connect(1, uid: 1000)
        var denied = h.addService("vendor.secret", from: owner, cookie: 1)!.parcel
        #expect(throws: ServiceError(.security, "mock refuses to register 'vendor.secret'")) { try denied.readException() }
        #expect(policy.questions == ["add vendor.secret exported=false uid=1000 holder=-"])
        #expect(try h.getService("vendor.secret", from: h.connect(2)) == .null, "nothing was registered")

        let plain = CoreHarness()
        var accepted = plain.addService("vendor.secret", from: plain.connect(1, uid: 1000), cookie: 1)!.parcel
        try accepted.readException()
    }

    @Test("the policy also answers who holds a name: a mock that allows everything lets another uid take it")
    func holderIsThePolicysQuestion() throws {
        let policy = MockAccessPolicy()
        let h = CoreHarness(access: policy)
        _ = h.addService("owned", from: h.connect(1, uid: 1000), cookie: 1)
        var taken = h.addService("owned", from: h.connect(2, uid: 2000), cookie: 2)!.parcel
        try taken.readException()
        #expect(policy.questions.last == "add owned exported=false uid=2000 holder=1000")
    }

    @Test("a name the policy hides is a null binder to getService, and a SECURITY exception to waitForService")
    func findDeniedByPolicy() throws {
        let policy = MockAccessPolicy()
        policy.hidden = ["hidden.svc"]
        let h = CoreHarness(access: policy)
        let owner = h.connect(1)
        let client = h.connect(2)
        _ = h.addService("hidden.svc", from: owner, cookie: 1)
        _ = h.addService("open.svc", from: owner, cookie: 2)
        #expect(try h.getService("hidden.svc", from: client) == .null)
        #expect(try h.getService("open.svc", from: client) == .handle(1))
        var wait = h.callServiceManager(from: client, .waitForService) { p in
            p.write("hidden.svc")
            p.write(Int64(1_000))
        }!.parcel
        #expect(throws: ServiceError(.security, "hidden by the mock")) { try wait.readException() }
    }

    @Test("container management refused by the policy carries its reason")
    func managementDeniedByPolicy() throws {
        let policy = MockAccessPolicy()
        policy.denyManagement = true
        let h = CoreHarness(access: policy)
        var reply = h.callServiceManager(from: h.connect(1), .createContainer) { p in
            p.write(Int32(1))
            p.write("c1")
        }!.parcel
        #expect(throws: ServiceError(.security, "mock refuses to manage containers")) { try reply.readException() }
        #expect(h.out.started.isEmpty)
    }

    @Test("routed frames never consult the policy: a held handle is the capability to call")
    func notOnTheRoutedPath() throws {
        let policy = MockAccessPolicy()
        let h = CoreHarness(access: policy)
        let (service, client, ref) = try h.serviceAndClient("svc", cookie: 7)
        let asked = policy.questions.count
        for i in 0..<10 {
            h.deliver(from: client, FrameHeader(command: .transaction, transactionID: UInt64(100 + i), target: ref.id, code: 1))
            let forwarded = h.out.sent.last!
            #expect(forwarded.to == service)
            h.deliver(from: service, FrameHeader(command: .reply, transactionID: forwarded.header.transactionID))
            #expect(h.out.sent.last!.to == client)
            h.deliver(from: client, FrameHeader(command: .transaction, flags: .oneWay, target: ref.id, code: 2))
        }
        #expect(policy.questions.count == asked)
    }

    @Test("the default policy is the broker's rules: names held by uid, exports from the root, the container policy, management by root")
    func defaultRules() throws {
        let policy = DefaultAccessPolicy(containers: try ContainerPolicy.parse("allow 2 -> 1 demo.echo"), brokerUID: 500)
        let root = PeerIdentity(pid: 1, uid: 0, gid: 0)
        let app1 = PeerIdentity(pid: 2, uid: 1000, gid: 1000, container: 1)
        let app2 = PeerIdentity(pid: 3, uid: 1000, gid: 1000, container: 2)
        #expect(policy.canAdd("x", exported: false, by: app1, heldBy: nil) == .allowed)
        #expect(policy.canAdd("x", exported: false, by: app1, heldBy: 1000) == .allowed)
        #expect(policy.canAdd("x", exported: false, by: app1, heldBy: 0) == .denied("'x' is held by uid 0"))
        #expect(!policy.canAdd("x", exported: true, by: app1, heldBy: nil).isAllowed)
        #expect(policy.canAdd("x", exported: true, by: root, heldBy: nil) == .allowed)
        #expect(policy.canFind("demo.echo", in: 1, exported: false, by: app2).isAllowed)
        #expect(!policy.canFind("demo.other", in: 1, exported: false, by: app2).isAllowed)
        #expect(!policy.canFind("demo.echo", in: 2, exported: false, by: app1).isAllowed)
        #expect(policy.canFind("netd", in: 0, exported: true, by: app1).isAllowed)
        #expect(!policy.canFind("root.private", in: 0, exported: false, by: app1).isAllowed)
        #expect(policy.canFind("anything", in: 2, exported: false, by: root).isAllowed)
        #expect(policy.canList(1, by: app2).isAllowed && !policy.canList(2, by: app1).isAllowed && policy.canList(0, by: app1).isAllowed)
        #expect(policy.canManage(.create, by: root).isAllowed)
        #expect(policy.canManage(.stop, by: PeerIdentity(pid: 4, uid: 500, gid: 500)).isAllowed)
        #expect(!policy.canManage(.setForeground, by: PeerIdentity(pid: 5, uid: 1000, gid: 1000)).isAllowed)
        #expect(!policy.canManage(.create, by: PeerIdentity(pid: 6, uid: 0, gid: 0, container: 1)).isAllowed)
        #expect(policy.canListContainers(by: root).isAllowed && !policy.canListContainers(by: app1).isAllowed)
    }
}
