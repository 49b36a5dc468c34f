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
    struct HandleRef {
        let node: NodeID
        /// References delivered and not yet given back.
        var references: UInt64
    }

    /// One of a connection's own objects, by cookie.
    struct ObjectRefs {
        /// Handles in other processes and service-manager entries that hold it.
        var holders: UInt32 = 0
        /// References to it read from the owner since the last RELEASED.
        var seen: UInt64 = 0
        /// References to it delivered back to the owner and not given back (one holder while > 0).
        var delivered: UInt64 = 0
    }

    /// A reference to one of `owner`'s own objects delivered to the owner.
    func deliverOwn(_ cookie: UInt64, to owner: Connection) {
        owner.objectRefs[cookie, default: ObjectRefs()].delivered += 1
        if owner.objectRefs[cookie]!.delivered == 1 { owner.objectRefs[cookie]!.holders += 1 }
    }

    /// The handle that names `node` in `receiver`, counting one more delivered reference.
    func deliverHandle(of node: NodeID, to receiver: Connection) -> UInt32 {
        if let h = receiver.handleOfNode[node] {
            receiver.handles[h]!.references += 1
            return h
        }
        let h = receiver.nextHandle
        receiver.nextHandle += 1
        receiver.handles[h] = HandleRef(node: node, references: 1)
        receiver.handleOfNode[node] = h
        retain(node)
        if proxyKeys[node] != nil { proxyHolders[node, default: 0] += 1 }
        return h
    }

    /// One more holder of `node`'s object.
    func retain(_ node: NodeID) {
        guard let n = nodes[node], let owner = connections[n.owner] else { return }
        owner.objectRefs[n.cookie, default: ObjectRefs()].holders += 1
    }

    /// `count` holders fewer; the last one's going forgets the object and tells its owner.
    func release<O: BrokerOutbox>(_ node: NodeID, count: UInt32 = 1, out: inout O) {
        guard count > 0, let n = nodes[node], let owner = connections[n.owner], let refs = owner.objectRefs[n.cookie], refs.holders > 0 else {
            return  // a dead object, or one its owner already heard about
        }
        if refs.holders > count {
            owner.objectRefs[n.cookie]!.holders -= count
            return
        }
        owner.objectRefs.removeValue(forKey: n.cookie)
        forgetObject(n.cookie, of: owner, out: &out)
        objectsReleased += 1
        scratch.removeAll()
        out.send(to: owner.id, header: FrameHeader(command: .released, transactionID: refs.seen, target: n.cookie), parcel: scratch)
    }

    /// Removes an unheld object's node and its containers' proxy nodes. Death links on them are
    /// gone already: a watcher's links go with its handle.
    private func forgetObject<O: BrokerOutbox>(_ cookie: UInt64, of owner: Connection, out: inout O) {
        guard let real = owner.nodesByCookie.removeValue(forKey: cookie) else { return }
        nodes.removeValue(forKey: real)
        var gone = [real]
        for (key, proxy) in exportedProxies where key.node == real {
            exportedProxies.removeValue(forKey: key)
            proxyKeys.removeValue(forKey: proxy)
            proxyHolders.removeValue(forKey: proxy)
            nodes.removeValue(forKey: proxy)
            gone.append(proxy)
        }
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
            malformedDisconnects += 1
            out.disconnect(conn.id, reason: "RELEASE with code \(header.code): 0 releases a handle, 1 an object of its own")
        }
    }

    private func releaseOwn<O: BrokerOutbox>(by conn: Connection, header: FrameHeader, out: inout O) {
        let count = header.transactionID
        let held = conn.objectRefs[header.target]?.delivered ?? 0
        guard count > 0, count <= held, let node = conn.nodesByCookie[header.target] else {
            malformedDisconnects += 1
            return out.disconnect(conn.id, reason: "releases \(count) references to its own object \(header.target), which holds \(held)")
        }
        conn.objectRefs[header.target]!.delivered -= count
        if count == held { release(node, out: &out) }
    }

    private func releaseHandle<O: BrokerOutbox>(by conn: Connection, header: FrameHeader, out: inout O) {
        let count = header.transactionID
        guard header.target <= UInt64(UInt32.max), let ref = conn.handles[UInt32(header.target)],
            count > 0, count <= ref.references
        else {
            let held = header.target <= UInt64(UInt32.max) ? conn.handles[UInt32(header.target)]?.references ?? 0 : 0
            malformedDisconnects += 1
            return out.disconnect(conn.id, reason: "releases \(count) references to handle \(header.target), which holds \(held)")
        }
        let h = UInt32(header.target)
        if count < ref.references {
            conn.handles[h]!.references -= count
            return
        }
        conn.handles.removeValue(forKey: h)
        conn.handleOfNode.removeValue(forKey: ref.node)
        // As in Binder, a reference's death notifications go with it.
        if let links = deathLinks.byTarget[ref.node], links.contains(where: { $0.watcher == conn.id }) {
            let kept = links.filter { $0.watcher != conn.id }
            deathLinks.byTarget[ref.node] = kept.isEmpty ? nil : kept
            for link in links where link.watcher == conn.id { release(link.recipient, out: &out) }
        }
        handleGone(ref.node, out: &out)
    }

    /// A connection's handle to `node` is gone: the object loses a holder, and a container proxy
    /// that no handle holds any more is unloaded.
    func handleGone<O: BrokerOutbox>(_ node: NodeID, out: inout O) {
        if let holders = proxyHolders[node] {
            if holders <= 1 { return unloadProxy(node, out: &out) }  // gives back its holders itself
            proxyHolders[node] = holders - 1
        }
        release(node, out: &out)
    }

    /// Counts the references to its own objects that `conn` wrote into a frame, whatever then
    /// becomes of the frame (the owner counts them as it sends).
    func countOwnReferences(from conn: Connection, header: FrameHeader, frame: UnsafeMutableRawBufferPointer) {
        let data = UnsafeRawPointer(frame.baseAddress!) + FrameHeader.size
        let offsets = FrameHeader.size + Int(header.dataLength)
        for i in 0..<Int(header.objectCount) {
            let o = Int(UInt32(littleEndian: frame.loadUnaligned(fromByteOffset: offsets + 4 * i, as: UInt32.self)))
            guard let ref = try? ObjectRef.load(from: data + o), ref.kind == .local else { continue }
            conn.objectRefs[ref.id, default: ObjectRefs()].seen += 1
        }
    }
}
