import BinderWire

/// Settings of the state machine.
public struct BrokerConfig: Sendable {
    /// Largest frame the broker accepts and sends (header included).
    public var maxFrameSize: UInt32 = Limits.defaultMaxFrameSize
    public var maxFDs: UInt32 = Limits.defaultMaxFDs
    /// The broker's own identity, stamped on the transactions it originates (notifications).
    public var brokerPID: Int32 = 0
    public var brokerUID: UInt32 = 0
    /// How long an unclaimed channel end stays in the named-fd registry.
    public var channelTimeToLiveNanos: UInt64 = 10_000_000_000
    /// Which child containers may reach which others' services.
    public var policy = ContainerPolicy()
    /// Each process's incoming buffer (WIRE.md §5.1): bytes of routed transactions delivered to it
    /// and not yet finished. One-way calls may use half of it.
    public var incomingBufferBytes: UInt32 = 1 << 20
    public init() {}
}

/// The broker's routing state: connections, objects (nodes), per-connection handle tables,
/// two-way transactions in flight, and the service manager. Pure: it never touches the kernel;
/// every effect goes through a `BrokerOutbox`.
///
/// Routing follows Binder's driver: a process names other processes' objects by handles that are
/// valid only in that process; the broker maps a handle to a node (owner connection + the owner's
/// cookie), forwards the call to the owner addressed by cookie, and matches the reply back by
/// transaction id.
public final class BrokerCore {
    public let config: BrokerConfig
    let startNanos: UInt64
    /// The broker itself, in the root container: the identity on the calls it originates.
    let brokerIdentity: PeerIdentity

    final class Connection {
        let id: ConnectionID
        let identity: PeerIdentity
        var greeted = false
        var maxFrameSize: UInt32 = 0
        /// The most fds this connection takes in one frame (negotiated at hello).
        var maxFDs: UInt32 = 0
        /// Handle → node and the references delivered, and node → handle (so the same object
        /// always gets the same handle). Handles are never reused (References.swift).
        var handles: [UInt32: HandleRef] = [:]
        var handleOfNode: [NodeID: UInt32] = [:]
        var nextHandle: UInt32 = 1
        /// Nodes this connection owns, by cookie.
        var nodesByCookie: [UInt64: NodeID] = [:]
        /// Its own objects' reference counts, by cookie (References.swift).
        var objectRefs: [UInt64: ObjectRefs] = [:]
        var transactionsSent: UInt64 = 0
        var transactionsReceived: UInt64 = 0
        /// The thread pool (WIRE.md §5.2): the most threads the process starts (its Hello), the
        /// number it reports running, spawn requests not yet answered, and the routed two-way
        /// calls it is serving (nested calls run on a waiting thread and are not counted).
        var maxThreads: UInt32 = 0
        var threads: UInt32 = 0
        var spawnsRequested: UInt32 = 0
        var busy: UInt32 = 0
        /// The incoming buffer (WIRE.md §5.1): bytes charged for transactions delivered and not
        /// finished; the one-way part, and one-way calls not yet freed.
        var bufferUsed: UInt32 = 0
        var oneWayBufferUsed: UInt32 = 0
        var oneWayInFlight: UInt32 = 0
        init(id: ConnectionID, identity: PeerIdentity) {
            self.id = id
            self.identity = identity
        }

    }

    struct NodeID: Hashable { let raw: UInt64 }

    struct Node {
        let owner: ConnectionID
        let cookie: UInt64
        /// The owner opted in to transactions that carry fds (`ObjectRef.acceptsFDs`).
        let acceptsFDs: Bool
    }

    struct PendingCall {
        let caller: ConnectionID
        let callerTransactionID: UInt64
        let callee: ConnectionID
        /// The caller accepts fds in the reply (`TransactionFlags.acceptFDs`).
        let acceptsFDs: Bool
        /// The broker ID of the call the caller's thread was serving when it made this one (0:
        /// none): the transaction stack that nested calls are matched against.
        let parent: UInt64
        /// Bytes charged to the callee's incoming buffer; whether the call counts as busy there.
        let charge: UInt32
        let countsBusy: Bool
    }

    /// How far up a transaction stack the broker looks for a waiting thread of the callee.
    static let maxNesting = 64

    var connections: [ConnectionID: Connection] = [:]
    var nodes: [NodeID: Node] = [:]
    var nextNode: UInt64 = 1
    var pending: [UInt64: PendingCall] = [:]
    var nextTransactionID: UInt64 = 1
    var registry = ServiceRegistry()
    var channels = ChannelRegistry()
    var deathLinks = DeathLinks()
    var containers: [UInt32: ContainerRecord] = [:]
    /// Per-container proxy nodes of exported root services (Containers.swift).
    var exportedProxies: [ExportedProxyKey: NodeID] = [:]
    /// Each proxy node's key, and how many handles hold it (its last one going unloads it).
    var proxyKeys: [NodeID: ExportedProxyKey] = [:]
    var proxyHolders: [NodeID: UInt32] = [:]
    /// Proxies loaded while handling the current frame, whose owners are told at its end.
    var loadedProxies: [(proxy: NodeID, container: UInt32)] = []
    /// The container in the foreground (0: the root).
    var foreground: UInt32 = 0

    // Counters for `binder status`.
    var transactionCount: UInt64 = 0
    var oneWayCount: UInt64 = 0
    var replyCount: UInt64 = 0
    var deadObjectReplies: UInt64 = 0
    var malformedDisconnects: UInt64 = 0
    var bufferRefusals: UInt64 = 0
    var objectsReleased: UInt64 = 0

    /// Scratch parcel for broker-built frames, reused across calls.
    var scratch = Parcel(reservingCapacity: 4096)

    public init(config: BrokerConfig = BrokerConfig(), now: UInt64) {
        self.config = config
        self.startNanos = now
        brokerIdentity = PeerIdentity(pid: config.brokerPID, uid: config.brokerUID, gid: 0)
    }

    public var connectionCount: Int { connections.count }

    // MARK: Connection lifecycle

    public func connectionOpened(_ id: ConnectionID, identity: PeerIdentity) {
        connections[id] = Connection(id: id, identity: identity)
    }

    /// Forgets a connection: its callers waiting on it get `DEAD_OBJECT`, its objects die (their
    /// death links fire), its services disappear, and replies still owed to it are dropped when they arrive.
    public func connectionClosed<O: BrokerOutbox>(_ id: ConnectionID, out: inout O) {
        guard let conn = connections.removeValue(forKey: id) else { return }
        // Closes are rare and few calls are in flight, so scan `pending` here rather than keep
        // per-connection indexes up to date on every transaction.
        for (txid, call) in pending where call.callee == id || call.caller == id {
            pending.removeValue(forKey: txid)
            if call.callee == id {
                sendStatusReply(to: call.caller, transactionID: call.callerTransactionID, status: .deadObject, out: &out)
            } else if let callee = connections[call.callee] {
                finished(call, at: callee)  // its late reply will be dropped
            }
        }
        var deadNodes: Set<NodeID> = []
        for (_, node) in conn.nodesByCookie {
            deadNodes.insert(node)
            nodes.removeValue(forKey: node)
        }
        if !exportedProxies.isEmpty { deadNodes.formUnion(proxiesDying(with: deadNodes)) }
        let listenersHeld = registry.connectionClosed(id, deadNodes: deadNodes)
        for end in channels.connectionClosed(id) { out.close(fd: end.fd) }
        deathLinks.watcherClosed(id)
        notifyDeaths(of: deadNodes, out: &out)
        // Its references go: owners whose objects it held last are told (References.swift).
        for node in listenersHeld { release(node, out: &out) }
        for (_, ref) in conn.handles { handleGone(ref.node, out: &out) }
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
        defer { if !loadedProxies.isEmpty { announceLoadedProxies(out: &out) } }
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
        if header.objectCount > 0 { countOwnReferences(from: conn, header: header, frame: frame) }
        switch header.command {
        case .transaction:
            transaction(from: conn, header: header, frame: frame, now: now, out: &out)
        case .reply:
            reply(from: conn, header: header, frame: frame, out: &out)
        case .free:
            freed(by: conn, header: header, out: &out)
        case .threads:
            conn.threads = min(header.code, conn.maxThreads)
            if conn.spawnsRequested > 0 { conn.spawnsRequested -= 1 }
        case .release:
            releaseReferences(by: conn, header: header, out: &out)
        case .hello, .welcome, .spawnThread, .released:
            malformed(conn, "unexpected \(header.command) after the handshake", out: &out)
        }
    }

    private func malformed<O: BrokerOutbox>(_ conn: Connection, _ reason: String, out: inout O) {
        malformedDisconnects += 1
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
        conn.maxThreads = hello.maxThreads
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
        transactionCount += 1
        if oneWay { oneWayCount += 1 }
        // A status-only reply: a two-way call's failure, or a one-way call's acknowledgement (`.ok`
        // once forwarded, else the failure).
        func answer(_ status: StatusCode, _ out: inout O) {
            sendStatusReply(to: conn.id, transactionID: header.transactionID, status: status, out: &out)
        }
        if header.sender != .none || BrokerNotice.reserved.contains(header.code) { return answer(.permissionDenied, &out) }
        guard header.target <= UInt64(UInt32.max) else { return answer(.badValue, &out) }
        let handle = UInt32(header.target)
        if handle == ServiceManagerInterface.handle {
            if header.fdCount > 0 { return answer(.fdsNotAllowed, &out) }
            serviceManagerTransaction(from: conn, header: header, frame: frame, now: now, out: &out)
            if oneWay { answer(.ok, &out) }
            return
        }
        guard let nodeID = conn.handles[handle]?.node else { return answer(.badValue, &out) }
        guard let node = nodes[nodeID], let owner = connections[node.owner] else {
            return answer(.deadObject, &out)
        }
        if header.fdCount > 0 && (!node.acceptsFDs || UInt32(header.fdCount) > owner.maxFDs) {
            return answer(.fdsNotAllowed, &out)
        }
        if frame.count > Int(owner.maxFrameSize) { return answer(.failedTransaction, &out) }
        let charge = UInt32(frame.count)
        guard owner.bufferUsed + charge <= config.incomingBufferBytes,
            !oneWay || owner.oneWayBufferUsed + charge <= config.incomingBufferBytes / 2
        else {
            bufferRefusals += 1
            return answer(.failedTransaction, &out)
        }
        if let status = translateObjects(from: conn, to: owner, header: header, frame: frame) {
            return answer(status, &out)
        }
        var forwarded = header
        forwarded.target = node.cookie
        forwarded.sender = conn.identity.stamp(seenFrom: owner.identity.container)
        forwarded.nestedIn = 0
        owner.bufferUsed += charge
        if oneWay {
            forwarded.transactionID = 0
            owner.oneWayBufferUsed += charge
            owner.oneWayInFlight += 1
        } else {
            var parent: UInt64 = 0
            if header.nestedIn != 0 {
                switch nesting(of: conn, under: header.nestedIn, callee: owner.id) {
                case .forged: return answer(.badValue, &out)
                case .over: break
                case .stack(let stack): (parent, forwarded.nestedIn) = stack
                }
            }
            let txid = nextTransactionID
            nextTransactionID += 1
            forwarded.transactionID = txid
            let countsBusy = forwarded.nestedIn == 0
            pending[txid] = PendingCall(
                caller: conn.id, callerTransactionID: header.transactionID, callee: owner.id,
                acceptsFDs: header.flags.contains(.acceptFDs), parent: parent, charge: charge, countsBusy: countsBusy)
            if countsBusy { owner.busy += 1 }
        }
        forwarded.encode(into: frame.baseAddress!)
        owner.transactionsReceived += 1
        out.forwardCurrentFrame(to: owner.id)
        if oneWay { answer(.ok, &out) }
        askForThreadIfBusy(owner, out: &out)
    }

    /// A two-way call to `callee` is over (answered, or its caller left): its charge and its thread are free.
    func finished(_ call: PendingCall, at callee: Connection) {
        callee.bufferUsed -= call.charge
        if call.countsBusy { callee.busy -= 1 }
    }

    /// As Binder's driver asks for a looper: when no thread of `conn` is left idle and it may start
    /// more, one SPAWN_THREAD at a time per missing thread (WIRE.md §5.2).
    func askForThreadIfBusy<O: BrokerOutbox>(_ conn: Connection, out: inout O) {
        let promised = conn.threads + conn.spawnsRequested
        guard conn.busy >= promised, promised < conn.maxThreads else { return }
        conn.spawnsRequested += 1
        scratch.removeAll()
        out.send(to: conn.id, header: FrameHeader(command: .spawnThread), parcel: scratch)
    }

    /// FREE: the process finished `code` one-way calls of `target` bytes in all.
    private func freed<O: BrokerOutbox>(by conn: Connection, header: FrameHeader, out: inout O) {
        guard header.target <= UInt64(conn.oneWayBufferUsed), header.code <= conn.oneWayInFlight else {
            return malformed(conn, "frees \(header.code) one-way calls of \(header.target) bytes, but \(conn.oneWayInFlight) of \(conn.oneWayBufferUsed) are outstanding", out: &out)
        }
        conn.oneWayInFlight -= header.code
        conn.oneWayBufferUsed -= UInt32(header.target)
        conn.bufferUsed -= UInt32(header.target)
    }

    private func reply<O: BrokerOutbox>(from conn: Connection, header: FrameHeader, frame: UnsafeMutableRawBufferPointer, out: inout O) {
        let txid = header.transactionID
        if header.sender != .none {
            return malformed(conn, "reply carries a sender stamp; only the broker stamps identities", out: &out)
        }
        // One hash: find, check, then remove by index.
        guard let index = pending.index(forKey: txid) else { return }  // the caller went away: drop the late reply
        let call = pending[index].value
        guard call.callee == conn.id else {
            return malformed(conn, "reply to transaction \(txid), which was not sent to this connection", out: &out)
        }
        pending.remove(at: index)
        finished(call, at: conn)
        guard let caller = connections[call.caller] else { return }
        replyCount += 1
        if header.fdCount > 0 && (!call.acceptsFDs || UInt32(header.fdCount) > caller.maxFDs) {
            return sendStatusReply(to: caller.id, transactionID: call.callerTransactionID, status: .fdsNotAllowed, out: &out)
        }
        if frame.count > Int(caller.maxFrameSize) {
            return sendStatusReply(to: caller.id, transactionID: call.callerTransactionID, status: .failedTransaction, out: &out)
        }
        if let status = translateObjects(from: conn, to: caller, header: header, frame: frame) {
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

    enum Nesting {
        /// The sender names a call it is not serving.
        case forged
        /// The call it names is over (its caller went away): not nested.
        case over
        /// The parent to record, and the callee's own ID of the call its thread waits on (0: none).
        case stack(parent: UInt64, nestedIn: UInt64)
    }

    /// Where a two-way call made while serving broker call `parent` runs, as Binder's driver does it:
    /// if a thread of `callee` waits somewhere up the transaction stack (A→B→A, A→B→C→A, ...), the
    /// call goes to that thread, named by the callee's own ID of the call it waits on.
    func nesting(of sender: Connection, under parent: UInt64, callee: ConnectionID) -> Nesting {
        guard let served = pending[parent] else { return .over }
        guard served.callee == sender.id else { return .forged }
        var call = served
        for _ in 0..<Self.maxNesting {
            if call.caller == callee { return .stack(parent: parent, nestedIn: call.callerTransactionID) }
            guard call.parent != 0, let up = pending[call.parent] else { break }
            call = up
        }
        return .stack(parent: parent, nestedIn: 0)
    }

    func sendStatusReply<O: BrokerOutbox>(to id: ConnectionID, transactionID: UInt64, status: StatusCode, out: inout O) {
        if status == .deadObject { deadObjectReplies += 1 }
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

    // MARK: Objects

    /// The node for an object reference written by `conn`, creating nodes for new local objects.
    /// nil when `conn` names a handle it does not hold.
    func node(for ref: ObjectRef, writtenBy conn: Connection) -> NodeID?? {
        switch ref.kind {
        case .null:
            return .some(nil)
        case .local:
            if let n = conn.nodesByCookie[ref.id] { return n }
            let n = NodeID(raw: nextNode)
            nextNode += 1
            nodes[n] = Node(owner: conn.id, cookie: ref.id, acceptsFDs: ref.flags & ObjectRef.acceptsFDs != 0)
            conn.nodesByCookie[ref.id] = n
            return n
        case .handle:
            guard ref.id <= UInt64(UInt32.max), let n = conn.handles[UInt32(ref.id)]?.node else { return nil }
            return n
        }
    }

    /// The node an existing reference names, never creating one. nil for null and unknown references.
    func existingNode(for ref: ObjectRef, writtenBy conn: Connection) -> NodeID? {
        switch ref.kind {
        case .null: return nil
        case .local: return conn.nodesByCookie[ref.id]
        case .handle: return ref.id <= UInt64(UInt32.max) ? conn.handles[UInt32(ref.id)]?.node : nil
        }
    }

    /// The entry that names `node` for `receiver`: its own cookie if it owns it, else its handle.
    func reference(to node: NodeID?, for receiver: Connection) -> ObjectRef {
        guard let node else { return .null }
        if let n = nodes[node], n.owner == receiver.id {
            deliverOwn(n.cookie, to: receiver)
            return .local(n.cookie)
        }
        return .handle(deliverHandle(of: node, to: receiver))
    }

    /// Rewrites every object entry of a frame from `sender`'s view into `receiver`'s view.
    /// Returns `BAD_VALUE` if the sender names a handle it does not hold, `BAD_TYPE` for an unknown
    /// kind. Every entry is checked before any is translated, so a refused frame delivers no
    /// reference and creates no node.
    private func translateObjects(from sender: Connection, to receiver: Connection, header: FrameHeader, frame: UnsafeMutableRawBufferPointer) -> StatusCode? {
        let count = Int(header.objectCount)
        if count == 0 { return nil }
        let data = frame.baseAddress! + FrameHeader.size
        let offsets = Int(header.dataLength) + FrameHeader.size
        func entry(_ i: Int) -> UnsafeMutableRawPointer {
            data + Int(UInt32(littleEndian: frame.loadUnaligned(fromByteOffset: offsets + 4 * i, as: UInt32.self)))
        }
        for i in 0..<count {
            let ref: ObjectRef
            do { ref = try ObjectRef.load(from: entry(i)) } catch { return error }
            if ref.kind == .handle && existingNode(for: ref, writtenBy: sender) == nil { return .badValue }
        }
        for i in 0..<count {
            let ref = try! ObjectRef.load(from: entry(i))  // checked above
            let node = node(for: ref, writtenBy: sender)!
            var translated = reference(to: node, for: receiver)
            translated.flags = ref.flags
            translated.store(to: entry(i))
        }
        return nil
    }

    // MARK: Status

    public func status(now: UInt64) -> BrokerStatus {
        BrokerStatus(
            brokerPID: config.brokerPID, uptimeMillis: (now - startNanos) / 1_000_000, transactions: transactionCount,
            oneWay: oneWayCount, replies: replyCount, deadObjectReplies: deadObjectReplies,
            malformedDisconnects: malformedDisconnects, pendingTransactions: UInt32(pending.count),
            connections: connections.values.sorted { $0.id.raw < $1.id.raw }.map { c in
                var s = BrokerStatus.Connection(
                    id: c.id.raw, pid: c.identity.pid, uid: c.identity.uid, gid: c.identity.gid, container: c.identity.container,
                    handles: UInt32(c.handles.count), objects: UInt32(c.nodesByCookie.count),
                    transactionsSent: c.transactionsSent, transactionsReceived: c.transactionsReceived)
                s.threads = c.threads
                s.maxThreads = c.maxThreads
                s.busy = c.busy
                s.bufferUsed = c.bufferUsed
                s.oneWayBufferUsed = c.oneWayBufferUsed
                return s
            },
            services: registry.services.sorted { $0.key < $1.key }.map { key, entry in
                let owner = nodes[entry.node].flatMap { connections[$0.owner] }
                return BrokerStatus.Service(
                    name: key.name, connection: owner?.id.raw ?? 0, pid: owner?.identity.pid ?? 0, uid: entry.uid,
                    container: key.container, exported: entry.exported)
            },
            channelEnds: channels.ends.values.sorted { $0.name < $1.name }.map { e in
                BrokerStatus.RegistryEntry(
                    name: e.name, connection: e.party.raw, pid: connections[e.party]?.identity.pid ?? 0, peerPID: e.peer.pid,
                    expiresInMillis: e.deadline > now ? (e.deadline - now) / 1_000_000 : 0)
            },
            channelsCreated: channels.created, channelEndsClaimed: channels.claimed, channelEndsExpired: channels.expired,
            containers: containerInfos, foregroundContainer: foreground, bufferRefusals: bufferRefusals,
            objectsReleased: objectsReleased,
            proxies: exportedProxies.map { key, proxy in
                let entry = registry.services.first { $0.key.container == 0 && $0.value.node == key.node }
                let name: String = entry?.key.name ?? "?"
                return BrokerStatus.LoadedProxy(container: key.container, service: name, holders: proxyHolders[proxy] ?? 0)
            }.sorted { ($0.container, $0.service) < ($1.container, $1.service) })
    }
}
