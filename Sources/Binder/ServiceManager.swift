import BinderPlatform
import BinderWire

/// The service manager (the broker's object at handle 0): register, look up, list, wait for and
/// watch services. Calls block the calling thread; they are short broker-local look-ups.
///
/// A thin layer over the generated `IServiceManager.Proxy` (Protocols/binder/IServiceManager.aidl)
/// that keeps Swift-friendly argument types (`BinderObject`, `Duration`, closures).
public struct ServiceManager: Sendable {
    public let connection: BinderConnection

    /// The generated client for handle 0.
    public var proxy: IServiceManager.Proxy {
        IServiceManager.Proxy(BinderProxy(handle: ServiceManagerInterface.handle, connection: connection))
    }

    /// Registers `object` under `name`. The name stays this uid's until the process disconnects.
    /// - Throws: `ServiceError` `.illegalArgument` for a bad name, `.security` when another uid holds it.
    public func addService(_ name: String, _ object: any BinderObject) throws {
        try proxy.addService(name: name, service: connection.binder(for: object))
    }

    /// The service registered as `name`, or nil; never waits.
    public func getService(_ name: String) throws -> BinderProxy? {
        try proxy.getService(name: name)
    }

    /// Same as `getService` (kept for Binder's API shape).
    public func checkService(_ name: String) throws -> BinderProxy? {
        try proxy.checkService(name: name)
    }

    /// Waits until `name` is registered or `timeout` passes (nil: wait indefinitely).
    /// The broker does the waiting: the reply comes the moment the service registers.
    public func waitForService(_ name: String, timeout: Duration?) throws -> BinderProxy? {
        let millis: Int64 = timeout.map { $0.wholeMilliseconds } ?? -1
        return try proxy.waitForService(name: name, timeoutMillis: millis)
    }

    /// Registered names, sorted.
    public func listServices() throws -> [String] {
        try proxy.listServices()
    }

    /// Calls `onRegistration` (on a pool thread) each time `name` is registered, and once now if it
    /// already is. Keep the returned object to unregister.
    public func registerForNotifications(
        _ name: String, _ onRegistration: @escaping @Sendable (String, BinderProxy?) -> Void
    ) throws -> ServiceNotification {
        let callback = ServiceNotification(name: name, handler: onRegistration)
        try proxy.registerForNotifications(name: name, callback: callback)
        return callback
    }

    public func unregisterForNotifications(_ registration: ServiceNotification) throws {
        // The same callback object is published as the same binder, so the broker finds it.
        try proxy.unregisterForNotifications(name: registration.name, callback: registration)
    }

    // MARK: The named-fd registry (WIRE.md §7.4)

    /// Asks the broker for a channel to the process that owns `target`. Returns the name of this
    /// process's end, to `claimChannel`; the target's channel listener hears the name of its end.
    /// - Throws: `ServiceError` `.unsupportedOperation` when the target process registered no
    ///   channel listener, `.illegalArgument` for a local object; `DEAD_OBJECT` when it has gone.
    public func requestChannel(to target: BinderProxy) throws -> String {
        guard target.handle != nil else {
            throw ServiceError(.illegalArgument, "a channel needs an object of another process")
        }
        return try proxy.requestChannel(target: target)
    }

    /// Claims a channel end by name: its fd, and who is at the other end.
    /// - Throws: `PERMISSION_DENIED` when the end was made for another process; `ServiceError`
    ///   `.illegalState` when it was already claimed, has expired, or never existed.
    public func claimChannel(_ name: String) throws -> (ParcelFileDescriptor, ChannelEnd) {
        var end = ChannelEnd()
        let fd = try proxy.claimChannel(name: name, end: &end)
        return (fd, end)
    }

    /// `requestChannel(to:)` and `claimChannel` of this process's end in one call (one broker
    /// round trip instead of two): this process's end and who is at the other end. The target's
    /// listener hears the name of its end as with `requestChannel`. Throws what `requestChannel` throws.
    public func openChannel(to target: BinderProxy) throws -> (ParcelFileDescriptor, ChannelEnd) {
        guard target.handle != nil else {
            throw ServiceError(.illegalArgument, "a channel needs an object of another process")
        }
        var end = ChannelEnd()
        let fd = try proxy.openChannel(target: target, end: &end)
        return (fd, end)
    }

    /// Makes `listener` this process's channel listener: the broker calls it (one-way) for every
    /// channel another process requests to one of this process's objects. A listener made with
    /// `ChannelListener(receivingEnds:)` is registered as a receiver (`registerChannelReceiver`):
    /// the broker claims this process's ends on its behalf and delivers them with the request.
    public func registerChannelListener(_ listener: ChannelListener) throws {
        if listener.receivesEnds {
            try proxy.registerChannelReceiver(listener: listener)
        } else {
            try proxy.registerChannelListener(listener: listener)
        }
    }

    /// The broker's state: connections, services, counters (what `binder status` prints).
    public func status() throws -> BrokerStatus {
        try proxy.getStatus()
    }
}

/// The callback object behind `registerForNotifications` (an `IServiceCallback`).
public final class ServiceNotification: IServiceCallback.Interface {
    public let name: String
    let handler: @Sendable (String, BinderProxy?) -> Void
    init(name: String, handler: @escaping @Sendable (String, BinderProxy?) -> Void) {
        self.name = name
        self.handler = handler
    }
    public func onRegistration(name: String, binder: BinderProxy) throws {
        handler(name, binder)
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

/// An `IChannelListener`: hands each channel request to its handler (on a pool thread). A
/// listener hears end names, to claim; a receiver (`init(receivingEnds:)`) is handed the ends.
public final class ChannelListener: IChannelListener.Interface {
    enum Handler {
        case names(@Sendable (ChannelRequest) -> Void)
        case ends(@Sendable (ChannelRequest, ParcelFileDescriptor, ChannelEnd) -> Void)
    }
    let handler: Handler
    /// Hears the name of each end made for this process, to claim with `claimChannel`.
    public init(_ handler: @escaping @Sendable (ChannelRequest) -> Void) { self.handler = .names(handler) }
    /// Is handed each end made for this process (claimed on its behalf) and who is at the other
    /// end; the handler owns the end.
    public init(receivingEnds receiver: @escaping @Sendable (ChannelRequest, ParcelFileDescriptor, ChannelEnd) -> Void) {
        handler = .ends(receiver)
    }
    var receivesEnds: Bool {
        if case .ends = handler { return true }
        return false
    }
    // Only the broker calls these, and each only for the way the listener was registered.
    public func onChannelRequested(endName: String, pid: Int32, uid: Int32, container: Int32, cookie: Int64) throws {
        guard case .names(let handler) = handler else { throw StatusCode.invalidOperation }
        let requester = CallerIdentity(pid: pid, uid: UInt32(bitPattern: uid), container: UInt32(bitPattern: container))
        handler(ChannelRequest(endName: endName, requester: requester, cookie: UInt64(bitPattern: cookie)))
    }
    public func onChannelOpened(endName: String, end: ParcelFileDescriptor, info: ChannelEnd) throws {
        guard case .ends(let receiver) = handler else {
            end.close()
            throw StatusCode.invalidOperation
        }
        receiver(ChannelRequest(endName: endName, requester: CallerIdentity(peerOf: info), cookie: info.cookie), end, info)
    }
}

extension Duration {
    /// Whole milliseconds, rounded down; saturates instead of overflowing.
    var wholeMilliseconds: Int64 {
        let (s, atto) = components
        let (ms, overflow) = s.multipliedReportingOverflow(by: 1000)
        return overflow ? (s < 0 ? .min : .max) : ms + atto / 1_000_000_000_000_000
    }
}
