import BinderWire

/// Containers as the core sees them: their lifecycle as the event loop reports it, and the
/// service manager's container calls. The records are `ContainerDirectory`'s; who may manage them
/// is the access policy's.
extension BrokerCore {
    // MARK: Lifecycle (called by the event loop)

    /// Records a container found running at start-up (left by an earlier broker run).
    public func containerAdopted(id: UInt32, name: String, started: StartedContainer) {
        containers.add(ContainerRecord(id: id, name: name, started: started))
    }

    /// Container `id` has ended (its PID 1 exited, so every process in it is gone): its connections
    /// close (services go, death notifications are sent, channel ends expire), then its stoppers
    /// get their reply.
    public func containerExited<O: BrokerOutbox>(_ id: UInt32, out: inout O) {
        guard let record = containers.remove(id) else { return }
        let inside = connections.values.filter { $0.identity.container == id }.map(\.id).sorted { $0.raw < $1.raw }
        for c in inside {
            connectionClosed(c, out: &out)
            out.disconnect(c, reason: "container \(id) stopped")
        }
        unloadProxies(in: id, out: &out)  // any its closed connections did not hold
        for w in record.stopWaiters {
            guard let stopper = connections[w.connection] else { continue }
            replyOK(to: stopper, transactionID: w.transactionID, out: &out) { _ in }
        }
    }

    func containerInfo(_ r: ContainerRecord) -> ContainerInfo {
        ContainerInfo(
            id: r.id, name: r.name, initPID: r.started.initPID, networkNamespace: r.started.networkNamespace, endpoint: r.started.endpoint,
            foreground: containers.foreground == r.id,
            connections: UInt32(connections.values.lazy.filter { $0.identity.container == r.id }.count),
            services: UInt32(serviceManager.registry.services.keys.lazy.filter { $0.container == r.id }.count))
    }

    var containerInfos: [ContainerInfo] { containers.sorted.map(containerInfo) }

    // MARK: Service-manager calls

    /// Container management: createContainer, stopContainer, listContainers, set/getForegroundContainer.
    func containerCall<O: BrokerOutbox>(
        _ code: IServiceManager.Code, from conn: Connection, request: inout Parcel, txid: UInt64, oneWay: Bool, out: inout O
    ) throws(StatusCode) {
        let access = serviceManager.access
        func refuse(_ message: String) { fail(oneWay, conn, txid, ServiceError(.security, message), &out) }
        switch code {
        case .getForegroundContainer:
            let id = Int32(bitPattern: containers.foreground)
            if !oneWay { replyOK(to: conn, transactionID: txid, out: &out) { p in p.write(id) } }
        case .listContainers:
            if case .denied(let why) = access.canListContainers(by: conn.identity) { return refuse(why) }
            let infos = containerInfos
            if !oneWay { replyOK(to: conn, transactionID: txid, out: &out) { p in p.write(array: infos) { p, c in c.write(to: &p) } } }
        case .createContainer:
            let raw: Int32 = try request.read()
            let name = try request.readNonNullString()
            if case .denied(let why) = access.canManage(.create, by: conn.identity) { return refuse(why) }
            guard raw >= 0, ContainerInfo.childIDs.contains(UInt32(raw)) else {
                return fail(oneWay, conn, txid, ServiceError(.illegalArgument, "container IDs are 1…\(ContainerInfo.maxID) (0 is the root), not \(raw)"), &out)
            }
            guard ContainerInfo.isValidName(name) else {
                return fail(oneWay, conn, txid, ServiceError(.illegalArgument, "invalid container name '\(name)': use 1–63 of [A-Za-z0-9-], not starting or ending with '-'"), &out)
            }
            let id = UInt32(raw)
            if let existing = containers[id] {
                return fail(oneWay, conn, txid, ServiceError(.illegalState, "container \(id) exists already (name \(existing.name), pid \(existing.started.initPID))"), &out)
            }
            switch out.startContainer(id: id, name: name) {
            case .failure(let failure):
                fail(oneWay, conn, txid, ServiceError(.illegalState, "container \(id) could not start: \(failure)"), &out)
            case .success(let started):
                let record = ContainerRecord(id: id, name: name, started: started)
                containers.add(record)
                let info = containerInfo(record)
                if !oneWay { replyOK(to: conn, transactionID: txid, out: &out) { p in info.write(to: &p) } }
            }
        case .stopContainer:
            let raw: Int32 = try request.read()
            if case .denied(let why) = access.canManage(.stop, by: conn.identity) { return refuse(why) }
            guard let id = containers.running(raw) else {
                return fail(oneWay, conn, txid, ServiceError(.illegalArgument, "no container \(raw)"), &out)
            }
            if containers.stopRequested(id, by: oneWay ? nil : (conn.id, txid)) { out.stopContainer(id: id) }
        case .setForegroundContainer:
            let raw: Int32 = try request.read()
            if case .denied(let why) = access.canManage(.setForeground, by: conn.identity) { return refuse(why) }
            guard raw == 0 || containers.running(raw) != nil else {
                return fail(oneWay, conn, txid, ServiceError(.illegalArgument, "no container \(raw)"), &out)
            }
            let leaving = containers.foreground
            containers.foreground = UInt32(raw)
            if !oneWay { replyOK(to: conn, transactionID: txid, out: &out) { _ in } }
            // A container leaving the foreground loses its proxies of exported services; the next
            // lookup loads them again.
            if leaving != containers.foreground && leaving != 0 { unloadProxies(in: leaving, out: &out) }
        default:
            throw .unknownTransaction
        }
    }
}
