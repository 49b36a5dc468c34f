import BinderWire
import Testing

@testable import BinderBrokerCore

/// The broker core's container logic: scoped names, exported services, the policy, management
/// calls and what a container's end cleans up. (Real namespaces: BinderIntegrationTests/ContainerTests.)
@Suite("Containers in the broker core")
struct ContainerCoreTests {
    /// A harness with containers 1, 2 and 3 created by root connection 9.
    static func withContainers(policy: ContainerPolicy = ContainerPolicy()) throws -> CoreHarness {
        let h = CoreHarness(policy: policy)
        let admin = h.connect(9)
        for id in [Int32(1), 2, 3] {
            var reply = h.callServiceManager(from: admin, .createContainer) { p in
                p.write(id)
                p.write("c\(id)")
            }!.parcel
            try reply.readException()
            #expect(try ContainerInfo.read(from: &reply).initPID == 5000 + id)
        }
        return h
    }

    static func lookUp(_ h: CoreHarness, _ name: String, in container: Int32, from id: ConnectionID) throws -> ObjectRef {
        let sent = h.callServiceManager(from: id, .getServiceInContainer) { p in
            p.write(name)
            p.write(container)
        }!
        if sent.header.status != .ok { throw sent.header.status }
        var reply = sent.parcel
        try reply.readException()
        return try reply.readObject()
    }

    static func names(_ h: CoreHarness, from id: ConnectionID, in container: Int32? = nil) throws -> [String] {
        let sent = container.map { c in h.callServiceManager(from: id, .listServicesInContainer) { $0.write(c) }! }
            ?? h.callServiceManager(from: id, .listServices) { _ in }!
        if sent.header.status != .ok { throw sent.header.status }
        var reply = sent.parcel
        try reply.readException()
        return try reply.readArray { p throws(StatusCode) in try p.readNonNullString() } ?? []
    }

    @Test("a name registered in a container is visible there and to the root that names it, not elsewhere")
    func scopedNames() throws {
        let h = try Self.withContainers()
        let svc1 = h.connect(11, container: 1)
        let app1 = h.connect(12, container: 1)
        let app2 = h.connect(21, container: 2)
        let root = h.connect(1)
        _ = h.addService("demo.echo", from: svc1, cookie: 7)
        #expect(try h.getService("demo.echo", from: app1) == .handle(1))
        #expect(try h.getService("demo.echo", from: app2) == .null, "container 2 has its own names")
        #expect(try h.getService("demo.echo", from: root) == .null, "the root's own names do not include it")
        #expect(try Self.lookUp(h, "demo.echo", in: 1, from: root) == .handle(1), "the root reaches it by naming container 1")
        #expect(try Self.names(h, from: app1) == ["demo.echo"])
        #expect(try Self.names(h, from: app2) == [])
        #expect(try Self.names(h, from: root, in: 1) == ["demo.echo"])
    }

    @Test("a child cannot reach another child's names without policy: PERMISSION_DENIED")
    func crossChildDenied() throws {
        let h = try Self.withContainers()
        let svc1 = h.connect(11, container: 1)
        let app2 = h.connect(21, container: 2)
        _ = h.addService("demo.echo", from: svc1, cookie: 7)
        #expect(throws: StatusCode.permissionDenied) { try Self.lookUp(h, "demo.echo", in: 1, from: app2) }
        #expect(throws: StatusCode.permissionDenied) { try Self.names(h, from: app2, in: 1) }
    }

    @Test("the policy opens one direction, for all names or for the names it lists")
    func policyAllows() throws {
        let policy = try ContainerPolicy.parse("""
            # demo policy
            allow 2 -> 1 demo.echo   # only this one
            allow 3 -> *
            """)
        let h = try Self.withContainers(policy: policy)
        let svc1 = h.connect(11, container: 1)
        let svc2 = h.connect(22, container: 2)
        let app2 = h.connect(21, container: 2)
        let app3 = h.connect(31, container: 3)
        _ = h.addService("demo.echo", from: svc1, cookie: 7)
        _ = h.addService("demo.secret", from: svc1, cookie: 8)
        _ = h.addService("two.svc", from: svc2, cookie: 1)
        #expect(try Self.lookUp(h, "demo.echo", in: 1, from: app2) == .handle(1))
        #expect(throws: StatusCode.permissionDenied) { try Self.lookUp(h, "demo.secret", in: 1, from: app2) }
        #expect(try Self.names(h, from: app2, in: 1) == ["demo.echo"])
        #expect(throws: StatusCode.permissionDenied) { try Self.lookUp(h, "two.svc", in: 2, from: h.connect(13, container: 1)) }
        #expect(try Self.lookUp(h, "two.svc", in: 2, from: app3) != .null)
        #expect(try Self.names(h, from: app3, in: 1) == ["demo.echo", "demo.secret"])
    }

    @Test("exported root services are visible in every container; other root names are not")
    func exported() throws {
        let h = try Self.withContainers()
        let root = h.connect(1)
        let app1 = h.connect(12, container: 1)
        let app2 = h.connect(21, container: 2)
        var reply = h.callServiceManager(from: root, .addExportedService) { p in
            p.write("netd")
            p.write(object: .local(3))
        }!.parcel
        try reply.readException()
        _ = h.addService("root.private", from: root, cookie: 4)
        #expect(try h.getService("netd", from: app1) != .null)
        #expect(try h.getService("netd", from: app2) != .null)
        #expect(try h.getService("root.private", from: app1) == .null)
        #expect(try Self.lookUp(h, "root.private", in: 0, from: app1) == .null, "invisible, not forbidden")
        #expect(try Self.names(h, from: app1) == ["netd"])
        #expect(try Self.names(h, from: root) == ["netd", "root.private"])
        // A child's own name shadows the exported one in that child only.
        let svc1 = h.connect(11, container: 1)
        _ = h.addService("netd", from: svc1, cookie: 9)
        #expect(try h.getService("netd", from: app1) == .handle(2))
        #expect(try h.getService("netd", from: app2) == .handle(1))
        // A child cannot export.
        var denied = h.callServiceManager(from: app1, .addExportedService) { p in
            p.write("mine")
            p.write(object: .local(1))
        }!.parcel
        #expect(throws: ServiceError.self) { try denied.readException() }
    }

    @Test("an exported service gets one proxy node per container: calls reach the owner's object, death reaches links on the proxies")
    func exportedProxies() throws {
        let h = try Self.withContainers()
        let owner = h.connect(1)
        let app1 = h.connect(12, container: 1)
        let other1 = h.connect(13, container: 1)
        let app2 = h.connect(21, container: 2)
        _ = h.callServiceManager(from: owner, .addExportedService) { p in
            p.write("netd")
            p.write(object: .local(3))
        }
        let r1 = try h.getService("netd", from: app1)
        let r1b = try h.getService("netd", from: other1)
        let r2 = try h.getService("netd", from: app2)
        let node1 = h.core.connections[app1]!.handles[UInt32(r1.id)]!.node
        #expect(h.core.connections[other1]!.handles[UInt32(r1b.id)]!.node == node1, "one proxy per container, shared by its processes")
        #expect(h.core.connections[app2]!.handles[UInt32(r2.id)]!.node != node1, "container 2 has a proxy of its own")
        #expect(h.core.connections[owner]!.owned.nodes[3]! != node1, "and neither is the owner's node")
        // A call on container 2's proxy reaches the owner's object, stamped with container 2.
        let before = h.out.sent.count
        h.deliver(from: app2, FrameHeader(command: .transaction, transactionID: 1, target: r2.id, code: 1))
        let forwarded = try #require(h.out.sent[before...].first { $0.to == owner })
        #expect(forwarded.header.target == 3 && forwarded.header.sender.container == 2)
        // Passed back to the owner, the proxy is the owner's own object again.
        let back = h.out.sent.count
        var p = Parcel()
        p.write(object: r1)
        h.deliver(from: app1, FrameHeader(command: .transaction, flags: .oneWay, target: r1.id, code: 2), p)
        var arrived = try #require(h.out.sent[back...].first { $0.to == owner }).parcel
        #expect(try arrived.readObject() == .local(3))
        // Death: a link on container 1's proxy fires when the owner goes.
        var link = h.callServiceManager(from: app1, .linkToDeath) { p in
            p.write(object: r1)
            p.write(object: .local(50))
            p.write(Int64(9))
        }!.parcel
        try link.readException()
        h.core.connectionClosed(owner, out: &h.out)
        #expect(h.out.sent.contains { $0.to == app1 && $0.header.code == IDeathRecipient.Code.binderDied.rawValue })
        #expect(h.core.objects.proxies.isEmpty, "the proxies died with the object")
    }

    @Test("proxies load on a container's first lookup and unload when it lets go, leaves the foreground or stops; the owner hears each")
    func proxyLifecycle() throws {
        let h = try Self.withContainers()
        let owner = h.connect(1)
        let app1 = h.connect(12, container: 1)
        let app2 = h.connect(21, container: 2)
        _ = h.callServiceManager(from: owner, .addExportedService) { p in
            p.write("netd")
            p.write(object: .local(3))
        }
        func notices() -> [(BrokerNotice, UInt32)] {
            h.out.sent.filter { $0.to == owner && BrokerNotice.reserved.contains($0.header.code) }.map { sent in
                var p = sent.parcel
                return (BrokerNotice(rawValue: sent.header.code)!, try! p.read(UInt32.self))
            }
        }
        let r1 = try h.getService("netd", from: app1)
        _ = try h.getService("netd", from: app1)
        #expect(notices().map(\.0) == [.proxyLoaded] && notices()[0].1 == 1, "loaded once, on the first lookup")
        #expect(h.core.status(now: h.now).proxies == [BrokerStatus.LoadedProxy(container: 1, service: "netd", holders: 1)])
        // Its only handle given back: unloaded; the next lookup loads it again, as a new object.
        h.deliver(from: app1, FrameHeader(command: .release, transactionID: 2, target: r1.id))
        #expect(notices().map(\.0) == [.proxyLoaded, .proxyUnloaded] && h.core.objects.proxies.isEmpty)
        let again = try h.getService("netd", from: app1)
        #expect(again.id != r1.id)
        // Leaving the foreground unloads: its handle then names a dead object, and links on it fire.
        h.deliver(from: owner, FrameHeader(command: .transaction, transactionID: 50, target: 0, code: IServiceManager.Code.setForegroundContainer.rawValue), {
            var p = Parcel(); p.write(Int32(1)); return p }())
        _ = try h.getService("netd", from: app2)
        var link = h.callServiceManager(from: app1, .linkToDeath) { p in
            p.write(object: again)
            p.write(object: .local(50))
            p.write(Int64(9))
        }!.parcel
        try link.readException()
        h.deliver(from: owner, FrameHeader(command: .transaction, transactionID: 51, target: 0, code: IServiceManager.Code.setForegroundContainer.rawValue), {
            var p = Parcel(); p.write(Int32(2)); return p }())
        #expect(notices().map(\.1) == [1, 1, 1, 2, 1], "container 1 unloaded when 2 came to the foreground")
        #expect(h.out.sent.contains { $0.to == app1 && $0.header.code == IDeathRecipient.Code.binderDied.rawValue })
        let before = h.out.sent.count
        h.deliver(from: app1, FrameHeader(command: .transaction, transactionID: 3, target: again.id, code: 1))
        #expect(h.out.sent[before...].first { $0.to == app1 }?.header.status == .deadObject)
        // A stopped container's proxies unload with its processes.
        h.core.containerExited(2, out: &h.out)
        #expect(notices().last! == (.proxyUnloaded, 2) && h.core.objects.proxies.isEmpty)
        // Only the broker sends these codes.
        let forged = h.out.sent.count
        h.deliver(from: app1, FrameHeader(command: .transaction, transactionID: 4, target: again.id, code: BrokerNotice.proxyLoaded.rawValue))
        #expect(h.out.sent[forged...].first { $0.to == app1 }?.header.status == .permissionDenied)
    }

    @Test("the caller's pid as the receiver sees it: the root sees all, a container its own processes' pids in its PID namespace, else 0")
    func pidTranslation() throws {
        let h = try Self.withContainers()
        let rootService = h.connect(1, pid: 700)
        let service1 = h.connect(11, pid: 1100, container: 1, namespacePID: 7)
        let app1 = h.connect(12, pid: 1200, container: 1, namespacePID: 8)
        let app2 = h.connect(21, pid: 2100, container: 2)
        let rootApp = h.connect(2, pid: 200)
        _ = h.addService("svc1", from: service1, cookie: 1)
        func stampSeen(from caller: ConnectionID, handle: ObjectRef, by receiver: ConnectionID) throws -> CallerIdentity {
            let before = h.out.sent.count
            h.deliver(from: caller, FrameHeader(command: .transaction, flags: .oneWay, target: handle.id, code: 1))
            return try #require(h.out.sent[before...].first { $0.to == receiver }).header.sender
        }
        let fromApp1 = try stampSeen(from: app1, handle: try h.getService("svc1", from: app1), by: service1)
        #expect(fromApp1.pid == 8 && fromApp1.container == 1, "same container: its own namespace's pid")
        let fromRoot = try stampSeen(from: rootApp, handle: try Self.lookUp(h, "svc1", in: 1, from: rootApp), by: service1)
        #expect(fromRoot.pid == 0 && fromRoot.container == 0, "the root's pids are not visible in a container")
        _ = h.callServiceManager(from: rootService, .addExportedService) { p in
            p.write("sys")
            p.write(object: .local(2))
        }
        let fromApp2ToRoot = try stampSeen(from: app2, handle: try h.getService("sys", from: app2), by: rootService)
        #expect(fromApp2ToRoot.pid == 2100 && fromApp2ToRoot.container == 2, "the root sees the broker's view")
    }

    @Test("waitForService in a child is answered by an exported root registration and by its own, not by another child's")
    func waitersAreScoped() throws {
        let h = try Self.withContainers()
        let app1 = h.connect(12, container: 1)
        let svc2 = h.connect(22, container: 2)
        let root = h.connect(1)
        let waiting = h.callServiceManager(from: app1, .waitForService) { p in
            p.write("later")
            p.write(Int64(-1))
        }
        #expect(waiting == nil)
        _ = h.addService("later", from: svc2, cookie: 1)
        #expect(!h.out.sent.contains { $0.to == app1 }, "container 2's registration does not answer container 1")
        _ = h.callServiceManager(from: root, .addExportedService) { p in
            p.write("later")
            p.write(object: .local(5))
        }
        #expect(h.out.sent.contains { $0.to == app1 && $0.header.command == .reply })
    }

    @Test("container management: bad IDs and names, duplicates, unknown containers, and callers that may not")
    func management() throws {
        let h = try Self.withContainers()
        let admin = h.connect(1)
        func create(_ id: Int32, _ name: String, from c: ConnectionID) throws {
            var reply = h.callServiceManager(from: c, .createContainer) { p in
                p.write(id)
                p.write(name)
            }!.parcel
            try reply.readException()
        }
        #expect(throws: ServiceError.self) { try create(0, "root", from: admin) }
        #expect(throws: ServiceError.self) { try create(5000, "big", from: admin) }
        #expect(throws: ServiceError.self) { try create(4, "-bad-", from: admin) }
        #expect(throws: ServiceError.self) { try create(1, "again", from: admin) }
        #expect(throws: ServiceError.self) { try create(4, "four", from: h.connect(2, uid: 1000)) }
        #expect(throws: ServiceError.self) { try create(4, "four", from: h.connect(12, container: 1)) }
        h.out.failStart = "clone3: Operation not permitted"
        #expect(throws: ServiceError.self) { try create(4, "four", from: admin) }
        h.out.failStart = nil
        var stop = h.callServiceManager(from: admin, .stopContainer) { $0.write(Int32(9)) }!.parcel
        #expect(throws: ServiceError.self) { try stop.readException() }
        var list = h.callServiceManager(from: admin, .listContainers) { _ in }!.parcel
        try list.readException()
        #expect(try list.readArray { p throws(StatusCode) in try ContainerInfo.read(from: &p) }?.map(\.id) == [1, 2, 3])
    }

    @Test("stop: the reply waits for the container's end, which closes its connections, services and death links")
    func stop() throws {
        let h = try Self.withContainers()
        let admin = h.connect(1)
        let svc1 = h.connect(11, container: 1)
        let watcher = h.connect(2)
        _ = h.addService("demo.echo", from: svc1, cookie: 7)
        let handle = try Self.lookUp(h, "demo.echo", in: 1, from: watcher)
        var link = h.callServiceManager(from: watcher, .linkToDeath) { p in
            p.write(object: handle)
            p.write(object: .local(77))
            p.write(Int64(5))
        }!.parcel
        try link.readException()
        var fg = h.callServiceManager(from: admin, .setForegroundContainer) { $0.write(Int32(1)) }!.parcel
        try fg.readException()
        let stopping = h.callServiceManager(from: admin, .stopContainer) { $0.write(Int32(1)) }
        #expect(stopping == nil, "no reply before the container has ended")
        #expect(h.out.stopped == [1])
        h.core.containerExited(1, out: &h.out)
        #expect(h.out.disconnects.map(\.0) == [svc1])
        #expect(h.out.sent.contains { $0.to == watcher && $0.header.code == IDeathRecipient.Code.binderDied.rawValue })
        #expect(h.out.sent.last?.to == admin && h.out.sent.last?.header.command == .reply)
        #expect(try h.getService("demo.echo", from: admin) == .null)
        #expect(throws: ServiceError.self) { try Self.lookUp(h, "demo.echo", in: 1, from: admin) }
        var foreground = h.callServiceManager(from: admin, .getForegroundContainer) { _ in }!.parcel
        try foreground.readException()
        #expect(try foreground.read(Int32.self) == 0, "the foreground returns to the root")
    }

    @Test("policy files: rules parse, mistakes name their line")
    func policyParsing() throws {
        let p = try ContainerPolicy.parse("allow 2 -> 1\n\n  # comment\nallow * -> 3 a.b c\n")
        #expect(p.rules == [.init(from: 2, to: 1), .init(from: nil, to: 3, services: ["a.b", "c"])])
        #expect(p.allows(from: 2, to: 1, service: "x") && !p.allows(from: 1, to: 2, service: "x"))
        #expect(p.allows(from: 0, to: 5, service: "x"), "the root reaches everything")
        #expect(throws: ContainerPolicy.ParseError(line: 2, message: "expected 'allow FROM -> TO [SERVICE]...', got 'deny 1 -> 2'")) {
            try ContainerPolicy.parse("allow 1 -> 2\ndeny 1 -> 2")
        }
        #expect(throws: ContainerPolicy.ParseError.self) { try ContainerPolicy.parse("allow x -> 2") }
        #expect(throws: ContainerPolicy.ParseError.self) { try ContainerPolicy.parse("allow 1 -> 2 bad;name") }
    }
}
