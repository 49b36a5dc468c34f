// The parcel conventions generated code adds on top of WIRE.md §4 (Protocols/AIDL.md: interface
// tokens, non-null and fixed-size arrays, maps). Pure parcel work, so the values generated into
// BinderWire can use them; what needs binder objects or fds is in Binder's AIDLRuntime.swift.

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
}
