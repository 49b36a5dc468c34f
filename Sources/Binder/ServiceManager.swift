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

    // MARK: The named-fd registry (WIRE.md §7.4)

    /// Asks the broker for a channel to the process that owns `target`. Returns the name of this
    /// process's end, to `claimChannel`; the target's channel listener hears the name of its end.
    /// - Throws: `ServiceError` `.unsupportedOperation` when the target process registered no
    ///   channel listener, `.illegalArgument` for a local object; `DEAD_OBJECT` when it has gone.
    public func requestChannel(to target: BinderProxy) throws -> String {
        guard let handle = target.handle else {
            throw ServiceError(.illegalArgument, "a channel needs an object of another process")
        }
        var reply = try call(.requestChannel) { $0.write(object: .handle(handle)) }
        return try reply.readNonNullString()
    }

    /// Claims a channel end by name: its fd, and who is at the other end.
    /// - Throws: `PERMISSION_DENIED` when the end was made for another process; `ServiceError`
    ///   `.illegalState` when it was already claimed, has expired, or never existed.
    public func claimChannel(_ name: String) throws -> (ParcelFileDescriptor, ChannelEnd) {
        var reply = try call(.claimChannel) { $0.write(name) }
        guard let fd = try reply.readFileDescriptor() else { throw StatusCode.badValue }
        return (fd, try ChannelEnd.read(from: &reply))
    }

    /// Makes `listener` this process's channel listener: the broker calls it (one-way) for every
    /// channel another process requests to one of this process's objects.
    public func registerChannelListener(_ listener: ChannelListener) throws {
        let ref = connection.publish(listener)
        _ = try call(.registerChannelListener) { $0.write(object: ref) }
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


/// A channel another process asked for, as the broker told it (`IChannelListener`).
public struct ChannelRequest: Sendable, Equatable {
    /// The name of this process's end in the broker's registry.
    public var endName: String
    /// The requester, as the broker stamped it.
    public var requester: CallerIdentity
    /// This process's cookie for the object the channel is for.
    public var cookie: UInt64
}

/// An `IChannelListener`: hands each channel request to `handler` (on a pool thread).
public final class ChannelListener: BinderObject {
    let handler: @Sendable (ChannelRequest) -> Void
    public init(_ handler: @escaping @Sendable (ChannelRequest) -> Void) { self.handler = handler }
    public func onTransact(code: UInt32, data: inout Parcel, reply: inout Parcel, context: TransactionContext) throws {
        guard code == ChannelListenerCode.onChannelRequested.rawValue else { throw StatusCode.unknownTransaction }
        let name = try data.readNonNullString()
        let requester = CallerIdentity(pid: try data.read(), uid: try data.read(), container: try data.read())
        handler(ChannelRequest(endName: name, requester: requester, cookie: try data.read()))
    }
}
