// The values `binder-aidl` generates (Protocols/AIDL.md): parcelables, unions, enums and the
// types a generic parcelable's parameters may stand for. They live here, below the runtime, so
// that a module which links only BinderWire (the broker) uses the same generated types and codes
// as the clients instead of a hand-written twin.

/// What a value needs from the runtime to read and write the binder objects it holds: a proxy for
/// each reference it reads, and a reference for each of this process's objects it writes.
///
/// Why a protocol: the values are defined here, below the runtime that owns binder objects
/// (`Binder`, whose `BinderConnection` is the resolver), so a value type names no runtime type.
/// A value with no binder or interface field never consults its resolver and is read and written
/// without one (`read(from:)`, `write(to:)`); the broker, which links no runtime, does just that.
/// Values that do hold binders are generated only into modules that link the runtime, and the
/// runtime's own parcel helpers turn the resolver back into its connection (AIDLRuntime.swift).
public protocol BinderResolver: AnyObject, Sendable {
    /// How the runtime represents a reference it received (`Binder`: `BinderProxy`).
    associatedtype Proxy
    /// How it represents one of this process's own objects (`Binder`: `any BinderObject`).
    associatedtype LocalObject
    /// The binder a reference read from a parcel stands for; nil for `.null`.
    /// - Throws: `BAD_VALUE` for a local cookie this process never published.
    func proxy(for reference: ObjectRef) throws(StatusCode) -> Proxy?
    /// Publishes one of this process's objects (on first use) and returns the reference to write.
    func publish(_ object: LocalObject) -> ObjectRef
}

/// A value generated code can read and write without knowing its type: AIDL parcelables, unions
/// and enums, and the types a generic parcelable's type parameters may stand for.
public protocol AIDLValue: Sendable {
    /// The AIDL default: zero, false, empty, or a parcelable's field defaults.
    init()
    /// - Parameter resolver: makes proxies of the references the value holds (nil if it holds none).
    /// - Throws: `StatusCode` for malformed data (`BAD_VALUE`, `NOT_ENOUGH_DATA`, `UNEXPECTED_NULL`),
    ///   and `BAD_VALUE` for a non-null reference read with no resolver.
    static func read(from parcel: inout Parcel, resolver: (any BinderResolver)?) throws(StatusCode) -> Self
    /// - Parameter resolver: publishes local objects held by the value (nil if there are none; a
    ///   local object written without one is written as null).
    func write(to parcel: inout Parcel, resolver: (any BinderResolver)?)
}

extension AIDLValue {
    /// Reads a value that holds no binder objects (a reference in it is `BAD_VALUE`).
    public static func read(from parcel: inout Parcel) throws(StatusCode) -> Self {
        try read(from: &parcel, resolver: nil)
    }

    /// Writes a value that holds no local objects (one it holds is written as null).
    public func write(to parcel: inout Parcel) { write(to: &parcel, resolver: nil) }
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
    public static func read(from parcel: inout Parcel, resolver: (any BinderResolver)?) throws(StatusCode) -> Bool { try parcel.readBool() }
    public func write(to parcel: inout Parcel, resolver: (any BinderResolver)?) { parcel.write(self) }
}

extension Int8: AIDLValue {}
extension UInt16: AIDLValue {}
extension Int32: AIDLValue {}
extension Int64: AIDLValue {}

extension FixedWidthInteger where Self: AIDLValue {
    public static func read(from parcel: inout Parcel, resolver: (any BinderResolver)?) throws(StatusCode) -> Self { try parcel.read(Self.self) }
    public func write(to parcel: inout Parcel, resolver: (any BinderResolver)?) { parcel.write(self) }
}

extension Float: AIDLValue {
    public static func read(from parcel: inout Parcel, resolver: (any BinderResolver)?) throws(StatusCode) -> Float { try parcel.readFloat() }
    public func write(to parcel: inout Parcel, resolver: (any BinderResolver)?) { parcel.write(self) }
}

extension Double: AIDLValue {
    public static func read(from parcel: inout Parcel, resolver: (any BinderResolver)?) throws(StatusCode) -> Double { try parcel.readDouble() }
    public func write(to parcel: inout Parcel, resolver: (any BinderResolver)?) { parcel.write(self) }
}

extension String: AIDLValue {
    public static func read(from parcel: inout Parcel, resolver: (any BinderResolver)?) throws(StatusCode) -> String { try parcel.readNonNullString() }
    public func write(to parcel: inout Parcel, resolver: (any BinderResolver)?) { parcel.write(self) }
}

extension Array: AIDLValue where Element: AIDLValue {
    public static func read(from parcel: inout Parcel, resolver: (any BinderResolver)?) throws(StatusCode) -> [Element] {
        try parcel.readNonNullArray { (p: inout Parcel) throws(StatusCode) -> Element in try Element.read(from: &p, resolver: resolver) }
    }
    public func write(to parcel: inout Parcel, resolver: (any BinderResolver)?) {
        parcel.write(array: self) { p, e in e.write(to: &p, resolver: resolver) }
    }
}
