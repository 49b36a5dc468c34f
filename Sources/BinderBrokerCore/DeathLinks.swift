import BinderWire

/// Death notifications (WIRE.md §7.6): who asked to hear when which object dies. A link is
/// (watcher connection, the watcher's own recipient object, the watcher's cookie) on a target node;
/// when the target's owner closes, the broker calls `IDeathRecipient.binderDied(cookie)` one-way on
/// the recipient, once, and forgets the link.
struct DeathLinks {
    struct Link: Equatable {
        let watcher: ConnectionID
        let recipient: NodeID
        let cookie: UInt64
    }

    var byTarget: [NodeID: [Link]] = [:]
    /// Notifications sent, for tests and status.
    var delivered: UInt64 = 0

    /// Links on every target, summed.
    var count: Int { byTarget.values.reduce(0) { $0 + $1.count } }

    /// Drops every link a closing connection watched.
    mutating func watcherClosed(_ id: ConnectionID) {
        for (target, links) in byTarget where links.contains(where: { $0.watcher == id }) {
            let kept = links.filter { $0.watcher != id }
            byTarget[target] = kept.isEmpty ? nil : kept
        }
    }
}

extension BrokerCore {
    /// `linkToDeath(IBinder target, IDeathRecipient recipient, long cookie)`.
    func linkToDeath<O: BrokerOutbox>(from conn: Connection, request: inout Parcel, txid: UInt64, oneWay: Bool, out: inout O) throws(StatusCode) {
        guard let link = try readDeathLink(from: conn, request: &request, txid: txid, oneWay: oneWay, out: &out) else { return }
        guard objects[link.target] != nil else { throw .deadObject }
        deathLinks.byTarget[link.target, default: []].append(link.link)
        retain(link.link.recipient)  // the link holds the recipient (References.swift)
        if !oneWay { replyOK(to: conn, transactionID: txid, out: &out) { _ in } }
    }

    /// `unlinkToDeath(IBinder target, IDeathRecipient recipient, long cookie)`.
    func unlinkToDeath<O: BrokerOutbox>(from conn: Connection, request: inout Parcel, txid: UInt64, oneWay: Bool, out: inout O) throws(StatusCode) {
        guard let link = try readDeathLink(from: conn, request: &request, txid: txid, oneWay: oneWay, out: &out) else { return }
        guard objects[link.target] != nil else { throw .deadObject }  // it died: the notification went out
        guard let index = deathLinks.byTarget[link.target]?.firstIndex(of: link.link) else {
            return fail(oneWay, conn, txid, ServiceError(.illegalState, "no such death link"), &out)
        }
        deathLinks.byTarget[link.target]!.remove(at: index)
        if deathLinks.byTarget[link.target]!.isEmpty { deathLinks.byTarget.removeValue(forKey: link.target) }
        if !oneWay { replyOK(to: conn, transactionID: txid, out: &out) { _ in } }
        release(link.link.recipient, out: &out)
    }

    /// Reads (target, recipient, cookie); answers ILLEGAL_ARGUMENT itself and returns nil when the
    /// target is not a handle or the recipient is not the caller's own object.
    private func readDeathLink<O: BrokerOutbox>(
        from conn: Connection, request: inout Parcel, txid: UInt64, oneWay: Bool, out: inout O
    ) throws(StatusCode) -> (target: NodeID, link: DeathLinks.Link)? {
        let targetRef = try request.readObject()
        let recipientRef = try request.readObject()
        let cookie: UInt64 = try request.read()
        guard targetRef.kind == .handle, let found = objects.node(for: targetRef, writtenBy: conn), let target = found else {
            if targetRef.kind == .handle && targetRef.id <= UInt64(UInt32.max) { throw .badValue }  // a handle it does not hold
            fail(oneWay, conn, txid, ServiceError(.illegalArgument, "the death-link target must be a handle to another process's object"), &out)
            return nil
        }
        guard recipientRef.kind == .local, let foundRecipient = objects.node(for: recipientRef, writtenBy: conn), let recipient = foundRecipient else {
            fail(oneWay, conn, txid, ServiceError(.illegalArgument, "the death recipient must be an object of the calling process"), &out)
            return nil
        }
        return (target, DeathLinks.Link(watcher: conn.id, recipient: recipient, cookie: cookie))
    }

    /// Tells every watcher of the dead nodes, once, and forgets their links.
    func notifyDeaths<O: BrokerOutbox>(of deadNodes: Set<NodeID>, out: inout O) {
        for target in deadNodes {
            guard let links = deathLinks.byTarget.removeValue(forKey: target) else { continue }
            for link in links {
                guard let watcher = connections[link.watcher], let recipient = objects[link.recipient] else { continue }
                scratch.removeAll()
                scratch.write(link.cookie)
                deathLinks.delivered += 1
                callBack(recipient, owner: watcher, code: IDeathRecipient.Code.binderDied.rawValue, out: &out)
                release(link.recipient, out: &out)
            }
        }
    }
}
