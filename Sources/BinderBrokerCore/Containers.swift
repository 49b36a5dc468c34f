import BinderWire

/// Why the service manager refuses a call: a transport status, or an exception in the reply parcel.
enum Refusal: Error {
    case status(StatusCode)
    case exception(ServiceError)
}

/// A running container, as the core tracks it (the event loop owns its endpoint and pidfd).
struct ContainerRecord {
    let id: UInt32
    let name: String
    let started: StartedContainer
    var stopping = false
    /// `stopContainer` callers, answered once the container has ended and is cleaned up.
    var stopWaiters: [(connection: ConnectionID, transactionID: UInt64)] = []
}

/// A container the event loop started: what the core records.
public struct StartedContainer: Sendable, Equatable {
    public var initPID: Int32
    public var networkNamespace: UInt64
    /// binder.sock on the host.
    public var endpoint: String
    public init(initPID: Int32, networkNamespace: UInt64, endpoint: String) {
        self.initPID = initPID
        self.networkNamespace = networkNamespace
        self.endpoint = endpoint
    }
}

/// Why a container could not be started, in one line.
public struct ContainerStartFailure: Error, Sendable, CustomStringConvertible {
    public var description: String
    public init(_ description: String) { self.description = description }
}

/// Which child containers may look up which other containers' services (`binderd --policy FILE`).
///
/// Format (documented in README and WIRE.md §7.7): one rule per line, `#` starts a comment.
///
///     allow FROM -> TO [SERVICE]...
///
/// FROM and TO are container IDs or `*` (any child). With no SERVICE the rule covers every name in
/// TO; otherwise only the names listed. Without a rule, a child reaches its own names and the
/// root's exported ones; the root reaches everything.
public struct ContainerPolicy: Sendable, Equatable {
    public struct Rule: Sendable, Equatable {
        /// nil: any container.
        public var from: UInt32?
        public var to: UInt32?
        /// Empty: every service.
        public var services: [String]
        public init(from: UInt32?, to: UInt32?, services: [String] = []) {
            self.from = from
            self.to = to
            self.services = services
        }
        func covers(from f: UInt32, to t: UInt32) -> Bool { (from == nil || from == f) && (to == nil || to == t) }
    }

    public var rules: [Rule]
    public init(rules: [Rule] = []) { self.rules = rules }

    public struct ParseError: Error, Sendable, CustomStringConvertible, Equatable {
        public var line: Int
        public var message: String
        public var description: String { "line \(line): \(message)" }
    }

    public static func parse(_ text: String) throws(ParseError) -> ContainerPolicy {
        var rules: [Rule] = []
        for (index, raw) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let line = raw.split(separator: "#", maxSplits: 1, omittingEmptySubsequences: false).first ?? ""
            let words = line.split(whereSeparator: { $0 == " " || $0 == "\t" || $0 == "\r" }).map(String.init)
            if words.isEmpty { continue }
            func fail(_ message: String) -> ParseError { ParseError(line: index + 1, message: message) }
            guard words.count >= 4, words[0] == "allow", words[2] == "->" else {
                throw fail("expected 'allow FROM -> TO [SERVICE]...', got '\(words.joined(separator: " "))'")
            }
            func container(_ word: String) throws(ParseError) -> UInt32? {
                if word == "*" { return nil }
                guard let id = UInt32(word), id <= ContainerInfo.maxID else {
                    throw fail("'\(word)' is not a container ID (0…\(ContainerInfo.maxID)) or *")
                }
                return id
            }
            let services = Array(words.dropFirst(4))
            if let bad = services.first(where: { !ServiceManagerInterface.isValidName($0) }) {
                throw fail("'\(bad)' is not a valid service name")
            }
            rules.append(Rule(from: try container(words[1]), to: try container(words[3]), services: services))
        }
        return ContainerPolicy(rules: rules)
    }

    /// Whether container `from` may reach `service` (nil: any of them) registered in container `to`.
    public func allows(from: UInt32, to: UInt32, service: String?) -> Bool {
        if from == 0 || from == to { return true }
        return rules.contains { r in
            r.covers(from: from, to: to) && (r.services.isEmpty || service.map(r.services.contains) ?? true)
        }
    }

    /// Whether some rule lets `from` reach anything in `to`.
    func reachesAny(from: UInt32, to: UInt32) -> Bool {
        from == 0 || from == to || rules.contains { $0.covers(from: from, to: to) }
    }
}

extension BrokerCore {
    // MARK: Lifecycle (called by the event loop)

    /// Records a container found running at start-up (left by an earlier broker run).
    public func containerAdopted(id: UInt32, name: String, started: StartedContainer) {
        containers[id] = ContainerRecord(id: id, name: name, started: started)
    }

    /// Container `id` has ended (its PID 1 exited, so every process in it is gone): its connections
    /// close (services go, death notifications are sent, channel ends expire), then its stoppers
    /// get their reply.
    public func containerExited<O: BrokerOutbox>(_ id: UInt32, out: inout O) {
        guard let record = containers.removeValue(forKey: id) else { return }
        if foreground == id { foreground = 0 }
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
            foreground: foreground == r.id,
            connections: UInt32(connections.values.lazy.filter { $0.identity.container == r.id }.count),
            services: UInt32(registry.services.keys.lazy.filter { $0.container == r.id }.count))
    }

    var containerInfos: [ContainerInfo] { containers.values.sorted { $0.id < $1.id }.map(containerInfo) }

    // MARK: Service-manager calls

    /// The container `raw` names, if it is 0 or a running container.
    private func existingContainer(_ raw: Int32) -> Result<UInt32, Refusal> {
        guard raw >= 0, UInt32(raw) <= ContainerInfo.maxID else {
            return .failure(.exception(ServiceError(.illegalArgument, "\(raw) is not a container ID (0…\(ContainerInfo.maxID))")))
        }
        let id = UInt32(raw)
        guard id == 0 || containers[id] != nil else {
            return .failure(.exception(ServiceError(.illegalArgument, "no container \(id)")))
        }
        return .success(id)
    }

    /// The child container `raw` names, if it is running.
    private func runningContainer(_ raw: Int32) -> UInt32? {
        guard raw >= 0, ContainerInfo.childIDs.contains(UInt32(raw)), containers[UInt32(raw)] != nil else { return nil }
        return UInt32(raw)
    }

    /// `getServiceInContainer`: the root reaches every container's names; a child its own, the
    /// root's exported ones (and the root's others where the policy allows), and another child's
    /// only where the policy allows.
    func serviceInContainer(_ name: String, container raw: Int32, for conn: Connection) -> Result<NodeID?, Refusal> {
        let target: UInt32
        switch existingContainer(raw) {
        case .success(let id): target = id
        case .failure(let f): return .failure(f)
        }
        let caller = conn.identity.container
        if caller == target { return .success(serviceNode(name, in: caller)) }
        let entry = registry.services[ServiceRegistry.Key(container: target, name: name)]
        if caller == 0 { return .success(entry?.node) }
        let allowed = config.policy.allows(from: caller, to: target, service: name)
        if target == 0 {
            // The root's names that are not exported are invisible to a child, not forbidden.
            guard let entry, entry.exported || allowed else { return .success(nil) }
            return .success(node(entry.node, registeredIn: 0, exported: entry.exported, seenFrom: caller))
        }
        guard allowed else {
            return .failure(.status(.permissionDenied))
        }
        return .success(entry?.node)
    }

    /// `listServicesInContainer`: the names `getServiceInContainer` would find.
    func servicesInContainer(_ raw: Int32, for conn: Connection) -> Result<[String], Refusal> {
        let target: UInt32
        switch existingContainer(raw) {
        case .success(let id): target = id
        case .failure(let f): return .failure(f)
        }
        let caller = conn.identity.container
        if caller == target { return .success(registry.names(in: caller)) }
        if caller != 0 && target != 0 && !config.policy.reachesAny(from: caller, to: target) {
            return .failure(.status(.permissionDenied))
        }
        let names = registry.services.compactMap { key, entry -> String? in
            guard key.container == target else { return nil }
            if caller == 0 { return key.name }
            let allowed = config.policy.allows(from: caller, to: target, service: key.name)
            return allowed || (target == 0 && entry.exported) ? key.name : nil
        }
        return .success(names.sorted())
    }

    /// Container management: createContainer, stopContainer, listContainers, set/getForegroundContainer.
    func containerCall<O: BrokerOutbox>(
        _ code: ServiceManagerCode, from conn: Connection, request: inout Parcel, txid: UInt64, oneWay: Bool, out: inout O
    ) throws(StatusCode) {
        let inRoot = conn.identity.container == 0
        let privileged = inRoot && (conn.identity.uid == 0 || conn.identity.uid == config.brokerUID)
        func refuse(_ message: String) { fail(oneWay, conn, txid, ServiceError(.security, message), &out) }
        switch code {
        case .getForegroundContainer:
            let id = Int32(bitPattern: foreground)
            if !oneWay { replyOK(to: conn, transactionID: txid, out: &out) { p in p.write(id) } }
        case .listContainers:
            guard inRoot else { return refuse("only the root container lists containers") }
            let infos = containerInfos
            if !oneWay { replyOK(to: conn, transactionID: txid, out: &out) { p in p.write(array: infos) { p, c in c.write(to: &p) } } }
        case .createContainer:
            let raw: Int32 = try request.read()
            let name = try request.readNonNullString()
            guard privileged else { return refuse("only uid 0 or the broker's uid in the root container manages containers") }
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
                containers[id] = record
                let info = containerInfo(record)
                if !oneWay { replyOK(to: conn, transactionID: txid, out: &out) { p in info.write(to: &p) } }
            }
        case .stopContainer:
            let raw: Int32 = try request.read()
            guard privileged else { return refuse("only uid 0 or the broker's uid in the root container manages containers") }
            guard let id = runningContainer(raw) else {
                return fail(oneWay, conn, txid, ServiceError(.illegalArgument, "no container \(raw)"), &out)
            }
            if !oneWay { containers[id]!.stopWaiters.append((conn.id, txid)) }
            if !containers[id]!.stopping {
                containers[id]!.stopping = true
                out.stopContainer(id: id)
            }
        case .setForegroundContainer:
            let raw: Int32 = try request.read()
            guard privileged else { return refuse("only uid 0 or the broker's uid in the root container sets the foreground") }
            guard raw == 0 || runningContainer(raw) != nil else {
                return fail(oneWay, conn, txid, ServiceError(.illegalArgument, "no container \(raw)"), &out)
            }
            let leaving = foreground
            foreground = UInt32(raw)
            if !oneWay { replyOK(to: conn, transactionID: txid, out: &out) { _ in } }
            // A container leaving the foreground loses its proxies of exported services; the next
            // lookup loads them again.
            if leaving != foreground && leaving != 0 { unloadProxies(in: leaving, out: &out) }
        default:
            throw .unknownTransaction
        }
    }
}
