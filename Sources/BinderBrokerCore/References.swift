import BinderWire

/// Reference counting (WIRE.md §4.4), as Binder's driver does it with strong refs.
///
/// - A process's handle counts the references the broker delivered to it (each object entry that
///   became this handle, in any frame). The process gives them back with RELEASE when it drops the
///   handle; at zero the handle is gone for good (handles are never reused, so a later use of the
///   number is `BAD_VALUE`).
/// - An object is held by every process with a handle to it, and by the service manager's own
///   tables: a registered service, a service listener, a death recipient, a channel listener.
///   When the last holder lets go, the broker forgets the object's nodes and tells the owner with
///   RELEASED, which carries how many references to it the broker read from the owner since the
///   last notice. The owner drops the object only if it has sent no more than that (a reference
///   still on its way keeps it), so a release never races a new reference.
/// - An owner's own object that comes back to it in a frame (`local(cookie)`) is held by that
///   delivery in the same way, until the owner gives it back with RELEASE (code 1): a reference on
///   its way to the owner keeps the object as much as one on its way to anyone else.
/// - A process's references all go when it disconnects.
extension BrokerCore {
    /// The entry that names `node` for `receiver` (ObjectTable.reference), delivering the reference.
    func reference(to node: NodeID?, for receiver: Connection) -> ObjectRef {
        objects.reference(to: node, for: receiver, connections: connections)
    }

    /// One more holder of `node`'s object.
    func retain(_ node: NodeID) { objects.retain(node, connections: connections) }

    /// `count` holders fewer; the last one's going forgets the object and tells its owner.
    func release<O: BrokerOutbox>(_ node: NodeID, count: UInt32 = 1, out: inout O) {
        guard count > 0, let n = objects[node], let owner = connections[n.owner],
              case .unheld(let seen) = owner.owned.letGo(n.cookie, count: count)
        else {
            return  // still held, a dead object, or one its owner already heard about
        }
        forgetObject(n.cookie, of: owner, out: &out)
        counters.objectsReleased += 1
        scratch.removeAll()
        out.send(to: owner.id, header: FrameHeader(command: .released, transactionID: seen, target: n.cookie), parcel: scratch)
    }

    /// Removes an unheld object's node and its containers' proxy nodes. Death links on them are
    /// gone already: a watcher's links go with its handle.
    private func forgetObject<O: BrokerOutbox>(_ cookie: UInt64, of owner: Connection, out: inout O) {
        guard let real = owner.owned.nodes.removeValue(forKey: cookie) else { return }
        objects.remove(real)
        let gone = [real] + objects.removeProxies { $0 == real }
        for node in gone {
            for link in deathLinks.byTarget.removeValue(forKey: node) ?? [] { release(link.recipient, out: &out) }
        }
    }

    /// RELEASE: `conn` gives back `transactionID` references to handle `target` (code 0) or to its
    /// own object `target` (code 1).
    func releaseReferences<O: BrokerOutbox>(by conn: Connection, header: FrameHeader, out: inout O) {
        switch header.code {
        case 0: releaseHandle(by: conn, header: header, out: &out)
        case 1: releaseOwn(by: conn, header: header, out: &out)
        default:
            malformed(conn, "RELEASE with code \(header.code): 0 releases a handle, 1 an object of its own", out: &out)
        }
    }

    private func releaseOwn<O: BrokerOutbox>(by conn: Connection, header: FrameHeader, out: inout O) {
        let count = header.transactionID
        let held = conn.owned.delivered(header.target)
        guard count > 0, count <= held, let node = conn.owned.nodes[header.target] else {
            return malformed(conn, "releases \(count) references to its own object \(header.target), which holds \(held)", out: &out)
        }
        conn.owned.givenBack(header.target, count: count)
        if count == held { release(node, out: &out) }
    }

    private func releaseHandle<O: BrokerOutbox>(by conn: Connection, header: FrameHeader, out: inout O) {
        let count = header.transactionID
        let node: NodeID
        switch conn.handles.giveBack(header.target, count: count) {
        case .refused(let held):
            return malformed(conn, "releases \(count) references to handle \(header.target), which holds \(held)", out: &out)
        case .kept: return
        case .gone(let n): node = n
        }
        // As in Binder, a reference's death notifications go with it.
        if let links = deathLinks.byTarget[node], links.contains(where: { $0.watcher == conn.id }) {
            let kept = links.filter { $0.watcher != conn.id }
            deathLinks.byTarget[node] = kept.isEmpty ? nil : kept
            for link in links where link.watcher == conn.id { release(link.recipient, out: &out) }
        }
        handleGone(node, out: &out)
    }

    /// A connection's handle to `node` is gone: the object loses a holder, and a container proxy
    /// that no handle holds any more is unloaded.
    func handleGone<O: BrokerOutbox>(_ node: NodeID, out: inout O) {
        if objects.proxies.handleGoneUnloads(node) { return unloadProxy(node, out: &out) }  // gives back its holders itself
        release(node, out: &out)
    }
}
