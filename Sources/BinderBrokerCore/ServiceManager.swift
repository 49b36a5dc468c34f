import BinderWire

/// Why the service manager refuses a call: a transport status, or an exception in the reply parcel.
enum Refusal: Error {
    case status(StatusCode)
    case exception(ServiceError)
}

/// The service manager, the broker's own object at handle 0 (`Protocols/binder/IServiceManager.aidl`):
/// its tables (`ServiceRegistry`: names per container, waiters, listeners) and its decisions, each
/// permission asked of the injected `ServiceAccessPolicy`.
///
/// It decides and records; it never sees a frame. `BrokerCore` (ServiceManagerCalls.swift) reads the
/// calls, turns the nodes decided here into references for the caller, and sends the answers.
struct ServiceManager {
    /// A name's registration as a lookup resolves it.
    struct Registration {
        let node: NodeID
        /// The container whose scope holds the name.
        let container: UInt32
        /// A root service visible in every container.
        let exported: Bool
    }

    var registry = ServiceRegistry()
    let access: any ServiceAccessPolicy

    init(access: any ServiceAccessPolicy) { self.access = access }

    /// What `name` means in `scope`: the scope's own registration, else (in a child) an exported
    /// root one. No permission is asked.
    func registration(of name: String, in scope: UInt32) -> Registration? {
        if let own = registry.services[ServiceRegistry.Key(container: scope, name: name)] {
            return Registration(node: own.node, container: scope, exported: own.exported)
        }
        guard scope != 0, let root = registry.services[ServiceRegistry.Key(container: 0, name: name)], root.exported else { return nil }
        return Registration(node: root.node, container: 0, exported: true)
    }

    /// `getService`, `checkService`, `waitForService`: what `name` means in the caller's scope, if
    /// the policy lets it find that; nil (a null binder, as for a missing name) otherwise.
    func lookUp(_ name: String, by caller: PeerIdentity) -> Registration? {
        guard let found = registration(of: name, in: caller.container),
              access.canFind(name, in: found.container, exported: found.exported, by: caller).isAllowed
        else { return nil }
        return found
    }

    /// Whether the policy lets `caller` wait or listen for `name` in its own scope (it may not be
    /// registered yet).
    func mayAwait(_ name: String, by caller: PeerIdentity) -> AccessDecision {
        access.canFind(name, in: caller.container, exported: false, by: caller)
    }

    /// `getServiceInContainer`: the root reaches every container's names; a child its own, the
    /// root's exported ones (and the root's others where the policy allows), and another child's
    /// only where the policy allows. A root name the policy hides is invisible (nil), another
    /// child's is `PERMISSION_DENIED`.
    func lookUp(_ name: String, inContainer target: UInt32, by caller: PeerIdentity) -> Result<Registration?, Refusal> {
        if caller.container == target { return .success(lookUp(name, by: caller)) }
        let entry = registry.services[ServiceRegistry.Key(container: target, name: name)]
        let allowed = access.canFind(name, in: target, exported: entry?.exported ?? false, by: caller).isAllowed
        if target == 0 {
            guard let entry, allowed else { return .success(nil) }
            return .success(Registration(node: entry.node, container: 0, exported: entry.exported))
        }
        guard allowed else { return .failure(.status(.permissionDenied)) }
        return .success(entry.map { Registration(node: $0.node, container: target, exported: $0.exported) })
    }

    /// `listServices`: the names a lookup finds in the caller's scope.
    func names(by caller: PeerIdentity) -> Result<[String], ServiceError> {
        if case .denied(let why) = access.canList(caller.container, by: caller) { return .failure(ServiceError(.security, why)) }
        return .success(registry.names(in: caller.container))
    }

    /// `listServicesInContainer`: the names `lookUp(_:inContainer:by:)` would find.
    func names(inContainer target: UInt32, by caller: PeerIdentity) -> Result<[String], Refusal> {
        if caller.container == target { return names(by: caller).mapError(Refusal.exception) }
        guard access.canList(target, by: caller).isAllowed else { return .failure(.status(.permissionDenied)) }
        let names = registry.services.compactMap { key, entry -> String? in
            guard key.container == target else { return nil }
            return access.canFind(key.name, in: target, exported: entry.exported, by: caller).isAllowed ? key.name : nil
        }
        return .success(names.sorted())
    }

    /// `registerForNotifications`: `listener` hears of every registration `name` gets in its scope.
    mutating func listen(_ listener: ServiceRegistry.Listener, for name: String) {
        registry.listeners[name, default: []].append(listener)
    }

    /// `unregisterForNotifications`: removes the listener, nil if it was never registered.
    mutating func stopListening(_ listener: ServiceRegistry.Listener, for name: String) -> ServiceRegistry.Listener? {
        guard let index = registry.listeners[name]?.firstIndex(of: listener) else { return nil }
        let removed = registry.listeners[name]!.remove(at: index)
        if registry.listeners[name]!.isEmpty { registry.listeners.removeValue(forKey: name) }
        return removed
    }

    /// `addService`, `addExportedService`: registers `node` under `name` in the caller's scope if
    /// the policy lets it. Returns the node the name named before (the caller releases it; the
    /// registry holds the new one).
    mutating func add(_ name: String, node: NodeID, exported: Bool, by caller: PeerIdentity) -> Result<NodeID?, ServiceError> {
        let key = ServiceRegistry.Key(container: caller.container, name: name)
        if case .denied(let why) = access.canAdd(name, exported: exported, by: caller, heldBy: registry.services[key]?.uid) {
            return .failure(ServiceError(.security, why))
        }
        let entry = ServiceRegistry.Entry(node: node, uid: caller.uid, exported: exported)
        return .success(registry.services.updateValue(entry, forKey: key)?.node)
    }
}
