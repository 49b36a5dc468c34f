import BinderWire

/// Exported root services as containers see them (WIRE.md §7.7): the node a child gets for one,
/// and the proxies' lifecycle as their owners hear it (`BrokerNotice.proxyLoaded`/`proxyUnloaded`).
/// The proxies' bookkeeping is `ExportedProxies`, their nodes are in `ObjectTable`.
extension BrokerCore {
    /// The node a process in `scope` gets for a registration a lookup found: the service's own, or
    /// (an exported root service seen from a child) the child's proxy of it.
    func node(for registration: ServiceManager.Registration, seenFrom scope: UInt32) -> NodeID {
        node(registration.node, registeredIn: registration.container, exported: registration.exported, seenFrom: scope)
    }

    /// The node a process in `scope` gets for a service registered in `registeredIn`.
    func node(_ node: NodeID, registeredIn: UInt32, exported: Bool, seenFrom scope: UInt32) -> NodeID {
        guard exported, registeredIn == 0, scope != 0 else { return node }
        return objects.exportedProxy(of: node, for: scope)
    }

    /// Tells the owners of the proxies loaded during this frame (`BrokerNotice.proxyLoaded`).
    func announceLoadedProxies<O: BrokerOutbox>(out: inout O) {
        for (proxy, container) in objects.proxies.takeLoaded() {
            guard let node = objects[proxy] else { continue }
            tellOwner(of: node, BrokerNotice.proxyLoaded, container: container, out: &out)
        }
    }

    private func tellOwner<O: BrokerOutbox>(of node: Node, _ notice: BrokerNotice, container: UInt32, out: inout O) {
        guard let owner = connections[node.owner] else { return }
        scratch.removeAll()
        scratch.write(container)
        callBack(node, owner: owner, code: notice.rawValue, out: &out)
    }

    /// Unloads a container's proxy of an exported service: its node dies (handles to it then get
    /// `DEAD_OBJECT`, death links on it fire), the holds its handles had on the service go, and the
    /// service's owner hears `proxyUnloaded`.
    func unloadProxy<O: BrokerOutbox>(_ proxy: NodeID, out: inout O) {
        guard let node = objects[proxy], let (key, holders) = objects.proxies.remove(proxy) else { return }
        release(proxy, count: holders, out: &out)
        objects.remove(proxy)
        notifyDeaths(of: [proxy], out: &out)
        // A proxy loaded and unloaded within one frame was never announced: nothing to take back.
        if !objects.proxies.takeUnannounced(proxy) {
            tellOwner(of: node, BrokerNotice.proxyUnloaded, container: key.container, out: &out)
        }
    }

    /// Unloads every proxy loaded in `container` (it left the foreground, or stopped).
    func unloadProxies<O: BrokerOutbox>(in container: UInt32, out: inout O) {
        for proxy in objects.proxies.proxies(in: container) { unloadProxy(proxy, out: &out) }
    }
}
