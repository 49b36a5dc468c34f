import BinderPlatform
import BinderWire

extension CallerIdentity {
    /// Who is at the other end of a claimed channel end.
    init(peerOf end: ChannelEnd) {
        self.init(pid: end.peerPID, uid: end.peerUID, container: end.peerContainer)
    }
}

/// What a handler knows about the call it is serving.
public struct TransactionContext: Sendable {
    public var caller: CallerIdentity
    public var flags: TransactionFlags
    public var isOneWay: Bool { flags.contains(.oneWay) }
    /// The connection the call arrived on, for calls the handler makes in turn.
    public let connection: BinderConnection
    /// The call's deadline as the caller set it (WIRE.md §3.2): a `CLOCK_MONOTONIC` instant in
    /// nanoseconds, 0 for none. Calls the handler makes inherit it.
    public let deadlineNanos: UInt64

    public init(caller: CallerIdentity, flags: TransactionFlags, connection: BinderConnection, deadlineNanos: UInt64 = 0) {
        self.caller = caller
        self.flags = flags
        self.connection = connection
        self.deadlineNanos = deadlineNanos
    }

    /// How long the caller still waits for the reply: nil when the call has no deadline, zero once
    /// it passed (the caller has stopped waiting; the reply will be dropped).
    public var remainingTime: Duration? {
        guard deadlineNanos != 0 else { return nil }
        let now = monotonicNanos()
        return deadlineNanos > now ? .nanoseconds(Int64(deadlineNanos - now)) : .zero
    }
}

/// A local object that other processes call: a service, a callback, a listener.
///
/// `onTransact` runs on one of the connection's thread-pool threads. One-way calls to one object
/// run one at a time, in the order they were sent; two-way calls may run concurrently.
///
/// To fail a call: throw a `StatusCode` (a transport status, for example `.unknownTransaction`
/// for a code the object does not implement), or a `ServiceError`, which is written into the reply
/// as an AIDL exception header.
public protocol BinderObject: AnyObject, Sendable {
    func onTransact(code: UInt32, data: inout Parcel, reply: inout Parcel, context: TransactionContext) throws

    /// Whether calls to this object may carry file descriptors. An object must opt in (as with
    /// Binder's `FLAT_BINDER_FLAG_ACCEPTS_FDS`): the broker refuses a call that carries fds to an
    /// object that did not with `FDS_NOT_ALLOWED` and closes the fds. Default: false.
    var acceptsFileDescriptors: Bool { get }

    /// Called once no other process holds a reference to this object any more (the last proxy
    /// elsewhere went, or its process exited; WIRE.md §4.4), after the runtime dropped the object
    /// from its table: a service can drop the state it kept for that client. Runs on a pool thread.
    /// Publishing the object again later gives it a new identity. Objects the service manager
    /// holds (registered services, listeners, death recipients) are not released. Default: nothing.
    func onLastReferenceReleased()

    /// For an exported root service (`addExportedService`): the broker loaded (`loaded` true) or
    /// unloaded this service's proxy in child container `container` (WIRE.md §7.7). A proxy loads on
    /// the container's first lookup and unloads when the container leaves the foreground, stops, or
    /// holds no reference to it any more. Runs on a pool thread, one-way. Default: nothing.
    func onContainerProxy(_ container: UInt32, loaded: Bool)
}

extension BinderObject {
    public var acceptsFileDescriptors: Bool { false }
    public func onLastReferenceReleased() {}
    public func onContainerProxy(_ container: UInt32, loaded: Bool) {}
}

/// A reference to an object: what `getService` returns. Usually the object lives in another
/// process and calls go through the broker; when a process looks up an object it published itself,
/// the proxy calls it directly on the calling thread (as Binder hands back the local `BBinder`).
public final class BinderProxy: Sendable, Hashable, CustomStringConvertible {
    /// The handle in this process, or nil for a local object.
    public let handle: UInt32?
    public let connection: BinderConnection
    let local: (any BinderObject)?
    /// A direct channel to the object (DirectChannel.swift), and the object's cookie there.
    let direct: DirectChannelEnd?
    let cookie: UInt64

    init(handle: UInt32, connection: BinderConnection) {
        self.handle = handle
        self.connection = connection
        self.local = nil
        self.direct = nil
        self.cookie = 0
        connection.holdHandle(handle)
    }

    init(local: any BinderObject, connection: BinderConnection) {
        self.handle = nil
        self.connection = connection
        self.local = local
        self.direct = nil
        self.cookie = 0
    }

    init(direct: DirectChannelEnd, cookie: UInt64, handle: UInt32, connection: BinderConnection) {
        self.handle = handle
        self.connection = connection
        self.local = nil
        self.direct = direct
        self.cookie = cookie
        connection.holdHandle(handle)
    }

    deinit {
        // The channel is this proxy's alone: nothing else can call on it.
        direct?.close()
        // Its hold on the handle goes; the last one gives the handle back (References.swift).
        if let handle, local == nil, handle != ServiceManagerInterface.handle { connection.dropReferences([.handle(handle)]) }
    }

    public var isLocal: Bool { local != nil }

    /// A blocking call. For a one-way call the returned parcel is empty.
    /// - Parameter timeout: how long to wait for the reply (WIRE.md §3.2). At the deadline the call
    ///   fails with `TIMED_OUT`, even while the service still runs it; the broker and the service's
    ///   runtime do not start it once it expired. nil: no limit of its own, but a call made while
    ///   serving one with a deadline inherits that deadline.
    /// - Throws: `StatusCode` for transport failures (`DEAD_OBJECT`, `FAILED_TRANSACTION`, …).
    @discardableResult
    public func transact(code: UInt32, data: Parcel = Parcel(), flags: TransactionFlags = [], timeout: Duration? = nil) throws(StatusCode) -> Parcel {
        if let local { return try connection.transactLocal(local, code: code, data: data, flags: flags, timeout: timeout) }
        if let direct { return try direct.transactBlocking(target: cookie, code: code, data: data, flags: flags, timeout: timeout) }
        return try connection.transact(handle: handle!, code: code, data: data, flags: flags, timeout: timeout)
    }

    /// The same call without blocking a thread.
    @discardableResult
    public func transact(code: UInt32, data: Parcel = Parcel(), flags: TransactionFlags = [], timeout: Duration? = nil) async throws(StatusCode) -> Parcel {
        if let local { return try connection.transactLocal(local, code: code, data: data, flags: flags, timeout: timeout) }
        if let direct { return try await direct.transactAsync(target: cookie, code: code, data: data, flags: flags, timeout: timeout) }
        return try await connection.transact(handle: handle!, code: code, data: data, flags: flags, timeout: timeout)
    }

    public static func == (a: BinderProxy, b: BinderProxy) -> Bool {
        a.connection === b.connection && a.handle == b.handle && a.local.map(ObjectIdentifier.init) == b.local.map(ObjectIdentifier.init)
            && a.direct === b.direct
    }
    public func hash(into h: inout Hasher) { h.combine(handle) }
    public var description: String {
        guard let handle else { return "BinderProxy(local)" }
        return direct == nil ? "BinderProxy(handle: \(handle))" : "BinderProxy(handle: \(handle), direct)"
    }
}
