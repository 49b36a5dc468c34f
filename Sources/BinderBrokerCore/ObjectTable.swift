import BinderWire

/// A node's identity: never reused within one broker run.
struct NodeID: Hashable { let raw: UInt64 }

/// An object as the broker routes to it: the connection that serves it and its cookie there.
struct Node {
    let owner: ConnectionID
    let cookie: UInt64
    /// The owner opted in to transactions that carry fds (`ObjectRef.acceptsFDs`).
    let acceptsFDs: Bool
}

/// Every object the broker knows, and the translation of object references from one process's
/// view into another's, as Binder's driver does it: a process names its own objects by cookie and
/// other processes' objects by handles valid only in that process; the broker maps either to a node
/// (owner connection + the owner's cookie) and back.
///
/// The per-process halves are in each `Connection` (`HandleTable`, `OwnedObjects`), so a frame
/// reaches them through the connections it already holds. Who owns a node is a connection ID, so
/// the operations that touch an owner's counts take the connection table. What follows from an
/// object losing its last holder (RELEASED, death links, proxies) is `BrokerCore`'s (References.swift).
struct ObjectTable {
    private(set) var nodes: [NodeID: Node] = [:]
    private var nextNode: UInt64 = 1
    /// Containers' proxy nodes of exported root services; their nodes are in `nodes` too.
    var proxies = ExportedProxies()

    @inline(__always)
    subscript(node: NodeID) -> Node? { nodes[node] }

    var count: Int { nodes.count }

    private mutating func add(_ node: Node) -> NodeID {
        let id = NodeID(raw: nextNode)
        nextNode += 1
        nodes[id] = node
        return id
    }

    /// Forgets a node (its object, or its proxy, is gone).
    mutating func remove(_ node: NodeID) { nodes.removeValue(forKey: node) }

    // MARK: Naming objects

    /// The node for an object reference written by `writer`, creating nodes for its new local
    /// objects. nil when `writer` names a handle it does not hold.
    mutating func node(for ref: ObjectRef, writtenBy writer: Connection) -> NodeID?? {
        switch ref.kind {
        case .null:
            return .some(nil)
        case .local:
            if let n = writer.owned.nodes[ref.id] { return n }
            let n = add(Node(owner: writer.id, cookie: ref.id, acceptsFDs: ref.flags & ObjectRef.acceptsFDs != 0))
            writer.owned.nodes[ref.id] = n
            return n
        case .handle:
            guard ref.id <= UInt64(UInt32.max), let n = writer.handles[UInt32(ref.id)]?.node else { return nil }
            return n
        }
    }

    /// The node an existing reference names, never creating one. nil for null and unknown references.
    func existingNode(for ref: ObjectRef, writtenBy writer: Connection) -> NodeID? {
        switch ref.kind {
        case .null: return nil
        case .local: return writer.owned.nodes[ref.id]
        case .handle: return ref.id <= UInt64(UInt32.max) ? writer.handles[UInt32(ref.id)]?.node : nil
        }
    }

    /// The entry that names `node` for `receiver`, counting the reference delivered: its own
    /// cookie if it owns the object, else its handle (a new handle holds the object).
    mutating func reference(to node: NodeID?, for receiver: Connection, connections: [ConnectionID: Connection]) -> ObjectRef {
        guard let node else { return .null }
        if let n = nodes[node], n.owner == receiver.id {
            receiver.owned.deliveredToOwner(n.cookie)
            return .local(n.cookie)
        }
        let (handle, isNew) = receiver.handles.deliver(node)
        if isNew { handleMade(to: node, connections: connections) }
        return .handle(handle)
    }

    /// A process got a new handle to `node`: one more holder of the object.
    private mutating func handleMade(to node: NodeID, connections: [ConnectionID: Connection]) {
        retain(node, connections: connections)
        proxies.handleAdded(to: node)
    }

    /// `reference(to:for:connections:)` at the handle a resumed session held before (WIRE.md
    /// §2.1); nil when that handle cannot be given (HandleTable.deliver(_:at:)).
    mutating func reference(to node: NodeID, for receiver: Connection, at handle: UInt32, connections: [ConnectionID: Connection]) -> ObjectRef? {
        if let n = nodes[node], n.owner == receiver.id {
            receiver.owned.deliveredToOwner(n.cookie)
            return .local(n.cookie)
        }
        guard let (h, isNew) = receiver.handles.deliver(node, at: handle) else { return nil }
        if isNew { handleMade(to: node, connections: connections) }
        return .handle(h)
    }

    /// One more holder of `node`'s object.
    func retain(_ node: NodeID, connections: [ConnectionID: Connection]) {
        guard let n = nodes[node], let owner = connections[n.owner] else { return }
        owner.owned.hold(n.cookie)
    }

    /// Rewrites every object entry of a frame from `sender`'s view into `receiver`'s view.
    /// Returns `BAD_VALUE` if the sender names a handle it does not hold, `BAD_TYPE` for an unknown
    /// kind. Every entry is checked before any is translated, so a refused frame delivers no
    /// reference and creates no node.
    mutating func translate(
        from sender: Connection, to receiver: Connection, header: FrameHeader, frame: UnsafeMutableRawBufferPointer,
        connections: [ConnectionID: Connection]
    ) -> StatusCode? {
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
            var translated = reference(to: node, for: receiver, connections: connections)
            translated.flags = ref.flags
            translated.store(to: entry(i))
        }
        return nil
    }

    /// Counts the references to its own objects that `writer` wrote into a frame, whatever then
    /// becomes of the frame (the owner counts them as it sends).
    func countOwnReferences(from writer: Connection, header: FrameHeader, frame: UnsafeMutableRawBufferPointer) {
        let data = UnsafeRawPointer(frame.baseAddress!) + FrameHeader.size
        let offsets = FrameHeader.size + Int(header.dataLength)
        for i in 0..<Int(header.objectCount) {
            let o = Int(UInt32(littleEndian: frame.loadUnaligned(fromByteOffset: offsets + 4 * i, as: UInt32.self)))
            guard let ref = try? ObjectRef.load(from: data + o), ref.kind == .local else { continue }
            writer.owned.seen(ref.id)
        }
    }

    // MARK: Proxies

    /// Container `container`'s own proxy node for the exported root object `node` (made on first
    /// use, and announced at the end of the frame). `node` itself if it is dead.
    mutating func exportedProxy(of node: NodeID, for container: UInt32) -> NodeID {
        let key = ExportedProxies.Key(container: container, node: node)
        if let proxy = proxies[key] { return proxy }
        guard let real = nodes[node] else { return node }
        let proxy = add(real)
        proxies.add(proxy, for: key)
        return proxy
    }

    /// Removes the proxy nodes of the services `isGone` names; returns them.
    mutating func removeProxies(of isGone: (NodeID) -> Bool) -> [NodeID] {
        let gone = proxies.proxies(of: isGone)
        for proxy in gone {
            _ = proxies.remove(proxy)
            nodes.removeValue(forKey: proxy)
        }
        return gone
    }
}
