import BinderWire

/// What `binder status` counts over a broker run.
struct BrokerCounters {
    var transactions: UInt64 = 0
    var oneWay: UInt64 = 0
    var replies: UInt64 = 0
    var deadObjectReplies: UInt64 = 0
    var malformedDisconnects: UInt64 = 0
    var bufferRefusals: UInt64 = 0
    var objectsReleased: UInt64 = 0
    var expiredCalls: UInt64 = 0
}

extension BrokerCore {
    /// A snapshot of every piece of the core, for `getStatus` (`binder status`).
    public func status(now: UInt64) -> BrokerStatus {
        BrokerStatus(
            brokerPID: config.brokerPID, uptimeMillis: (now - startNanos) / 1_000_000, transactions: counters.transactions,
            oneWay: counters.oneWay, replies: counters.replies, deadObjectReplies: counters.deadObjectReplies,
            malformedDisconnects: counters.malformedDisconnects, pendingTransactions: UInt32(router.count),
            connections: connections.values.sorted { $0.id.raw < $1.id.raw }.map { c in
                var s = BrokerStatus.Connection(
                    id: c.id.raw, pid: c.identity.pid, uid: c.identity.uid, gid: c.identity.gid, container: c.identity.container,
                    handles: UInt32(c.handles.count), objects: UInt32(c.owned.nodes.count),
                    transactionsSent: c.transactionsSent, transactionsReceived: c.transactionsReceived)
                s.threads = c.flow.threads
                s.maxThreads = c.flow.maxThreads
                s.busy = c.flow.busy
                s.bufferUsed = c.flow.bufferUsed
                s.oneWayBufferUsed = c.flow.oneWayBufferUsed
                return s
            },
            services: serviceManager.registry.services.sorted { $0.key < $1.key }.map { key, entry in
                let owner = objects[entry.node].flatMap { connections[$0.owner] }
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
            containers: containerInfos, foregroundContainer: containers.foreground, bufferRefusals: counters.bufferRefusals,
            objectsReleased: counters.objectsReleased,
            proxies: objects.proxies.byKey.map { key, proxy in
                let entry = serviceManager.registry.services.first { $0.key.container == 0 && $0.value.node == key.node }
                let name: String = entry?.key.name ?? "?"
                return BrokerStatus.LoadedProxy(container: key.container, service: name, holders: objects.proxies.holders[proxy] ?? 0)
            }.sorted { ($0.container, $0.service) < ($1.container, $1.service) },
            expiredCalls: counters.expiredCalls)
    }
}
