import BinderWire

/// The named-fd registry: channel ends the broker made and filed under a name until the party they
/// were made for claims them (WIRE.md §7.4).
///
/// Names follow `channel-<serial>-<role>`: `serial` counts channels from 1 within one broker run,
/// `role` is `requester` or `target`. Names are not secrets: only the party an end was made for (its
/// connection) may claim it; anyone else gets `PERMISSION_DENIED`.
struct ChannelRegistry {
    enum Role: String { case requester, target }

    struct End {
        let name: String
        /// The only connection that may claim this end.
        let party: ConnectionID
        let fd: Int32
        /// Who is at the other end.
        let peer: PeerIdentity
        let peerConnection: ConnectionID
        /// The target object's cookie in its owner's process.
        let cookie: UInt64
        let deadline: UInt64
    }

    /// A connection's `IChannelListener`.
    struct Listener {
        let node: NodeID
        /// Registered with `registerChannelReceiver`: the broker claims this connection's ends on
        /// its behalf and delivers them (`onChannelOpened`) instead of naming them.
        let receivesEnds: Bool
    }

    /// Unclaimed ends by name, each with its deadline armed in `expiry`.
    private(set) var ends: [String: End] = [:]
    private var expiry = DeadlineQueue<String>()
    var listeners: [ConnectionID: Listener] = [:]
    var nextSerial: UInt64 = 1
    var created: UInt64 = 0
    var claimed: UInt64 = 0
    var expired: UInt64 = 0

    var nextDeadline: UInt64? { expiry.earliest }

    static func name(serial: UInt64, role: Role) -> String { "channel-\(serial)-\(role.rawValue)" }

    /// Files an end under its name until its party claims it or its deadline passes.
    mutating func file(_ end: End) {
        ends[end.name] = end
        expiry.schedule(end.name, at: end.deadline)
    }

    /// Removes the end filed under `name` (it is claimed, or its party went away).
    mutating func take(_ name: String) -> End? {
        guard let end = ends.removeValue(forKey: name) else { return nil }
        expiry.cancel(name)
        return end
    }

    /// Removes and returns the ends whose deadline has passed.
    mutating func takeExpired(now: UInt64) -> [End] {
        let gone = expiry.popExpired(now: now).compactMap { ends.removeValue(forKey: $0) }
        expired += UInt64(gone.count)
        return gone
    }

    /// Removes and returns the ends made for a closed connection; forgets its listener.
    mutating func connectionClosed(_ id: ConnectionID) -> [End] {
        listeners.removeValue(forKey: id)
        return ends.values.filter { $0.party == id }.compactMap { take($0.name) }
    }
}

extension BrokerCore {
    /// `registerChannelListener(IChannelListener)` and, `receivingEnds`, `registerChannelReceiver`:
    /// the listener must be the caller's own object; a receiver must accept fds on a connection
    /// that allows them.
    func registerChannelListener<O: BrokerOutbox>(
        from conn: Connection, request: inout Parcel, txid: UInt64, receivingEnds: Bool = false, out: inout O
    ) throws(StatusCode) {
        let ref = try request.readObject()
        guard ref.kind == .local, let found = objects.node(for: ref, writtenBy: conn), let node = found else {
            return fail(false, conn, txid, ServiceError(.illegalArgument, "the channel listener must be an object of the calling process"), &out)
        }
        if receivingEnds, objects[node]?.acceptsFDs != true || conn.maxFDs == 0 {
            return fail(false, conn, txid, ServiceError(.illegalArgument, "a channel receiver must accept fds, on a connection that allows them"), &out)
        }
        retain(node)
        let listener = ChannelRegistry.Listener(node: node, receivesEnds: receivingEnds)
        if let replaced = channels.listeners.updateValue(listener, forKey: conn.id) { release(replaced.node, out: &out) }
        replyOK(to: conn, transactionID: txid, out: &out) { _ in }
    }

    /// `requestChannel(IBinder target)`: makes a socket pair, files both ends, replies with the
    /// requester's end name and tells the target's listener the name of its end (a receiver gets
    /// the end itself: it is claimed on the target's behalf).
    /// `openChannel(IBinder target)` (`claimingOwnEnd`): the same, and the caller's end is claimed
    /// at once, its fd and ChannelEnd in the reply.
    func requestChannel<O: BrokerOutbox>(
        from conn: Connection, request: inout Parcel, txid: UInt64, now: UInt64, claimingOwnEnd: Bool = false, out: inout O
    ) throws(StatusCode) {
        let ref = try request.readObject()
        guard ref.kind == .handle, let found = objects.node(for: ref, writtenBy: conn), let nodeID = found else {
            return fail(false, conn, txid, ServiceError(.illegalArgument, "the channel target must be a handle to another process's object"), &out)
        }
        guard let node = objects[nodeID], let owner = connections[node.owner] else { throw .deadObject }
        guard let registered = channels.listeners[owner.id], let listener = objects[registered.node] else {
            return fail(false, conn, txid, ServiceError(.unsupportedOperation, "the target process (pid \(owner.identity.pid)) does not accept channels"), &out)
        }
        guard let (requesterFD, targetFD) = out.makeChannelPair() else {
            return fail(false, conn, txid, ServiceError(.illegalState, "the broker could not make a socket pair"), &out)
        }
        let serial = channels.nextSerial
        channels.nextSerial += 1
        channels.created += 1
        let deadline = now + config.channelTimeToLiveNanos
        let requesterEnd = ChannelRegistry.End(
            name: ChannelRegistry.name(serial: serial, role: .requester), party: conn.id, fd: requesterFD,
            peer: owner.identity, peerConnection: owner.id, cookie: node.cookie, deadline: deadline)
        let targetEnd = ChannelRegistry.End(
            name: ChannelRegistry.name(serial: serial, role: .target), party: owner.id, fd: targetFD,
            peer: conn.identity, peerConnection: conn.id, cookie: node.cookie, deadline: deadline)
        if registered.receivesEnds {
            channels.claimed += 1
        } else {
            channels.file(targetEnd)
        }
        if claimingOwnEnd {
            channels.claimed += 1
            replyClaim(requesterEnd, to: conn, txid: txid, out: &out)
        } else {
            channels.file(requesterEnd)
            replyOK(to: conn, transactionID: txid, out: &out) { p in p.write(requesterEnd.name) }
        }
        scratch.removeAll()
        scratch.write(targetEnd.name)
        if registered.receivesEnds {
            // IChannelListener.onChannelOpened(endName, end, info), one-way.
            scratch.write(fileDescriptorOwner: RawFD(targetFD))
            endInfo(targetEnd, for: owner).write(to: &scratch)
            callBack(listener, owner: owner, code: IChannelListener.Code.onChannelOpened.rawValue, out: &out)
        } else {
            // IChannelListener.onChannelRequested(endName, pid, uid, container, cookie), one-way.
            scratch.write(conn.identity.pid(seenFrom: owner.identity.container))
            scratch.write(conn.identity.uid)
            scratch.write(conn.identity.container)
            scratch.write(node.cookie)
            callBack(listener, owner: owner, code: IChannelListener.Code.onChannelRequested.rawValue, out: &out)
        }
    }

    /// `claimChannel(String name)`: hands the end's fd to the party it was made for.
    func claimChannel<O: BrokerOutbox>(from conn: Connection, request: inout Parcel, txid: UInt64, out: inout O) throws(StatusCode) {
        let name = try request.readNonNullString()
        guard let end = channels.ends[name] else {
            return fail(false, conn, txid, ServiceError(.illegalState, "no unclaimed channel end '\(name)': it was claimed, has expired, or never existed"), &out)
        }
        guard end.party == conn.id else { throw .permissionDenied }
        _ = channels.take(name)
        channels.claimed += 1
        replyClaim(end, to: conn, txid: txid, out: &out)
    }

    /// The reply that hands `end` to its party: the fd, then who is at the other end.
    private func replyClaim<O: BrokerOutbox>(_ end: ChannelRegistry.End, to conn: Connection, txid: UInt64, out: inout O) {
        let info = endInfo(end, for: conn)
        replyOK(to: conn, transactionID: txid, out: &out) { p in
            p.write(fileDescriptorOwner: RawFD(end.fd))
            info.write(to: &p)
        }
    }

    /// Who is at the other end of `end`, as its party `conn` sees it.
    private func endInfo(_ end: ChannelRegistry.End, for conn: Connection) -> ChannelEnd {
        let peer = connections[end.peerConnection]
        return ChannelEnd(
            peerPID: end.peer.pid(seenFrom: conn.identity.container), peerUID: end.peer.uid, peerContainer: end.peer.container, cookie: end.cookie,
            peerMaxFrameSize: peer?.maxFrameSize ?? Limits.minimumFrameSize, peerMaxFDs: peer?.maxFDs ?? 0)
    }

    /// Closes channel ends that expired unclaimed.
    func expireChannels<O: BrokerOutbox>(now: UInt64, out: inout O) {
        for end in channels.takeExpired(now: now) { out.close(fd: end.fd) }
    }
}

/// An fd the core hands to the event loop inside a built frame. The core never closes fds itself:
/// the event loop owns the fds of every frame the broker builds (see `BrokerOutbox.send`).
final class RawFD: FileDescriptorOwner {
    let fd: Int32
    init(_ fd: Int32) { self.fd = fd }
}
