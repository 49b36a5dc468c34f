/// Each child container's own proxy nodes of exported root services (WIRE.md §7.7): a proxy has
/// the same owner and cookie as the service's node, so calls reach the same object, but an identity
/// of its own, so containers never share a reference to a system service. A proxy loads on a
/// container's first lookup and unloads when the last handle to it goes, when its container leaves
/// the foreground or stops, or with the object; the owner hears each (`BrokerNotice`).
///
/// This is the bookkeeping; the nodes themselves are in `ObjectTable`, and the notices are
/// `BrokerCore`'s (ExportedServices.swift).
struct ExportedProxies {
    struct Key: Hashable {
        let container: UInt32
        /// The exported service's own node.
        let node: NodeID
    }

    private(set) var byKey: [Key: NodeID] = [:]
    private var keys: [NodeID: Key] = [:]
    /// How many handles hold each proxy: its last one going unloads it.
    private(set) var holders: [NodeID: UInt32] = [:]
    /// Proxies loaded while handling the current frame, whose owners are told at its end.
    private(set) var loaded: [(proxy: NodeID, container: UInt32)] = []

    var isEmpty: Bool { byKey.isEmpty }

    subscript(key: Key) -> NodeID? { byKey[key] }

    /// Records a proxy just made, to be announced at the end of the frame.
    mutating func add(_ proxy: NodeID, for key: Key) {
        byKey[key] = proxy
        keys[proxy] = key
        loaded.append((proxy, key.container))
    }

    /// A new handle to `node`: counted if it is a proxy.
    mutating func handleAdded(to node: NodeID) {
        if keys[node] != nil { holders[node, default: 0] += 1 }
    }

    /// Whether a handle to `node` going unloads it: it is a proxy and that was its last handle.
    /// Otherwise counts the handle gone.
    mutating func handleGoneUnloads(_ node: NodeID) -> Bool {
        guard let count = holders[node] else { return false }
        if count <= 1 { return true }
        holders[node] = count - 1
        return false
    }

    /// Forgets `proxy`: its key and the handles that held it, nil if it is not one.
    mutating func remove(_ proxy: NodeID) -> (key: Key, holders: UInt32)? {
        guard let key = keys.removeValue(forKey: proxy) else { return nil }
        byKey.removeValue(forKey: key)
        return (key, holders.removeValue(forKey: proxy) ?? 0)
    }

    /// The proxies of the services `isGone` names (their objects died or were released).
    func proxies(of isGone: (NodeID) -> Bool) -> [NodeID] {
        byKey.compactMap { key, proxy in isGone(key.node) ? proxy : nil }
    }

    /// The proxies loaded in `container`.
    func proxies(in container: UInt32) -> [NodeID] {
        byKey.compactMap { key, proxy in key.container == container ? proxy : nil }
    }

    /// Whether `proxy` was loaded during this frame (so never announced); forgets that it was.
    mutating func takeUnannounced(_ proxy: NodeID) -> Bool {
        let unannounced = loaded.contains { $0.proxy == proxy }
        loaded.removeAll { $0.proxy == proxy }
        return unannounced
    }

    /// The proxies to announce at the end of a frame.
    mutating func takeLoaded() -> [(proxy: NodeID, container: UInt32)] {
        defer { loaded.removeAll() }
        return loaded
    }
}
