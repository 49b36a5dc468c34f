import BinderWire

/// A policy's answer to one check.
public enum AccessDecision: Sendable, Equatable {
    case allowed
    /// Refused, with the reason the caller is told where the reply carries one (a `SECURITY`
    /// exception); lookups across containers answer `PERMISSION_DENIED` or nothing instead.
    case denied(String)

    public var isAllowed: Bool { self == .allowed }
}

/// What container management a caller asks for.
public enum ContainerManagement: Sendable, Equatable {
    case create, stop, setForeground
}

/// Who may do what through the service manager, in one place, as AOSP servicemanager's `Access`:
/// the service manager asks it and never decides a permission inline, so the rules can be replaced
/// (another deployment's, a test's) without touching the service manager.
///
/// Every caller is the `PeerIdentity` the kernel reported when it connected, so no check trusts
/// what a process says about itself. The policy is consulted only on calls to the service manager
/// (handle 0), at the time of the call, never on routed frames: as in Binder, a handle once held is
/// the capability to call its object, and looking the service up was the moment to refuse it.
public protocol ServiceAccessPolicy {
    /// May `caller` register `name` in its own container's scope (`exported`: visible in every
    /// container too), while `holder` is the uid holding the name there (nil: nobody)?
    func canAdd(_ name: String, exported: Bool, by caller: PeerIdentity, heldBy holder: UInt32?) -> AccessDecision

    /// May `caller` find `name` registered in container `container` (`exported`: a root service
    /// visible in every container)? Asked for plain lookups too, with the registration the name
    /// resolves to (or the caller's own container, to wait or listen for a name not yet there).
    func canFind(_ name: String, in container: UInt32, exported: Bool, by caller: PeerIdentity) -> AccessDecision

    /// May `caller` list names registered in container `container` (each then needs `canFind`)?
    func canList(_ container: UInt32, by caller: PeerIdentity) -> AccessDecision

    /// May `caller` list the running containers?
    func canListContainers(by caller: PeerIdentity) -> AccessDecision

    /// May `caller` create or stop containers, or set the foreground one?
    func canManage(_ management: ContainerManagement, by caller: PeerIdentity) -> AccessDecision
}

/// The broker's own rules (WIRE.md §7.7, `binderd --policy`):
/// - a name belongs to the uid that registered it; another uid cannot take it;
/// - only the root container exports services;
/// - the root reaches every container's names; a child its own, the root's exported ones, and
///   others only where the container policy allows;
/// - only the root container lists containers, and only uid 0 or the broker's own uid there
///   manages them.
public struct DefaultAccessPolicy: ServiceAccessPolicy {
    /// Which child containers may reach which others' services.
    public var containers: ContainerPolicy
    /// The broker's uid, which may manage containers as root may.
    public var brokerUID: UInt32

    public init(containers: ContainerPolicy = ContainerPolicy(), brokerUID: UInt32) {
        self.containers = containers
        self.brokerUID = brokerUID
    }

    public func canAdd(_ name: String, exported: Bool, by caller: PeerIdentity, heldBy holder: UInt32?) -> AccessDecision {
        if exported && caller.container != 0 {
            return .denied("only services of the root container can be exported (this caller is in container \(caller.container))")
        }
        if let holder, holder != caller.uid { return .denied("'\(name)' is held by uid \(holder)") }
        return .allowed
    }

    public func canFind(_ name: String, in container: UInt32, exported: Bool, by caller: PeerIdentity) -> AccessDecision {
        if containers.allows(from: caller.container, to: container, service: name) || (container == 0 && exported) { return .allowed }
        return .denied("container \(caller.container) may not reach '\(name)' in container \(container)")
    }

    public func canList(_ container: UInt32, by caller: PeerIdentity) -> AccessDecision {
        if caller.container == 0 || container == 0 || containers.reachesAny(from: caller.container, to: container) { return .allowed }
        return .denied("container \(caller.container) may not reach container \(container)")
    }

    public func canListContainers(by caller: PeerIdentity) -> AccessDecision {
        caller.container == 0 ? .allowed : .denied("only the root container lists containers")
    }

    public func canManage(_ management: ContainerManagement, by caller: PeerIdentity) -> AccessDecision {
        if caller.container == 0 && (caller.uid == 0 || caller.uid == brokerUID) { return .allowed }
        switch management {
        case .create, .stop: return .denied("only uid 0 or the broker's uid in the root container manages containers")
        case .setForeground: return .denied("only uid 0 or the broker's uid in the root container sets the foreground")
        }
    }
}
