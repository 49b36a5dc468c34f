import BinderWire
import Synchronization

// Runtime support for the Swift that `binder-aidl` generates (Protocols/AIDL.md). Generated code
// stays thin: it calls these helpers for everything beyond one `Parcel` read or write.

/// A value generated code can read and write without knowing its type: AIDL parcelables, unions
/// and enums, and the types a generic parcelable's type parameters may stand for.
public protocol AIDLValue: Sendable {
    /// The AIDL default: zero, false, empty, or a parcelable's field defaults.
    init()
    /// - Throws: `StatusCode` for malformed data (`BAD_VALUE`, `NOT_ENOUGH_DATA`, `UNEXPECTED_NULL`).
    static func read(from parcel: inout Parcel, connection: BinderConnection?) throws(StatusCode) -> Self
    /// - Parameter connection: publishes local objects held by the value (nil if there are none).
    func write(to parcel: inout Parcel, connection: BinderConnection?)
}

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
    // MARK: Interface token (AOSP writeInterfaceToken / enforceInterface)

    /// Writes the descriptor at the start of a request, so a stub can tell a call meant for
    /// another interface.
    public mutating func writeInterfaceToken(_ descriptor: String) { write(descriptor) }

    /// - Throws: `BAD_TYPE` when the request was written for another interface.
    public mutating func enforceInterface(_ descriptor: String) throws(StatusCode) {
        // Every call of a Stub starts here: compare the token's bytes in place rather than decode
        // a String (a heap allocation for a descriptor longer than 15 bytes). Anything else is
        // decoded as before, so malformed tokens fail as `readString` does.
        let start = readPosition
        let length = try read(Int32.self)
        let padded = (Int(length) + 3) & ~3
        if length >= 0, remaining >= padded, bytes[readPosition..<readPosition + Int(length)].elementsEqual(descriptor.utf8) {
            readPosition += padded
            return
        }
        readPosition = start
        guard try readString() == descriptor else { throw .badType }
    }

    // MARK: IBinder and interfaces

    public mutating func write(binder: BinderProxy?) { write(object: binder?.objectRef ?? .null) }

    /// - Throws: `BAD_VALUE` for a reference with no connection to resolve it (a parcelable read
    ///   without one) or a local cookie this process never published.
    public mutating func readBinder(connection: BinderConnection?) throws(StatusCode) -> BinderProxy? {
        let ref = try readObject()
        if ref.kind == .null { return nil }
        guard let connection else { throw .badValue }
        return try connection.proxy(for: ref)
    }

    public mutating func readNonNullBinder(connection: BinderConnection?) throws(StatusCode) -> BinderProxy {
        guard let b = try readBinder(connection: connection) else { throw .unexpectedNull }
        return b
    }

    /// Writes an interface-typed value: a proxy as its reference, a local implementation as a
    /// published stub (`makeStub` is called once per implementation object).
    public mutating func write<I>(interface value: I?, connection: BinderConnection?, makeStub: (I) -> any BinderObject) {
        guard let value else { return write(object: .null) }
        if let proxy = value as? any AIDLProxy { return write(binder: proxy.binder) }
        guard let connection else { return write(object: .null) }
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

    public mutating func readInterface<P>(connection: BinderConnection?, _ makeProxy: (BinderProxy) -> P) throws(StatusCode) -> P? {
        try readBinder(connection: connection).map(makeProxy)
    }

    public mutating func readNonNullInterface<P>(connection: BinderConnection?, _ makeProxy: (BinderProxy) -> P) throws(StatusCode) -> P {
        makeProxy(try readNonNullBinder(connection: connection))
    }

    // MARK: Non-null and fixed-size arrays

    public mutating func write(nullableBytes value: [UInt8]?) {
        guard let value else { return write(Int32(-1)) }
        write(bytes: value)
    }

    public mutating func readNonNullBytes() throws(StatusCode) -> [UInt8] {
        guard let b = try readBytes() else { throw .unexpectedNull }
        return b
    }

    public mutating func readNonNullArray<T>(_ element: (inout Parcel) throws(StatusCode) -> T) throws(StatusCode) -> [T] {
        guard let a = try readArray(element) else { throw .unexpectedNull }
        return a
    }

    /// A fixed-size array `T[N]`: written as an ordinary array; a count other than N is `BAD_VALUE`.
    public mutating func readFixedArray<T>(count: Int, _ element: (inout Parcel) throws(StatusCode) -> T) throws(StatusCode) -> [T]? {
        guard let a = try readArray(element) else { return nil }
        guard a.count == count else { throw .badValue }
        return a
    }

    public mutating func readNonNullFixedArray<T>(count: Int, _ element: (inout Parcel) throws(StatusCode) -> T) throws(StatusCode) -> [T] {
        guard let a = try readFixedArray(count: count, element) else { throw .unexpectedNull }
        return a
    }

    /// `byte[N]`: packed like `byte[]`; a length other than N is `BAD_VALUE`.
    public mutating func readFixedBytes(count: Int) throws(StatusCode) -> [UInt8]? {
        guard let b = try readBytes() else { return nil }
        guard b.count == count else { throw .badValue }
        return b
    }

    public mutating func readNonNullFixedBytes(count: Int) throws(StatusCode) -> [UInt8] {
        guard let b = try readFixedBytes(count: count) else { throw .unexpectedNull }
        return b
    }

    // MARK: Maps: i32 count (-1 = null), then key, value, key, value, …

    public mutating func write<K, V>(map: [K: V]?, _ key: (inout Parcel, K) -> Void, _ value: (inout Parcel, V) -> Void) {
        guard let map else { return write(Int32(-1)) }
        write(Int32(map.count))
        for (k, v) in map {
            key(&self, k)
            value(&self, v)
        }
    }

    public mutating func readMap<K: Hashable, V>(
        _ key: (inout Parcel) throws(StatusCode) -> K, _ value: (inout Parcel) throws(StatusCode) -> V
    ) throws(StatusCode) -> [K: V]? {
        let count = try read(Int32.self)
        if count == -1 { return nil }
        guard count >= 0, Int(count) <= remaining / 8 else { throw .badValue }
        var out: [K: V] = [:]
        out.reserveCapacity(Int(count))
        for _ in 0..<count {
            let k = try key(&self)
            out[k] = try value(&self)
        }
        return out
    }

    public mutating func readNonNullMap<K: Hashable, V>(
        _ key: (inout Parcel) throws(StatusCode) -> K, _ value: (inout Parcel) throws(StatusCode) -> V
    ) throws(StatusCode) -> [K: V] {
        guard let m = try readMap(key, value) else { throw .unexpectedNull }
        return m
    }

    // MARK: File descriptors

    public mutating func readNonNullFileDescriptor() throws(StatusCode) -> ParcelFileDescriptor {
        guard let fd = try readFileDescriptor() else { throw .unexpectedNull }
        return fd
    }
}

/// `@nullable(heap=true)` fields: the value lives in a box, so a parcelable can hold itself.
@propertyWrapper
public struct AIDLIndirect<Value: Sendable>: Sendable {
    private final class Box: Sendable {
        let value: Value
        init(_ value: Value) { self.value = value }
    }
    private var box: Box
    public init(wrappedValue: Value) { box = Box(wrappedValue) }
    public var wrappedValue: Value {
        get { box.value }
        set { box = Box(newValue) }
    }
}

extension AIDLIndirect: Equatable where Value: Equatable {
    public static func == (a: Self, b: Self) -> Bool { a.wrappedValue == b.wrappedValue }
}

// MARK: AIDLValue for the types a generic parcelable's parameters may stand for

extension Bool: AIDLValue {
    public static func read(from parcel: inout Parcel, connection: BinderConnection?) throws(StatusCode) -> Bool { try parcel.readBool() }
    public func write(to parcel: inout Parcel, connection: BinderConnection?) { parcel.write(self) }
}

extension Int8: AIDLValue {}
extension UInt16: AIDLValue {}
extension Int32: AIDLValue {}
extension Int64: AIDLValue {}

extension FixedWidthInteger where Self: AIDLValue {
    public static func read(from parcel: inout Parcel, connection: BinderConnection?) throws(StatusCode) -> Self { try parcel.read(Self.self) }
    public func write(to parcel: inout Parcel, connection: BinderConnection?) { parcel.write(self) }
}

extension Float: AIDLValue {
    public static func read(from parcel: inout Parcel, connection: BinderConnection?) throws(StatusCode) -> Float { try parcel.readFloat() }
    public func write(to parcel: inout Parcel, connection: BinderConnection?) { parcel.write(self) }
}

extension Double: AIDLValue {
    public static func read(from parcel: inout Parcel, connection: BinderConnection?) throws(StatusCode) -> Double { try parcel.readDouble() }
    public func write(to parcel: inout Parcel, connection: BinderConnection?) { parcel.write(self) }
}

extension String: AIDLValue {
    public static func read(from parcel: inout Parcel, connection: BinderConnection?) throws(StatusCode) -> String { try parcel.readNonNullString() }
    public func write(to parcel: inout Parcel, connection: BinderConnection?) { parcel.write(self) }
}

extension Array: AIDLValue where Element: AIDLValue {
    public static func read(from parcel: inout Parcel, connection: BinderConnection?) throws(StatusCode) -> [Element] {
        try parcel.readNonNullArray { (p: inout Parcel) throws(StatusCode) -> Element in try Element.read(from: &p, connection: connection) }
    }
    public func write(to parcel: inout Parcel, connection: BinderConnection?) {
        parcel.write(array: self) { p, e in e.write(to: &p, connection: connection) }
    }
}

extension BinderConnection {
    /// A binder for a local object, to pass where AIDL expects an `IBinder`; other processes
    /// receive a handle to it, this process gets the object back.
    public func binder(for object: any BinderObject) -> BinderProxy {
        BinderProxy(local: object, connection: self)
    }
}
