import BinderWire
import Synchronization

// Containers from the client's side (WIRE.md §7.7): look-ups and calls addressed by container ID,
// and the management calls behind `binder container`.

extension ServiceManager {
    /// `name` as registered in container `container` (0: the root). The root reaches every
    /// container; a child its own names, the root's exported ones, and other children's only where
    /// the broker's policy allows.
    /// - Throws: `PERMISSION_DENIED` when the policy forbids; `ServiceError` `.illegalArgument`
    ///   when the container does not exist.
    public func getService(_ name: String, inContainer container: UInt32) throws -> BinderProxy? {
        try proxy.getServiceInContainer(name: name, container: Int32(bitPattern: container))
    }

    /// The names `getService(_:inContainer:)` finds in `container`, sorted.
    public func listServices(inContainer container: UInt32) throws -> [String] {
        try proxy.listServicesInContainer(container: Int32(bitPattern: container))
    }

    /// Registers a root service that every container sees under `name` (a system service).
    /// - Throws: `ServiceError` `.security` when called from a child container.
    public func addExportedService(_ name: String, _ object: any BinderObject) throws {
        try proxy.addExportedService(name: name, service: connection.binder(for: object))
    }

    /// Starts container `id` (1…4096) with hostname `name`: its own mount, UTS, IPC, network and
    /// PID namespaces, and the broker's endpoint at /run/binder/binder.sock inside.
    public func createContainer(id: UInt32, name: String) throws -> ContainerInfo {
        try proxy.createContainer(id: Int32(bitPattern: id), name: name)
    }

    /// Stops container `id`; returns once its processes are gone, its connections closed and its
    /// services removed.
    public func stopContainer(_ id: UInt32) throws {
        try proxy.stopContainer(id: Int32(bitPattern: id))
    }

    public func listContainers() throws -> [ContainerInfo] {
        try proxy.listContainers()
    }

    /// The container in the foreground (0: the root).
    public func foregroundContainer() throws -> UInt32 {
        UInt32(bitPattern: try proxy.getForegroundContainer())
    }

    public func setForegroundContainer(_ id: UInt32) throws {
        try proxy.setForegroundContainer(id: Int32(bitPattern: id))
    }
}

/// Proxies that `transact(container:service:...)` looked up, so a repeated call costs one round trip.
final class ContainerServiceCache: Sendable {
    private struct Key: Hashable {
        let container: UInt32
        let name: String
    }
    private let entries = Mutex<[Key: BinderProxy]>([:])

    func proxy(_ container: UInt32, _ name: String) -> BinderProxy? {
        entries.withLock { $0[Key(container: container, name: name)] }
    }
    func store(_ proxy: BinderProxy, _ container: UInt32, _ name: String) {
        entries.withLock { $0[Key(container: container, name: name)] = proxy }
    }
    func forget(_ container: UInt32, _ name: String) {
        entries.withLock { _ = $0.removeValue(forKey: Key(container: container, name: name)) }
    }
    /// Forgets every look-up (a new broker does not know their handles, WIRE.md §2.1). The proxies
    /// go after the lock is released.
    func forgetAll() {
        let gone = entries.withLock { entries in
            defer { entries.removeAll() }
            return entries
        }
        _ = gone
    }
}

extension BinderConnection {
    /// Calls `service` as registered in container `container` (0: the root), by name. The
    /// look-up is cached: a later call costs one routed round trip. A cached proxy whose owner
    /// has died is looked up again once (the name may have been registered anew).
    /// - Throws: `NAME_NOT_FOUND` when no such service is visible there, `PERMISSION_DENIED` when
    ///   the policy forbids, `ServiceError` `.illegalArgument` for a container that does not exist,
    ///   and whatever the call itself throws.
    public func transact(container: UInt32, service: String, code: UInt32, data: Parcel, flags: TransactionFlags = []) throws -> Parcel {
        if let cached = serviceCache.proxy(container, service) {
            do {
                return try cached.transact(code: code, data: data, flags: flags)
            } catch .deadObject {
                serviceCache.forget(container, service)
            }
        }
        guard let proxy = try serviceManager.getService(service, inContainer: container) else {
            throw StatusCode.nameNotFound
        }
        serviceCache.store(proxy, container, service)
        return try proxy.transact(code: code, data: data, flags: flags)
    }
}
