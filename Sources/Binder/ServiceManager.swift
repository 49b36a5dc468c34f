import BinderPlatform
import BinderWire

/// The service manager (the broker's object at handle 0): register, look up, list, wait for and
/// watch services. Calls block the calling thread; they are short broker-local look-ups.
public struct ServiceManager: Sendable {
    public let connection: BinderConnection

    private func call(_ code: ServiceManagerCode, _ body: (inout Parcel) -> Void = { _ in }) throws -> Parcel {
        var data = Parcel()
        body(&data)
        var reply = try connection.transact(handle: ServiceManagerInterface.handle, code: code.rawValue, data: data)
        try reply.readException()
        return reply
    }

    private func readBinder(_ reply: inout Parcel) throws -> BinderProxy? {
        try connection.proxy(for: try reply.readObject())
    }

    /// Registers `object` under `name`. The name stays this uid's until the process disconnects.
    /// - Throws: `ServiceError` `.illegalArgument` for a bad name, `.security` when another uid holds it.
    public func addService(_ name: String, _ object: any BinderObject) throws {
        let ref = connection.publish(object)
        _ = try call(.addService) { p in
            p.write(name)
            p.write(object: ref)
        }
    }

    /// The service registered as `name`, or nil; never waits.
    public func getService(_ name: String) throws -> BinderProxy? {
        var reply = try call(.getService) { $0.write(name) }
        return try readBinder(&reply)
    }

    /// Same as `getService` (kept for Binder's API shape).
    public func checkService(_ name: String) throws -> BinderProxy? {
        var reply = try call(.checkService) { $0.write(name) }
        return try readBinder(&reply)
    }

    /// Waits until `name` is registered or `timeout` passes (nil: wait indefinitely).
    /// The broker does the waiting: the reply comes the moment the service registers.
    public func waitForService(_ name: String, timeout: Duration?) throws -> BinderProxy? {
        let millis: Int64 = timeout.map { Int64($0.components.seconds) * 1000 + $0.components.attoseconds / 1_000_000_000_000_000 } ?? -1
        var reply = try call(.waitForService) { p in
            p.write(name)
            p.write(millis)
        }
        return try readBinder(&reply)
    }

    /// Registered names, sorted.
    public func listServices() throws -> [String] {
        var reply = try call(.listServices)
        return try reply.readArray { p throws(StatusCode) in try p.readNonNullString() } ?? []
    }

    /// Calls `onRegistration` (on a pool thread) each time `name` is registered, and once now if it
    /// already is. Keep the returned object to unregister.
    public func registerForNotifications(
        _ name: String, _ onRegistration: @escaping @Sendable (String, BinderProxy?) -> Void
    ) throws -> ServiceNotification {
        let callback = ServiceNotification(name: name, handler: onRegistration)
        let ref = connection.publish(callback)
        _ = try call(.registerForNotifications) { p in
            p.write(name)
            p.write(object: ref)
        }
        return callback
    }

    public func unregisterForNotifications(_ registration: ServiceNotification) throws {
        let ref = connection.publish(registration)
        _ = try call(.unregisterForNotifications) { p in
            p.write(registration.name)
            p.write(object: ref)
        }
    }

    /// The broker's state: connections, services, counters (what `binder status` prints).
    public func status() throws -> BrokerStatus {
        var reply = try call(.getStatus)
        return try BrokerStatus.read(from: &reply)
    }
}

/// The callback object behind `registerForNotifications` (an `IServiceCallback`).
public final class ServiceNotification: BinderObject {
    public let name: String
    let handler: @Sendable (String, BinderProxy?) -> Void
    init(name: String, handler: @escaping @Sendable (String, BinderProxy?) -> Void) {
        self.name = name
        self.handler = handler
    }
    public func onTransact(code: UInt32, data: inout Parcel, reply: inout Parcel, context: TransactionContext) throws {
        guard code == ServiceCallbackCode.onRegistration.rawValue else { throw StatusCode.unknownTransaction }
        let name = try data.readNonNullString()
        let proxy = try context.connection.proxy(for: try data.readObject())
        handler(name, proxy)
    }
}
