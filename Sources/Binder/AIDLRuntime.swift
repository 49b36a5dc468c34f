import BinderWire
import Synchronization

// Runtime support for the Swift that `binder-aidl` generates (Protocols/AIDL.md). Generated code
// stays thin: it calls these helpers for everything beyond one `Parcel` read or write. The values
// (`AIDLValue`), and the parcel conventions that need no binder objects, are in BinderWire
// (AIDLValue.swift, AIDLParcel.swift); what is here needs the runtime's proxies and objects.

/// The client side of a generated interface: every `Proxy` wraps the `BinderProxy` it calls.
public protocol AIDLProxy: Sendable {
    var binder: BinderProxy { get }
}

/// Binder's special transaction codes that every generated `Stub` answers.
public enum AIDLTransaction {
    /// `INTERFACE_TRANSACTION` ('_NTF'): the reply is the interface descriptor, a String.
    public static let interface: UInt32 = 0x5F4E_5446
}

extension TransactionContext {
    /// The call this thread is serving (the innermost, for nested calls); nil outside a call. An
    /// AIDL method has no context parameter, so implementations read the caller's identity here
    /// (AOSP's `Binder.getCallingUid()`). Set by the runtime for every call it runs, generated
    /// `Stub` or not (ServedCalls.swift).
    public static var current: TransactionContext? { ServedCalls.current }
}

/// The connection resolves the references of the values it carries: generated code passes it as
/// the `resolver` of every value it reads or writes (its existing `proxy(for:)` and `publish(_:)`).
extension BinderConnection: BinderResolver {}

/// Local implementations passed as interface-typed arguments get one `Stub` each, for their
/// lifetime, so the same object keeps the same binder identity (needed, for example, to
/// unregister a callback). Entries are never released: when no other process holds the object any
/// more the connection drops the Stub from its table (WIRE.md §4.4), and publishing it again gives it a new cookie.
private let stubs = Mutex<[ObjectIdentifier: any BinderObject]>([:])

extension BinderProxy {
    /// The reference to write for this proxy: its handle, or its local object's cookie.
    var objectRef: ObjectRef {
        if let local { return connection.publish(local) }
        return .handle(handle!)
    }
}

extension Parcel {
    // MARK: IBinder and interfaces

    /// This runtime's values are read and written with its own resolver, the connection they
    /// travel on (generated code passes it). Any other resolver resolves nothing here, as none
    /// does: a reference read is `BAD_VALUE` and a local object written is null.
    private static func connection(_ resolver: (any BinderResolver)?) -> BinderConnection? {
        resolver as? BinderConnection
    }

    public mutating func write(binder: BinderProxy?) { write(object: binder?.objectRef ?? .null) }

    /// - Throws: `BAD_VALUE` for a reference with no connection to resolve it (a value read
    ///   without a resolver) or a local cookie this process never published.
    public mutating func readBinder(resolver: (any BinderResolver)?) throws(StatusCode) -> BinderProxy? {
        let ref = try readObject()
        if ref.kind == .null { return nil }
        guard let connection = Self.connection(resolver) else { throw .badValue }
        return try connection.proxy(for: ref)
    }

    public mutating func readNonNullBinder(resolver: (any BinderResolver)?) throws(StatusCode) -> BinderProxy {
        guard let b = try readBinder(resolver: resolver) else { throw .unexpectedNull }
        return b
    }

    /// Writes an interface-typed value: a proxy as its reference, a local implementation as a
    /// published stub (`makeStub` is called once per implementation object).
    public mutating func write<I>(interface value: I?, resolver: (any BinderResolver)?, makeStub: (I) -> any BinderObject) {
        guard let value else { return write(object: .null) }
        if let proxy = value as? any AIDLProxy { return write(binder: proxy.binder) }
        guard let connection = Self.connection(resolver) else { return write(object: .null) }
        if let object = value as? any BinderObject { return write(object: connection.publish(object)) }
        let key = ObjectIdentifier(value as AnyObject)
        let stub = stubs.withLock { table in
            if let s = table[key] { return s }
            let s = makeStub(value)
            table[key] = s
            return s
        }
        write(object: connection.publish(stub))
    }

    public mutating func readInterface<P>(resolver: (any BinderResolver)?, _ makeProxy: (BinderProxy) -> P) throws(StatusCode) -> P? {
        try readBinder(resolver: resolver).map(makeProxy)
    }

    public mutating func readNonNullInterface<P>(resolver: (any BinderResolver)?, _ makeProxy: (BinderProxy) -> P) throws(StatusCode) -> P {
        makeProxy(try readNonNullBinder(resolver: resolver))
    }

    // MARK: File descriptors

    public mutating func readNonNullFileDescriptor() throws(StatusCode) -> ParcelFileDescriptor {
        guard let fd = try readFileDescriptor() else { throw .unexpectedNull }
        return fd
    }
}

extension BinderConnection {
    /// A binder for a local object, to pass where AIDL expects an `IBinder`; other processes
    /// receive a handle to it, this process gets the object back.
    public func binder(for object: any BinderObject) -> BinderProxy {
        BinderProxy(local: object, connection: self)
    }
}
