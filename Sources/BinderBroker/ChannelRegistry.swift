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

    var ends: [String: End] = [:]
    /// Per connection: the node of its `IChannelListener`.
    var listeners: [ConnectionID: BrokerCore.NodeID] = [:]
    var nextSerial: UInt64 = 1
    var created: UInt64 = 0
    var claimed: UInt64 = 0
    var expired: UInt64 = 0

    var nextDeadline: UInt64? { ends.isEmpty ? nil : ends.values.lazy.map(\.deadline).min() }

    static func name(serial: UInt64, role: Role) -> String { "channel-\(serial)-\(role.rawValue)" }

    /// Removes and returns the ends whose deadline has passed.
    mutating func takeExpired(now: UInt64) -> [End] {
        let gone = ends.values.filter { $0.deadline <= now }
        for e in gone { ends.removeValue(forKey: e.name) }
        expired += UInt64(gone.count)
        return gone
    }

    /// Removes and returns the ends made for a closed connection; forgets its listener.
    mutating func connectionClosed(_ id: ConnectionID) -> [End] {
        listeners.removeValue(forKey: id)
        let gone = ends.values.filter { $0.party == id }
        for e in gone { ends.removeValue(forKey: e.name) }
        return gone
    }
}

extension BrokerCore {
    /// `registerChannelListener(IChannelListener)`: the listener must be the caller's own object.
    func registerChannelListener<O: BrokerOutbox>(from conn: Connection, request: inout Parcel, txid: UInt64, out: inout O) throws(StatusCode) {
        let ref = try request.readObject()
        guard ref.kind == .local, let found = node(for: ref, writtenBy: conn), let node = found else {
            return fail(false, conn, txid, ServiceError(.illegalArgument, "the channel listener must be an object of the calling process"), &out)
        }
        retain(node)
        if let replaced = channels.listeners.updateValue(node, forKey: conn.id) { release(replaced, out: &out) }
        replyOK(to: conn, transactionID: txid, out: &out) { _ in }
    }

    /// `requestChannel(IBinder target)`: makes a socket pair, files both ends, replies with the
    /// requester's end name and tells the target's listener the name of its end.
    /// `openChannel(IBinder target)` (`claimingOwnEnd`): the same, and the caller's end is claimed
    /// at once, its fd and ChannelEnd in the reply.
    func requestChannel<O: BrokerOutbox>(
        from conn: Connection, request: inout Parcel, txid: UInt64, now: UInt64, claimingOwnEnd: Bool = false, out: inout O
    ) throws(StatusCode) {
        let ref = try request.readObject()
        guard ref.kind == .handle, let found = node(for: ref, writtenBy: conn), let nodeID = found else {
            return fail(false, conn, txid, ServiceError(.illegalArgument, "the channel target must be a handle to another process's object"), &out)
        }
        guard let node = nodes[nodeID], let owner = connections[node.owner] else { throw .deadObject }
        guard let listenerNode = channels.listeners[owner.id], let listener = nodes[listenerNode] else {
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
        channels.ends[targetEnd.name] = targetEnd
        if claimingOwnEnd {
            channels.claimed += 1
            replyClaim(requesterEnd, to: conn, txid: txid, out: &out)
        } else {
            channels.ends[requesterEnd.name] = requesterEnd
            replyOK(to: conn, transactionID: txid, out: &out) { p in p.write(requesterEnd.name) }
        }
        // IChannelListener.onChannelRequested(endName, pid, uid, container, cookie), one-way.
        scratch.removeAll()
        scratch.write(targetEnd.name)
        scratch.write(conn.identity.pid(seenFrom: owner.identity.container))
        scratch.write(conn.identity.uid)
        scratch.write(conn.identity.container)
        scratch.write(node.cookie)
        callBack(listener, owner: owner, code: ChannelListenerCode.onChannelRequested.rawValue, out: &out)
    }

    /// `claimChannel(String name)`: hands the end's fd to the party it was made for.
    func claimChannel<O: BrokerOutbox>(from conn: Connection, request: inout Parcel, txid: UInt64, out: inout O) throws(StatusCode) {
        let name = try request.readNonNullString()
        guard let end = channels.ends[name] else {
            return fail(false, conn, txid, ServiceError(.illegalState, "no unclaimed channel end '\(name)': it was claimed, has expired, or never existed"), &out)
        }
        guard end.party == conn.id else { throw .permissionDenied }
        channels.ends.removeValue(forKey: name)
        channels.claimed += 1
        replyClaim(end, to: conn, txid: txid, out: &out)
    }

    /// The reply that hands `end` to its party: the fd, then who is at the other end.
    private func replyClaim<O: BrokerOutbox>(_ end: ChannelRegistry.End, to conn: Connection, txid: UInt64, out: inout O) {
        let peer = connections[end.peerConnection]
        let info = ChannelEnd(
            peerPID: end.peer.pid(seenFrom: conn.identity.container), peerUID: end.peer.uid, peerContainer: end.peer.container, cookie: end.cookie,
            peerMaxFrameSize: peer?.maxFrameSize ?? Limits.minimumFrameSize, peerMaxFDs: peer?.maxFDs ?? 0)
        replyOK(to: conn, transactionID: txid, out: &out) { p in
            p.write(fileDescriptorOwner: RawFD(end.fd))
            info.write(to: &p)
        }
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
