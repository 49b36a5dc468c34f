import BinderWire

/// The service manager's endpoint at handle 0 (`Protocols/binder/IServiceManager.aidl`): reading
/// each call, carrying out what `ServiceManager` decides (references for the caller, holds on the
/// registered objects), and the answers and notifications it sends.
extension BrokerCore {
    /// Answers one call to handle 0: reads it, asks `serviceManager` (the other tables for the
    /// channel, death-link and container calls), and replies unless it is one-way.
    func serviceManagerTransaction<O: BrokerOutbox>(
        from conn: Connection, header: FrameHeader, frame: UnsafeMutableRawBufferPointer, now: UInt64, out: inout O
    ) {
        let oneWay = header.flags.contains(.oneWay)
        let txid = header.transactionID
        var request = Parcel()
        let dataEnd = FrameHeader.size + Int(header.dataLength)
        request.replace(
            with: UnsafeRawBufferPointer(rebasing: frame[FrameHeader.size..<dataEnd]),
            objectOffsets: UnsafeRawBufferPointer(rebasing: frame[dataEnd..<dataEnd + 4 * Int(header.objectCount)]))
        guard let code = IServiceManager.Code(rawValue: header.code) else {
            if !oneWay { sendStatusReply(to: conn.id, transactionID: txid, status: .unknownTransaction, out: &out) }
            return
        }
        do throws(StatusCode) {
            switch code {
            case .getService, .checkService:
                let name = try request.readNonNullString()
                let node = lookUpNode(name, for: conn)
                reply(oneWay, conn, txid, &out) { p in p.write(object: reference(to: node, for: conn)) }
            case .addService, .addExportedService:
                let name = try request.readNonNullString()
                let ref = try request.readObject()
                guard ServiceManagerInterface.isValidName(name) else {
                    return fail(oneWay, conn, txid, ServiceError(.illegalArgument, "invalid service name '\(name)': use 1–127 characters of [A-Za-z0-9_./-]"), &out)
                }
                guard let found = objects.node(for: ref, writtenBy: conn) else { throw .badValue }
                guard let node = found else {
                    return fail(oneWay, conn, txid, ServiceError(.illegalArgument, "service object for '\(name)' is null"), &out)
                }
                let exported = code == .addExportedService
                switch serviceManager.add(name, node: node, exported: exported, by: conn.identity) {
                case .failure(let denial): return fail(oneWay, conn, txid, denial, &out)
                case .success(let replaced):
                    // The service manager holds the object while the name is registered (References.swift).
                    retain(node)
                    if let replaced { release(replaced, out: &out) }
                }
                reply(oneWay, conn, txid, &out) { _ in }
                serviceRegistered(name, in: conn.identity.container, exported: exported, node: node, out: &out)
            case .listServices:
                switch serviceManager.names(by: conn.identity) {
                case .success(let names): reply(oneWay, conn, txid, &out) { p in p.write(array: names) { p, n in p.write(n) } }
                case .failure(let denial): fail(oneWay, conn, txid, denial, &out)
                }
            case .registerForNotifications:
                let name = try request.readNonNullString()
                let ref = try request.readObject()
                guard ServiceManagerInterface.isValidName(name) else {
                    return fail(oneWay, conn, txid, ServiceError(.illegalArgument, "invalid service name '\(name)'"), &out)
                }
                if case .denied(let why) = serviceManager.mayAwait(name, by: conn.identity) {
                    return fail(oneWay, conn, txid, ServiceError(.security, why), &out)
                }
                guard let found = objects.node(for: ref, writtenBy: conn) else { throw .badValue }
                guard let callback = found else {
                    return fail(oneWay, conn, txid, ServiceError(.nullPointer, "callback is null"), &out)
                }
                let listener = ServiceRegistry.Listener(connection: conn.id, node: callback, scope: conn.identity.container)
                serviceManager.listen(listener, for: name)
                retain(callback)
                reply(oneWay, conn, txid, &out) { _ in }
                if let existing = lookUpNode(name, for: conn) {
                    notify(listener, name: name, service: existing, out: &out)
                }
            case .unregisterForNotifications:
                let name = try request.readNonNullString()
                let ref = try request.readObject()
                let found = objects.existingNode(for: ref, writtenBy: conn)
                guard let removed = found.flatMap({ node in
                    serviceManager.stopListening(ServiceRegistry.Listener(connection: conn.id, node: node, scope: conn.identity.container), for: name)
                }) else {
                    return fail(oneWay, conn, txid, ServiceError(.illegalState, "no such callback registered for '\(name)'"), &out)
                }
                reply(oneWay, conn, txid, &out) { _ in }
                release(removed.node, out: &out)
            case .waitForService, .resumeService:
                let name = try request.readNonNullString()
                let pinned: UInt32 = code == .resumeService ? UInt32(bitPattern: try request.read(Int32.self)) : 0
                let timeoutMillis: Int64 = try request.read()
                guard ServiceManagerInterface.isValidName(name) else {
                    return fail(oneWay, conn, txid, ServiceError(.illegalArgument, "invalid service name '\(name)'"), &out)
                }
                if case .denied(let why) = serviceManager.mayAwait(name, by: conn.identity) {
                    return fail(oneWay, conn, txid, ServiceError(.security, why), &out)
                }
                if code == .resumeService && !conn.handles.isResumable(pinned) {
                    return fail(oneWay, conn, txid, ServiceError(.illegalState, "handle \(pinned) cannot be resumed"), &out)
                }
                if let node = lookUpNode(name, for: conn) {
                    answerWaiter(conn, transactionID: txid, node: node, pinnedHandle: pinned, oneWay: oneWay, out: &out)
                } else if !oneWay {
                    // Negative: wait as long as the caller stays connected. Beyond ~a century: the same.
                    let forever = timeoutMillis < 0 || timeoutMillis > 3_153_600_000_000
                    let deadline = forever ? nil : now + UInt64(timeoutMillis) * 1_000_000
                    serviceManager.registry.wait(
                        connection: conn.id, transactionID: txid, scope: conn.identity.container, name: name, deadline: deadline,
                        pinnedHandle: pinned)
                }
            // The registry's calls make fds for their caller: one-way, they are ignored.
            case .requestChannel where !oneWay: try requestChannel(from: conn, request: &request, txid: txid, now: now, out: &out)
            case .claimChannel where !oneWay: try claimChannel(from: conn, request: &request, txid: txid, out: &out)
            case .openChannel where !oneWay: try requestChannel(from: conn, request: &request, txid: txid, now: now, claimingOwnEnd: true, out: &out)
            case .registerChannelListener where !oneWay: try registerChannelListener(from: conn, request: &request, txid: txid, out: &out)
            case .registerChannelReceiver where !oneWay:
                try registerChannelListener(from: conn, request: &request, txid: txid, receivingEnds: true, out: &out)
            case .requestChannel, .claimChannel, .openChannel, .registerChannelListener, .registerChannelReceiver: return
            case .linkToDeath: try linkToDeath(from: conn, request: &request, txid: txid, oneWay: oneWay, out: &out)
            case .unlinkToDeath: try unlinkToDeath(from: conn, request: &request, txid: txid, oneWay: oneWay, out: &out)
            case .getStatus:
                let snapshot = status(now: now)
                reply(oneWay, conn, txid, &out) { p in snapshot.write(to: &p) }
            case .getServiceInContainer:
                let name = try request.readNonNullString()
                let target: Int32 = try request.read()
                switch serviceInContainer(name, container: target, for: conn) {
                case .success(let node): reply(oneWay, conn, txid, &out) { p in p.write(object: reference(to: node, for: conn)) }
                case .failure(let failure): refuse(failure, oneWay, conn, txid, &out)
                }
            case .listServicesInContainer:
                let target: Int32 = try request.read()
                switch servicesInContainer(target, for: conn) {
                case .success(let names): reply(oneWay, conn, txid, &out) { p in p.write(array: names) { p, n in p.write(n) } }
                case .failure(let failure): refuse(failure, oneWay, conn, txid, &out)
                }
            case .createContainer, .stopContainer, .listContainers, .setForegroundContainer, .getForegroundContainer:
                try containerCall(code, from: conn, request: &request, txid: txid, oneWay: oneWay, out: &out)
            }
        } catch {
            if !oneWay { sendStatusReply(to: conn.id, transactionID: txid, status: error, out: &out) }
        }
    }

    /// What `name` means for `conn` (`ServiceManager.lookUp`), as the node to hand it.
    private func lookUpNode(_ name: String, for conn: Connection) -> NodeID? {
        serviceManager.lookUp(name, by: conn.identity).map { node(for: $0, seenFrom: conn.identity.container) }
    }

    /// `getServiceInContainer`, in a container that exists (`ServiceManager.lookUp(_:inContainer:by:)`).
    private func serviceInContainer(_ name: String, container raw: Int32, for conn: Connection) -> Result<NodeID?, Refusal> {
        containers.existing(raw)
            .flatMap { target in serviceManager.lookUp(name, inContainer: target, by: conn.identity) }
            .map { found in found.map { node(for: $0, seenFrom: conn.identity.container) } }
    }

    /// `listServicesInContainer`, of a container that exists.
    private func servicesInContainer(_ raw: Int32, for conn: Connection) -> Result<[String], Refusal> {
        containers.existing(raw).flatMap { target in serviceManager.names(inContainer: target, by: conn.identity) }
    }

    private func reply<O: BrokerOutbox>(_ oneWay: Bool, _ conn: Connection, _ txid: UInt64, _ out: inout O, _ body: (inout Parcel) -> Void) {
        if !oneWay { replyOK(to: conn, transactionID: txid, out: &out, body) }
    }

    /// Answers a call the service manager refuses: a transport status or an exception.
    func refuse<O: BrokerOutbox>(_ failure: Refusal, _ oneWay: Bool, _ conn: Connection, _ txid: UInt64, _ out: inout O) {
        switch failure {
        case .status(let status): if !oneWay { sendStatusReply(to: conn.id, transactionID: txid, status: status, out: &out) }
        case .exception(let error): fail(oneWay, conn, txid, error, &out)
        }
    }

    func fail<O: BrokerOutbox>(_ oneWay: Bool, _ conn: Connection, _ txid: UInt64, _ error: ServiceError, _ out: inout O) {
        guard !oneWay else { return }
        scratch.removeAll()
        scratch.writeException(error)
        sendBuilt(to: conn, header: FrameHeader(command: .reply, transactionID: txid), out: &out)
    }

    func replyOK<O: BrokerOutbox>(to conn: Connection, transactionID: UInt64, out: inout O, _ body: (inout Parcel) -> Void) {
        scratch.removeAll()
        scratch.writeNoException()
        body(&scratch)
        sendBuilt(to: conn, header: FrameHeader(command: .reply, transactionID: transactionID), out: &out)
    }

    private func serviceRegistered<O: BrokerOutbox>(_ name: String, in scope: UInt32, exported: Bool, node: NodeID, out: inout O) {
        for w in serviceManager.registry.takeWaiters(for: name, registeredIn: scope, exported: exported) {
            guard let waiter = connections[w.connection] else { continue }
            let seen = self.node(node, registeredIn: scope, exported: exported, seenFrom: w.scope)
            answerWaiter(waiter, transactionID: w.transactionID, node: seen, pinnedHandle: w.pinnedHandle, oneWay: false, out: &out)
        }
        for listener in serviceManager.registry.listeners[name] ?? []
        where serviceManager.registry.registrationReaches(listener.scope, name: name, registeredIn: scope, exported: exported) {
            notify(listener, name: name, service: self.node(node, registeredIn: scope, exported: exported, seenFrom: listener.scope), out: &out)
        }
    }

    /// Answers a `waitForService` (or, with a pinned handle, a `resumeService`) with `node`.
    private func answerWaiter<O: BrokerOutbox>(
        _ conn: Connection, transactionID: UInt64, node: NodeID, pinnedHandle: UInt32, oneWay: Bool, out: inout O
    ) {
        guard pinnedHandle != 0 else {
            return reply(oneWay, conn, transactionID, &out) { p in p.write(object: reference(to: node, for: conn)) }
        }
        guard let ref = objects.reference(to: node, for: conn, at: pinnedHandle, connections: connections) else {
            return fail(oneWay, conn, transactionID, ServiceError(.illegalState, "handle \(pinnedHandle) cannot be resumed"), &out)
        }
        reply(oneWay, conn, transactionID, &out) { p in p.write(object: ref) }
    }

    /// Calls `IServiceCallback.onRegistration(name, service)` one-way on a listener's callback object.
    private func notify<O: BrokerOutbox>(_ listener: ServiceRegistry.Listener, name: String, service: NodeID, out: inout O) {
        guard let callback = objects[listener.node], let owner = connections[callback.owner] else { return }
        scratch.removeAll()
        scratch.write(name)
        scratch.write(object: reference(to: service, for: owner))
        callBack(callback, owner: owner, code: IServiceCallback.Code.onRegistration.rawValue, out: &out)
    }
}
