import BinderWire

/// The broker's routing state machine. Pure: it never touches the kernel; every effect goes
/// through a `BrokerOutbox`.
///
/// Routing follows Binder's driver: a process names other processes' objects by handles that are
/// valid only in that process; the broker maps a handle to a node (owner connection + the owner's
/// cookie), forwards the call to the owner addressed by cookie, and matches the reply back by
/// transaction id.
///
/// `BrokerCore` coordinates; the state is in pieces with one job each:
/// - `Connection`: one process, with its `HandleTable`, `OwnedObjects` and `FlowControl`;
/// - `ObjectTable`: the nodes (and containers' proxies), and translating references between processes;
/// - `TransactionRouter`: the two-way calls in flight, their stacks, and matching replies;
/// - `ServiceManager`: handle 0's names, waiters and listeners, and its injected access policy;
/// - `ChannelRegistry` (the named-fd registry), `DeathLinks`, and `ContainerDirectory`.
/// Each `extension BrokerCore` file carries out one piece's part of a call (ServiceManagerCalls.swift,
/// ContainerCalls.swift, References.swift, ...).
///
/// A routed frame (`transaction`, `reply`) touches only the sender, the receiver, the object table,
/// the router and the receiver's flow control: concrete types in this module, no lookups of their
/// own (the per-process parts hang off the connections) and no protocol calls but the outbox's,
/// which the event loop gets specialized for its own outbox (Package.swift: cross-module
/// optimization). The access policy is not on this path.
public final class BrokerCore {
    public let config: BrokerConfig
    let startNanos: UInt64
    /// The broker itself, in the root container: the identity on the calls it originates.
    let brokerIdentity: PeerIdentity

    var connections: [ConnectionID: Connection] = [:]
    var objects = ObjectTable()
    var router = TransactionRouter()
    var serviceManager: ServiceManager
    var channels = ChannelRegistry()
    var deathLinks = DeathLinks()
    var containers = ContainerDirectory()
    var counters = BrokerCounters()

    /// Scratch parcel for broker-built frames, reused across calls.
    var scratch = Parcel(reservingCapacity: 4096)

    /// - Parameter access: who may do what through the service manager; by default the broker's
    ///   own rules with `config.policy` (`DefaultAccessPolicy`).
    public init(config: BrokerConfig = BrokerConfig(), now: UInt64, access: (any ServiceAccessPolicy)? = nil) {
        self.config = config
        self.startNanos = now
        brokerIdentity = PeerIdentity(pid: config.brokerPID, uid: config.brokerUID, gid: 0)
        serviceManager = ServiceManager(access: access ?? DefaultAccessPolicy(containers: config.policy, brokerUID: config.brokerUID))
    }

    public var connectionCount: Int { connections.count }

    // MARK: Connection lifecycle

    public func connectionOpened(_ id: ConnectionID, identity: PeerIdentity) {
        connections[id] = Connection(id: id, identity: identity, incomingBufferBytes: config.incomingBufferBytes)
    }

    /// Forgets a connection: its callers waiting on it get `DEAD_OBJECT`, its objects die (their
    /// death links fire), its services disappear, and replies still owed to it are dropped when they arrive.
    public func connectionClosed<O: BrokerOutbox>(_ id: ConnectionID, out: inout O) {
        guard let conn = connections.removeValue(forKey: id) else { return }
        for call in router.removeCalls(involving: id) {
            if call.callee == id {
                sendStatusReply(to: call.caller, transactionID: call.callerTransactionID, status: .deadObject, out: &out)
            } else if let callee = connections[call.callee] {
                callee.flow.finished(call.charge, countedBusy: call.countsBusy)  // its late reply will be dropped
            }
        }
        var deadNodes: Set<NodeID> = []
        for (_, node) in conn.owned.nodes {
            deadNodes.insert(node)
            objects.remove(node)
        }
        if !objects.proxies.isEmpty { deadNodes.formUnion(objects.removeProxies(of: deadNodes.contains)) }
        let listenersHeld = serviceManager.registry.connectionClosed(id, deadNodes: deadNodes)
        for end in channels.connectionClosed(id) { out.close(fd: end.fd) }
        deathLinks.watcherClosed(id)
        notifyDeaths(of: deadNodes, out: &out)
        // Its references go: owners whose objects it held last are told (References.swift).
        for node in listenersHeld { release(node, out: &out) }
        for ref in conn.handles.all { handleGone(ref.node, out: &out) }
    }

    // MARK: Frames

    /// Handles one received message. `frame` is the whole message; on a forward it is rewritten in
    /// place and handed to `out.forwardCurrentFrame`.
    ///
    /// - Parameters:
    ///   - fdCount: fds that arrived with the message, or -1 when the control data was truncated.
    ///     They travel on with the frame when it is forwarded; otherwise the event loop closes them.
    ///   - truncated: the message was larger than a receive buffer.
    public func handleFrame<O: BrokerOutbox>(
        from id: ConnectionID, frame: UnsafeMutableRawBufferPointer, fdCount: Int, truncated: Bool, now: UInt64, out: inout O
    ) {
        guard let conn = connections[id] else { return }
        defer { if !objects.proxies.loaded.isEmpty { announceLoadedProxies(out: &out) } }
        if truncated {
            return malformed(conn, FrameError.truncated(frame.count).description, out: &out)
        }
        let header: FrameHeader
        do {
            header = try FrameHeader.decode(from: UnsafeRawBufferPointer(frame), messageLength: frame.count)
        } catch {
            return malformed(conn, error.description, out: &out)
        }
        if fdCount < 0 {
            return malformed(conn, "ancillary data truncated (MSG_CTRUNC): more than \(config.maxFDs) fds or a foreign control message", out: &out)
        }
        guard Int(header.fdCount) == fdCount else {
            return malformed(conn, "header announces \(header.fdCount) fds but \(fdCount) arrived", out: &out)
        }
        guard conn.greeted else {
            return greet(conn, header: header, frame: frame, out: &out)
        }
        if frame.count > Int(conn.maxFrameSize) {
            return malformed(conn, "frame of \(frame.count) bytes exceeds the negotiated \(conn.maxFrameSize)", out: &out)
        }
        if let problem = validateObjectOffsets(header: header, frame: frame) {
            return malformed(conn, problem, out: &out)
        }
        if header.objectCount > 0 { objects.countOwnReferences(from: conn, header: header, frame: frame) }
        switch header.command {
        case .transaction:
            transaction(from: conn, header: header, frame: frame, now: now, out: &out)
        case .reply:
            reply(from: conn, header: header, frame: frame, out: &out)
        case .free:
            freed(by: conn, header: header, out: &out)
        case .threads:
            conn.flow.threadsRunning(header.code)
        case .release:
            releaseReferences(by: conn, header: header, out: &out)
        case .hello, .welcome, .spawnThread, .released:
            malformed(conn, "unexpected \(header.command) after the handshake", out: &out)
        }
    }

    /// Disconnects a peer that broke the protocol.
    func malformed<O: BrokerOutbox>(_ conn: Connection, _ reason: String, out: inout O) {
        counters.malformedDisconnects += 1
        out.disconnect(conn.id, reason: reason)
    }

    private func greet<O: BrokerOutbox>(_ conn: Connection, header: FrameHeader, frame: UnsafeMutableRawBufferPointer, out: inout O) {
        guard header.command == .hello else {
            return malformed(conn, "first frame must be hello, got \(header.command)", out: &out)
        }
        guard header.fdCount == 0, header.objectCount == 0 else {
            return malformed(conn, "hello must carry no fds and no objects", out: &out)
        }
        var p = Parcel()
        p.replace(with: UnsafeRawBufferPointer(rebasing: frame[FrameHeader.size..<FrameHeader.size + Int(header.dataLength)]),
                  objectOffsets: UnsafeRawBufferPointer(start: nil, count: 0))
        let hello: Hello
        do { hello = try Hello.read(from: &p) } catch {
            return malformed(conn, "hello parcel is malformed (\(error))", out: &out)
        }
        guard hello.major == Hello.protocolMajor else {
            return malformed(conn, "protocol version \(hello.major).\(hello.minor) is not supported (broker speaks \(Hello.protocolMajor).x)", out: &out)
        }
        guard hello.maxFrameSize >= Limits.minimumFrameSize else {
            return malformed(conn, "maximum frame \(hello.maxFrameSize) is below the minimum \(Limits.minimumFrameSize)", out: &out)
        }
        conn.greeted = true
        conn.maxFrameSize = min(hello.maxFrameSize, config.maxFrameSize)
        conn.maxFDs = min(hello.maxFDs, config.maxFDs)
        conn.flow.maxThreads = hello.maxThreads
        conn.session = hello.session
        conn.handles.startAt(hello.firstHandle)
        let welcome = Welcome(
            maxFrameSize: conn.maxFrameSize, maxFDs: conn.maxFDs, connectionID: conn.id.raw,
            pid: UInt32(bitPattern: conn.identity.namespacePID), uid: conn.identity.uid, gid: conn.identity.gid,
            container: conn.identity.container)
        scratch.removeAll()
        welcome.write(to: &scratch)
        out.send(to: conn.id, header: FrameHeader(command: .welcome), parcel: scratch)
    }

    /// Object offsets must each point at a whole 16-byte entry inside the parcel, in increasing
    /// order without overlap.
    private func validateObjectOffsets(header: FrameHeader, frame: UnsafeMutableRawBufferPointer) -> String? {
        let count = Int(header.objectCount)
        if count == 0 { return nil }
        if count > Limits.maxObjects { return "\(count) objects exceed the limit of \(Limits.maxObjects)" }
        let base = FrameHeader.size + Int(header.dataLength)
        var next = 0
        for i in 0..<count {
            let offset = UInt32(littleEndian: frame.loadUnaligned(fromByteOffset: base + 4 * i, as: UInt32.self))
            let o = Int(offset)
            guard o % 4 == 0, o >= next, o + ObjectRef.size <= Int(header.dataLength) else {
                return FrameError.badObjectOffset(offset).description
            }
            next = o + ObjectRef.size
        }
        return nil
    }

    private func transaction<O: BrokerOutbox>(
        from conn: Connection, header: FrameHeader, frame: UnsafeMutableRawBufferPointer, now: UInt64, out: inout O
    ) {
        let oneWay = header.flags.contains(.oneWay)
        conn.transactionsSent += 1
        counters.transactions += 1
        if oneWay { counters.oneWay += 1 }
        // A status-only reply: a two-way call's failure, or a one-way call's acknowledgement (`.ok`
        // once forwarded, else the failure).
        func answer(_ status: StatusCode, _ out: inout O) {
            sendStatusReply(to: conn.id, transactionID: header.transactionID, status: status, out: &out)
        }
        if header.sender != .none || BrokerNotice.reserved.contains(header.code) { return answer(.permissionDenied, &out) }
        // A call whose caller stopped waiting is not delivered (WIRE.md §3.2): it must not run.
        if header.deadline != 0 && now >= header.deadline {
            counters.expiredCalls += 1
            return answer(.timedOut, &out)
        }
        guard header.target <= UInt64(UInt32.max) else { return answer(.badValue, &out) }
        let handle = UInt32(header.target)
        if handle == ServiceManagerInterface.handle {
            if header.fdCount > 0 { return answer(.fdsNotAllowed, &out) }
            serviceManagerTransaction(from: conn, header: header, frame: frame, now: now, out: &out)
            if oneWay { answer(.ok, &out) }
            return
        }
        guard let nodeID = conn.handles[handle]?.node else { return answer(.badValue, &out) }
        guard let node = objects[nodeID], let owner = connections[node.owner] else {
            return answer(.deadObject, &out)
        }
        if header.fdCount > 0 && (!node.acceptsFDs || UInt32(header.fdCount) > owner.maxFDs) {
            return answer(.fdsNotAllowed, &out)
        }
        if frame.count > Int(owner.maxFrameSize) { return answer(.failedTransaction, &out) }
        // The nesting is checked before anything is charged or translated: a call refused here
        // costs its callee nothing (no buffer, no references it would never see).
        var parent: UInt64 = 0, nestedIn: UInt64 = 0
        if !oneWay && header.nestedIn != 0 {
            switch router.nesting(of: conn.id, under: header.nestedIn, callee: owner.id) {
            case .forged: return answer(.badValue, &out)
            case .over: break
            case .stack(let up, let callee): (parent, nestedIn) = (up, callee)
            }
        }
        let charge = UInt32(frame.count)
        guard owner.flow.admits(charge, oneWay: oneWay) else {
            counters.bufferRefusals += 1
            return answer(.failedTransaction, &out)
        }
        if header.objectCount > 0,
           let status = objects.translate(from: conn, to: owner, header: header, frame: frame, connections: connections) {
            return answer(status, &out)
        }
        var forwarded = header
        forwarded.target = node.cookie
        forwarded.sender = conn.identity.stamp(seenFrom: owner.identity.container)
        forwarded.nestedIn = nestedIn
        if oneWay {
            forwarded.transactionID = 0
            owner.flow.deliveredOneWay(charge)
        } else {
            owner.flow.chargeTwoWay(charge)
            let countsBusy = forwarded.nestedIn == 0
            forwarded.transactionID = router.started(TransactionRouter.PendingCall(
                caller: conn.id, callerTransactionID: header.transactionID, callee: owner.id,
                acceptsFDs: header.flags.contains(.acceptFDs), parent: parent, charge: charge, countsBusy: countsBusy))
            if countsBusy { owner.flow.startedServing() }
        }
        forwarded.encode(into: frame.baseAddress!)
        owner.transactionsReceived += 1
        out.forwardCurrentFrame(to: owner.id)
        if oneWay { answer(.ok, &out) }
        askForThreadIfBusy(owner, out: &out)
    }

    /// As Binder's driver asks for a looper: when no thread of `conn` is left idle and it may start
    /// more, one SPAWN_THREAD at a time per missing thread (WIRE.md §5.2).
    func askForThreadIfBusy<O: BrokerOutbox>(_ conn: Connection, out: inout O) {
        guard conn.flow.wantsThread() else { return }
        scratch.removeAll()
        out.send(to: conn.id, header: FrameHeader(command: .spawnThread), parcel: scratch)
    }

    /// FREE: the process finished `code` one-way calls of `target` bytes in all.
    private func freed<O: BrokerOutbox>(by conn: Connection, header: FrameHeader, out: inout O) {
        guard conn.flow.freed(calls: header.code, bytes: header.target) else {
            return malformed(conn, "frees \(header.code) one-way calls of \(header.target) bytes, but \(conn.flow.oneWayInFlight) of \(conn.flow.oneWayBufferUsed) are outstanding", out: &out)
        }
    }

    private func reply<O: BrokerOutbox>(from conn: Connection, header: FrameHeader, frame: UnsafeMutableRawBufferPointer, out: inout O) {
        let txid = header.transactionID
        if header.sender != .none {
            return malformed(conn, "reply carries a sender stamp; only the broker stamps identities", out: &out)
        }
        let call: TransactionRouter.PendingCall
        switch router.answered(txid, by: conn.id) {
        case .unknown: return  // the caller went away: drop the late reply
        case .notItsCall:
            return malformed(conn, "reply to transaction \(txid), which was not sent to this connection", out: &out)
        case .call(let answered): call = answered
        }
        conn.flow.finished(call.charge, countedBusy: call.countsBusy)
        guard let caller = connections[call.caller] else { return }
        counters.replies += 1
        if header.fdCount > 0 && (!call.acceptsFDs || UInt32(header.fdCount) > caller.maxFDs) {
            return sendStatusReply(to: caller.id, transactionID: call.callerTransactionID, status: .fdsNotAllowed, out: &out)
        }
        if frame.count > Int(caller.maxFrameSize) {
            return sendStatusReply(to: caller.id, transactionID: call.callerTransactionID, status: .failedTransaction, out: &out)
        }
        if header.objectCount > 0,
           let status = objects.translate(from: conn, to: caller, header: header, frame: frame, connections: connections) {
            return sendStatusReply(to: caller.id, transactionID: call.callerTransactionID, status: status, out: &out)
        }
        var forwarded = header
        forwarded.transactionID = call.callerTransactionID
        forwarded.target = 0
        forwarded.nestedIn = 0
        forwarded.sender = conn.identity.stamp(seenFrom: caller.identity.container)
        forwarded.encode(into: frame.baseAddress!)
        out.forwardCurrentFrame(to: caller.id)
    }

    func sendStatusReply<O: BrokerOutbox>(to id: ConnectionID, transactionID: UInt64, status: StatusCode, out: inout O) {
        if status == .deadObject { counters.deadObjectReplies += 1 }
        scratch.removeAll()
        out.send(to: id, header: FrameHeader(command: .reply, transactionID: transactionID, status: status), parcel: scratch)
    }

    /// Sends a frame the broker built from `scratch`. A frame larger than the receiver accepts is
    /// replaced by a `FAILED_TRANSACTION` reply (for a reply) or dropped (for a one-way call).
    func sendBuilt<O: BrokerOutbox>(to conn: Connection, header: FrameHeader, out: inout O) {
        guard header.describing(scratch).frameLength <= Int(conn.maxFrameSize) else {
            for f in scratch.fileDescriptors { out.close(fd: f.fd) }
            if header.command == .reply { sendStatusReply(to: conn.id, transactionID: header.transactionID, status: .failedTransaction, out: &out) }
            return
        }
        out.send(to: conn.id, header: header, parcel: scratch)
    }

    /// Sends `scratch` as a one-way call to a callback object (`node`, owned by `owner`), stamped
    /// with the broker's own identity: how the broker calls listeners.
    func callBack<O: BrokerOutbox>(_ node: Node, owner: Connection, code: UInt32, out: inout O) {
        owner.transactionsReceived += 1
        let header = FrameHeader(
            command: .transaction, flags: .oneWay, target: node.cookie, code: code,
            sender: brokerIdentity.stamp(seenFrom: owner.identity.container))
        // Charged to the owner's incoming buffer like a routed one-way call (its FREE counts it),
        // but never refused: the broker's own notices are few and must not be lost.
        let length = UInt32(header.describing(scratch).frameLength)
        if length <= owner.maxFrameSize { owner.flow.deliveredOneWay(length) }
        sendBuilt(to: owner, header: header, out: &out)
    }
}
