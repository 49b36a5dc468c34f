/// A container of typed values in Binder's machine-independent layout: little-endian,
/// every value padded to 4 bytes (as XDR does). See `Protocols/WIRE.md` §4.
///
/// | Swift value                         | bytes                                                    |
/// |-------------------------------------|----------------------------------------------------------|
/// | `Bool`                              | i32 0 or 1                                               |
/// | `Int8`, `UInt8`, `Int16`, `UInt16`  | i32, sign- or zero-extended                              |
/// | `Int32`, `UInt32`, `Float`          | 4 bytes                                                  |
/// | `Int64`, `UInt64`, `Double`         | 8 bytes, 4-byte aligned                                  |
/// | `String?`                           | i32 UTF-8 byte length (-1 = null), bytes, zero padding   |
/// | `[UInt8]?`                          | i32 length (-1 = null), bytes, zero padding              |
/// | `[T]?`                              | i32 count (-1 = null), elements                          |
/// | nullable value                      | i32 0 (null) or 1, then the value                        |
/// | parcelable                          | i32 size in bytes including this field, then fields      |
/// | file descriptor                     | i32 index into the frame's SCM_RIGHTS fds (-1 = null)    |
/// | object reference                    | 16 bytes: u32 kind, u32 flags, u64 cookie or handle      |
public struct Parcel: Sendable, Equatable {
    /// The parcel bytes; always a multiple of 4 long.
    public private(set) var bytes: [UInt8]
    /// Byte offsets of object references, in write order (sent after the data, see WIRE.md §3).
    public private(set) var objectOffsets: [UInt32]
    /// The fds the parcel carries, in SCM_RIGHTS order; the parcel's fd slots index this array.
    /// Each owner keeps its fd open for as long as the parcel (or anyone else) holds it.
    public private(set) var fileDescriptors: [any FileDescriptorOwner]
    /// Where the next read starts.
    public var readPosition: Int = 0
    /// An object that lives as long as the parcel and its copies: a received parcel keeps the
    /// handles it delivered held through it, so they are released once the last copy is gone.
    public var lifetime: (any AnyObject & Sendable)? = nil

    public init() {
        bytes = []
        objectOffsets = []
        fileDescriptors = []
    }

    /// A parcel over received bytes. `bytes.count` must be a multiple of 4.
    public init(bytes: [UInt8], objectOffsets: [UInt32] = [], fileDescriptors: [any FileDescriptorOwner] = []) {
        self.bytes = bytes
        self.objectOffsets = objectOffsets
        self.fileDescriptors = fileDescriptors
    }

    public init(reservingCapacity capacity: Int) {
        bytes = []
        bytes.reserveCapacity(capacity)
        objectOffsets = []
        fileDescriptors = []
    }

    /// Same bytes, object offsets and fd numbers (fd owners are compared by the fd they hold).
    public static func == (a: Parcel, b: Parcel) -> Bool {
        a.bytes == b.bytes && a.objectOffsets == b.objectOffsets && a.readPosition == b.readPosition
            && a.fileDescriptors.map(\.fd) == b.fileDescriptors.map(\.fd)
    }

    public var count: Int { bytes.count }
    public var remaining: Int { bytes.count - readPosition }

    /// Empties the parcel, keeping its storage for reuse.
    public mutating func removeAll() {
        bytes.removeAll(keepingCapacity: true)
        objectOffsets.removeAll(keepingCapacity: true)
        if !fileDescriptors.isEmpty { fileDescriptors.removeAll() }
        readPosition = 0
        lifetime = nil
    }

    /// Replaces the contents with received bytes, reusing storage.
    public mutating func replace(with data: UnsafeRawBufferPointer, objectOffsets offsets: UnsafeRawBufferPointer) {
        bytes.removeAll(keepingCapacity: true)
        bytes.append(contentsOf: data)
        objectOffsets.removeAll(keepingCapacity: true)
        var i = 0
        while i + 4 <= offsets.count {
            objectOffsets.append(UInt32(littleEndian: offsets.loadUnaligned(fromByteOffset: i, as: UInt32.self)))
            i += 4
        }
        if !fileDescriptors.isEmpty { fileDescriptors.removeAll() }
        readPosition = 0
        lifetime = nil
    }

    /// Attaches the fds that arrived with the received message this parcel was filled from.
    public mutating func attach(receivedFileDescriptors owners: [any FileDescriptorOwner]) {
        fileDescriptors = owners
    }

    // MARK: Writing

    @inline(__always)
    private mutating func appendLE<T: FixedWidthInteger>(_ value: T) {
        withUnsafeBytes(of: value.littleEndian) { bytes.append(contentsOf: $0) }
    }

    private mutating func pad() {
        while bytes.count % 4 != 0 { bytes.append(0) }
    }

    /// Writes an integer: 8-byte types take 8 bytes, all others 4 (sign- or zero-extended).
    public mutating func write<T: FixedWidthInteger>(_ value: T) {
        if T.bitWidth == 64 {
            appendLE(UInt64(truncatingIfNeeded: value))
        } else if T.isSigned {
            appendLE(Int32(truncatingIfNeeded: value))
        } else {
            appendLE(UInt32(truncatingIfNeeded: value))
        }
    }

    public mutating func write(_ value: Bool) { appendLE(Int32(value ? 1 : 0)) }
    public mutating func write(_ value: Float) { appendLE(value.bitPattern) }
    public mutating func write(_ value: Double) { appendLE(value.bitPattern) }

    /// Writes a string as UTF-8 with a byte-length prefix; `nil` is length -1.
    public mutating func write(_ value: String?) {
        guard var value else { return appendLE(Int32(-1)) }
        value.withUTF8 { utf8 in
            appendLE(Int32(utf8.count))
            bytes.append(contentsOf: utf8)
        }
        pad()
    }

    /// Writes a byte array with a length prefix; `nil` is length -1.
    public mutating func write(bytes value: some Collection<UInt8>) {
        appendLE(Int32(value.count))
        bytes.append(contentsOf: value)
        pad()
    }

    /// Writes raw bytes, padded to 4, with no length prefix.
    public mutating func writeRaw(_ raw: UnsafeRawBufferPointer) {
        bytes.append(contentsOf: raw)
        pad()
    }

    /// Writes an array as a count followed by each element; `nil` is count -1.
    public mutating func write<T>(array: [T]?, _ element: (inout Parcel, T) -> Void) {
        guard let array else { return appendLE(Int32(-1)) }
        appendLE(Int32(array.count))
        for e in array { element(&self, e) }
    }

    /// Writes a nullable value: i32 presence marker, then the value.
    public mutating func write<T>(nullable value: T?, _ body: (inout Parcel, T) -> Void) {
        guard let value else { return appendLE(Int32(0)) }
        appendLE(Int32(1))
        body(&self, value)
    }

    /// Writes a parcelable: a size field covering the whole parcelable, then its fields.
    public mutating func writeParcelable(_ body: (inout Parcel) -> Void) {
        let start = bytes.count
        appendLE(Int32(0))
        body(&self)
        let size = Int32(bytes.count - start)
        withUnsafeBytes(of: size.littleEndian) { src in
            for i in 0..<4 { bytes[start + i] = src[i] }
        }
    }

    /// Writes an object reference and records its offset so the broker can translate it.
    public mutating func write(object: ObjectRef) {
        if object.kind != .null { objectOffsets.append(UInt32(bytes.count)) }
        object.append(to: &bytes)
    }

    /// Writes a file-descriptor slot and attaches the fd: the slot holds its index in the frame's
    /// SCM_RIGHTS array (-1 = null). The owner stays referenced, so the fd stays open, until the
    /// parcel is sent or dropped; the receiver gets its own copy of the fd.
    public mutating func write(fileDescriptorOwner owner: (any FileDescriptorOwner)?) {
        guard let owner else { return appendLE(Int32(-1)) }
        appendLE(Int32(fileDescriptors.count))
        fileDescriptors.append(owner)
    }

    // MARK: Reading

    @inline(__always)
    private mutating func take(_ n: Int) throws(StatusCode) -> Int {
        guard n >= 0, remaining >= n else { throw .notEnoughData }
        defer { readPosition += n }
        return readPosition
    }

    @inline(__always)
    private func loadLE<T: FixedWidthInteger>(_ offset: Int, as: T.Type) -> T {
        bytes.withUnsafeBytes { T(littleEndian: $0.loadUnaligned(fromByteOffset: offset, as: T.self)) }
    }

    /// Reads an integer written by `write(_:)`; a 4-byte value that does not fit `T` is `BAD_VALUE`.
    public mutating func read<T: FixedWidthInteger>(_ type: T.Type = T.self) throws(StatusCode) -> T {
        if T.bitWidth == 64 {
            return T(truncatingIfNeeded: loadLE(try take(8), as: UInt64.self))
        }
        let at = try take(4)
        if T.isSigned {
            guard let v = T(exactly: loadLE(at, as: Int32.self)) else { throw .badValue }
            return v
        }
        guard let v = T(exactly: loadLE(at, as: UInt32.self)) else { throw .badValue }
        return v
    }

    public mutating func readBool() throws(StatusCode) -> Bool {
        switch try read(Int32.self) {
        case 0: false
        case 1: true
        default: throw .badValue
        }
    }

    public mutating func readFloat() throws(StatusCode) -> Float { Float(bitPattern: try read(UInt32.self)) }
    public mutating func readDouble() throws(StatusCode) -> Double { Double(bitPattern: try read(UInt64.self)) }

    private mutating func readLengthPrefixed() throws(StatusCode) -> Range<Int>? {
        let length = try read(Int32.self)
        if length == -1 { return nil }
        guard length >= 0 else { throw .badValue }
        let n = Int(length)
        let padded = (n + 3) & ~3
        guard remaining >= padded else { throw .notEnoughData }
        let start = try take(padded)
        return start..<start + n
    }

    /// Reads a string; invalid UTF-8 is `BAD_VALUE`.
    public mutating func readString() throws(StatusCode) -> String? {
        guard let range = try readLengthPrefixed() else { return nil }
        let s: String? = bytes.withUnsafeBufferPointer { all in
            String(validating: UnsafeBufferPointer(rebasing: all[range]), as: UTF8.self)
        }
        guard let s else { throw .badValue }
        return s
    }

    /// Reads a non-null string; null is `UNEXPECTED_NULL`.
    public mutating func readNonNullString() throws(StatusCode) -> String {
        guard let s = try readString() else { throw .unexpectedNull }
        return s
    }

    public mutating func readBytes() throws(StatusCode) -> [UInt8]? {
        guard let range = try readLengthPrefixed() else { return nil }
        return Array(bytes[range])
    }

    public mutating func readArray<T>(_ element: (inout Parcel) throws(StatusCode) -> T) throws(StatusCode) -> [T]? {
        let count = try read(Int32.self)
        if count == -1 { return nil }
        // Each element takes at least 4 bytes: refuse counts the data cannot hold before allocating.
        guard count >= 0, Int(count) <= remaining / 4 else { throw .badValue }
        var out: [T] = []
        out.reserveCapacity(Int(count))
        for _ in 0..<count { out.append(try element(&self)) }
        return out
    }

    public mutating func readNullable<T>(_ body: (inout Parcel) throws(StatusCode) -> T) throws(StatusCode) -> T? {
        switch try read(Int32.self) {
        case 0: return nil
        case 1: return try body(&self)
        default: throw .badValue
        }
    }

    /// Reads a parcelable written by `writeParcelable`; fields it does not read are skipped,
    /// so a newer writer may append fields.
    public mutating func readParcelable<T>(_ body: (inout Parcel) throws(StatusCode) -> T) throws(StatusCode) -> T {
        let end = try beginParcelable()
        let value = try body(&self)
        try endParcelable(end)
        return value
    }

    /// Reads a parcelable's size field; returns where the parcelable ends (generated readers read
    /// their fields between `beginParcelable` and `endParcelable`, as `readParcelable` does).
    public mutating func beginParcelable() throws(StatusCode) -> Int {
        let start = readPosition
        let size = try read(Int32.self)
        guard size >= 4, Int(size) % 4 == 0, Int(size) <= remaining + 4 else { throw .badValue }
        return start + Int(size)
    }

    /// Skips fields a newer writer appended; a reader that read past the end is `BAD_VALUE`.
    public mutating func endParcelable(_ end: Int) throws(StatusCode) {
        guard readPosition <= end else { throw .badValue }
        readPosition = end
    }

    /// The object references the parcel carries, in offset order; an entry of unknown kind is `BAD_TYPE`.
    public func objectReferences() throws(StatusCode) -> [ObjectRef] {
        var refs: [ObjectRef] = []
        refs.reserveCapacity(objectOffsets.count)
        for o in objectOffsets {
            guard Int(o) + ObjectRef.size <= bytes.count else { throw .badValue }
            refs.append(try ObjectRef.load(from: bytes, at: Int(o)))
        }
        return refs
    }

    public mutating func readObject() throws(StatusCode) -> ObjectRef {
        let at = try take(ObjectRef.size)
        return try ObjectRef.load(from: bytes, at: at)
    }

    /// Reads a file-descriptor slot: the attached fd it names, or nil for -1. An index with no
    /// attached fd is `BAD_VALUE`.
    public mutating func readFileDescriptorOwner() throws(StatusCode) -> (any FileDescriptorOwner)? {
        let index = try read(Int32.self)
        if index == -1 { return nil }
        guard index >= 0, Int(index) < fileDescriptors.count else { throw .badValue }
        return fileDescriptors[Int(index)]
    }
}

/// Something that holds an open fd for a parcel. The `Binder` module's `ParcelFileDescriptor` is
/// the one the runtime uses; this protocol keeps the wire module free of system calls.
public protocol FileDescriptorOwner: AnyObject, Sendable {
    var fd: Int32 { get }
}

/// An object reference inside a parcel (16 bytes, WIRE.md §4.3).
///
/// A process writes `.local(cookie)` for its own objects and `.handle(h)` for references it holds.
/// The broker rewrites each entry for the receiver, so a receiver sees `.local` only for its own
/// objects and `.handle` for everyone else's.
public struct ObjectRef: Equatable, Hashable, Sendable {
    public enum Kind: UInt32, Sendable {
        case null = 0
        /// An object owned by the writer; `id` is the owner's cookie for it.
        case local = 1
        /// A reference the writer holds; `id` is the writer's handle.
        case handle = 2
    }
    public static let size = 16
    /// Flag of a `.local` entry: the object accepts transactions that carry fds (Binder's
    /// FLAT_BINDER_FLAG_ACCEPTS_FDS). The broker records it when it first sees the object.
    public static let acceptsFDs: UInt32 = 0x100
    public var kind: Kind
    public var flags: UInt32
    public var id: UInt64

    public init(kind: Kind, id: UInt64, flags: UInt32 = 0) {
        self.kind = kind
        self.id = id
        self.flags = flags
    }
    public static let null = ObjectRef(kind: .null, id: 0)
    public static func local(_ cookie: UInt64) -> ObjectRef { ObjectRef(kind: .local, id: cookie) }
    public static func handle(_ handle: UInt32) -> ObjectRef { ObjectRef(kind: .handle, id: UInt64(handle)) }

    func append(to bytes: inout [UInt8]) {
        withUnsafeBytes(of: kind.rawValue.littleEndian) { bytes.append(contentsOf: $0) }
        withUnsafeBytes(of: flags.littleEndian) { bytes.append(contentsOf: $0) }
        withUnsafeBytes(of: id.littleEndian) { bytes.append(contentsOf: $0) }
    }

    static func load(from bytes: [UInt8], at offset: Int) throws(StatusCode) -> ObjectRef {
        let (rawKind, flags, id) = bytes.withUnsafeBytes { raw in
            (raw.loadUnaligned(fromByteOffset: offset, as: UInt32.self),
             raw.loadUnaligned(fromByteOffset: offset + 4, as: UInt32.self),
             raw.loadUnaligned(fromByteOffset: offset + 8, as: UInt64.self))
        }
        guard let kind = Kind(rawValue: UInt32(littleEndian: rawKind)) else { throw .badType }
        return ObjectRef(kind: kind, id: UInt64(littleEndian: id), flags: UInt32(littleEndian: flags))
    }

    /// Reads an entry at `p`; an unknown kind is `BAD_TYPE`.
    public static func load(from p: UnsafeRawPointer) throws(StatusCode) -> ObjectRef {
        let rawKind = UInt32(littleEndian: p.loadUnaligned(as: UInt32.self))
        guard let kind = Kind(rawValue: rawKind) else { throw .badType }
        return ObjectRef(
            kind: kind, id: UInt64(littleEndian: p.loadUnaligned(fromByteOffset: 8, as: UInt64.self)),
            flags: UInt32(littleEndian: p.loadUnaligned(fromByteOffset: 4, as: UInt32.self)))
    }

    /// Overwrites an entry in place (the broker's translation step).
    public func store(to p: UnsafeMutableRawPointer) {
        p.storeBytes(of: kind.rawValue.littleEndian, as: UInt32.self)
        p.storeBytes(of: flags.littleEndian, toByteOffset: 4, as: UInt32.self)
        p.storeBytes(of: id.littleEndian, toByteOffset: 8, as: UInt64.self)
    }
}
