/// The fixed 64-byte frame header that starts every message on both planes.
///
/// Layout (little-endian, see `Protocols/WIRE.md` §3):
/// ```
///  0  u8   version          (FrameHeader.version, 1)
///  1  u8   command          (Command)
///  2  u16  flags            (TransactionFlags)
///  4  u32  dataLength       parcel bytes after the header, a multiple of 4
///  8  u64  transactionID
/// 16  u64  target           handle (to the broker) or object cookie (from the broker)
/// 24  u32  code             transaction code
/// 28  i32  status           StatusCode (replies), 0 otherwise
/// 32  u16  fdCount          fds carried as SCM_RIGHTS with this message
/// 34  u16  objectCount      u32 object offsets that follow the parcel data
/// 36  u32  senderPID        stamped by the broker; 0 from clients
/// 40  u32  senderUID        stamped by the broker; 0 from clients
/// 44  u32  senderContainer  stamped by the broker; 0 from clients
/// 48  u64  nestedIn         nested calls: see `nestedIn`
/// 56  u64  deadline         CLOCK_MONOTONIC nanoseconds; 0: none (TRANSACTION only)
/// ```
public struct FrameHeader: Equatable, Sendable {
    public static let size = 64
    public static let version: UInt8 = 1

    public var command: Command
    public var flags: TransactionFlags
    public var dataLength: UInt32
    public var transactionID: UInt64
    public var target: UInt64
    public var code: UInt32
    public var status: StatusCode
    public var fdCount: UInt16
    public var objectCount: UInt16
    public var sender: CallerIdentity
    /// Nested calls (WIRE.md §3.1). On a two-way TRANSACTION to the broker: the broker's ID of the
    /// call the sending thread is serving on this connection, 0 if none. On a TRANSACTION from the
    /// broker: the receiver's own ID of the outgoing call one of its threads is waiting on, which
    /// this call must run on (0: any thread). 0 on every other frame.
    public var nestedIn: UInt64
    /// The call's deadline (WIRE.md §3.2): the `CLOCK_MONOTONIC` instant, in nanoseconds, after
    /// which nobody waits for its answer any more; 0 for none. Only a TRANSACTION carries one: the
    /// broker fails a call that reaches it expired with `TIMED_OUT` without delivering it, and
    /// forwards the others with it unchanged; the callee's runtime does not start one that expired
    /// while it was queued. Every host process shares one `CLOCK_MONOTONIC` (containers here have
    /// no time namespace), so the instant needs no conversion between them.
    public var deadline: UInt64

    public init(
        command: Command, flags: TransactionFlags = [], dataLength: UInt32 = 0, transactionID: UInt64 = 0,
        target: UInt64 = 0, code: UInt32 = 0, status: StatusCode = .ok, fdCount: UInt16 = 0,
        objectCount: UInt16 = 0, sender: CallerIdentity = .none, nestedIn: UInt64 = 0, deadline: UInt64 = 0
    ) {
        self.command = command
        self.flags = flags
        self.dataLength = dataLength
        self.transactionID = transactionID
        self.target = target
        self.code = code
        self.status = status
        self.fdCount = fdCount
        self.objectCount = objectCount
        self.sender = sender
        self.nestedIn = nestedIn
        self.deadline = deadline
    }

    /// Total message length this header announces: header, parcel data, object offsets.
    public var frameLength: Int { FrameHeader.size + Int(dataLength) + 4 * Int(objectCount) }

    /// Writes the 64 header bytes at `base`.
    public func encode(into base: UnsafeMutableRawPointer) {
        base.storeBytes(of: FrameHeader.version, toByteOffset: 0, as: UInt8.self)
        base.storeBytes(of: command.rawValue, toByteOffset: 1, as: UInt8.self)
        base.storeBytes(of: flags.rawValue.littleEndian, toByteOffset: 2, as: UInt16.self)
        base.storeBytes(of: dataLength.littleEndian, toByteOffset: 4, as: UInt32.self)
        base.storeBytes(of: transactionID.littleEndian, toByteOffset: 8, as: UInt64.self)
        base.storeBytes(of: target.littleEndian, toByteOffset: 16, as: UInt64.self)
        base.storeBytes(of: code.littleEndian, toByteOffset: 24, as: UInt32.self)
        base.storeBytes(of: status.rawValue.littleEndian, toByteOffset: 28, as: Int32.self)
        base.storeBytes(of: fdCount.littleEndian, toByteOffset: 32, as: UInt16.self)
        base.storeBytes(of: objectCount.littleEndian, toByteOffset: 34, as: UInt16.self)
        sender.encode(into: base)
        base.storeBytes(of: nestedIn.littleEndian, toByteOffset: 48, as: UInt64.self)
        base.storeBytes(of: deadline.littleEndian, toByteOffset: 56, as: UInt64.self)
    }

    public func encoded() -> [UInt8] {
        [UInt8](unsafeUninitializedCapacity: FrameHeader.size) { buffer, count in
            encode(into: UnsafeMutableRawPointer(buffer.baseAddress!))
            count = FrameHeader.size
        }
    }

    /// Decodes and validates a header from the first bytes of a received message.
    ///
    /// - Parameter messageLength: the length of the whole message, which must equal `frameLength`.
    /// - Throws: `FrameError` naming the first rule the bytes break.
    public static func decode(from bytes: UnsafeRawBufferPointer, messageLength: Int) throws(FrameError) -> FrameHeader {
        guard messageLength >= size, bytes.count >= size else { throw .tooShort(messageLength) }
        let base = bytes.baseAddress!
        let version = base.load(fromByteOffset: 0, as: UInt8.self)
        guard version == FrameHeader.version else { throw .unsupportedVersion(version) }
        let rawCommand = base.load(fromByteOffset: 1, as: UInt8.self)
        guard let command = Command(rawValue: rawCommand) else { throw .unknownCommand(rawCommand) }
        func u16(_ o: Int) -> UInt16 { UInt16(littleEndian: base.loadUnaligned(fromByteOffset: o, as: UInt16.self)) }
        func u32(_ o: Int) -> UInt32 { UInt32(littleEndian: base.loadUnaligned(fromByteOffset: o, as: UInt32.self)) }
        func u64(_ o: Int) -> UInt64 { UInt64(littleEndian: base.loadUnaligned(fromByteOffset: o, as: UInt64.self)) }
        let rawFlags = u16(2)
        guard rawFlags & ~TransactionFlags.known.rawValue == 0 else { throw .unknownFlags(rawFlags) }
        let deadline = u64(56)
        guard deadline == 0 || command == .transaction else { throw .deadlineNotAllowed(command) }
        let header = FrameHeader(
            command: command, flags: TransactionFlags(rawValue: rawFlags), dataLength: u32(4),
            transactionID: u64(8), target: u64(16), code: u32(24), status: StatusCode(rawValue: Int32(bitPattern: u32(28))),
            fdCount: u16(32), objectCount: u16(34),
            sender: CallerIdentity(pid: Int32(bitPattern: u32(36)), uid: u32(40), container: u32(44)), nestedIn: u64(48),
            deadline: deadline)
        guard header.dataLength % 4 == 0 else { throw .misalignedData(header.dataLength) }
        guard header.frameLength == messageLength else {
            throw .lengthMismatch(announced: header.frameLength, received: messageLength)
        }
        return header
    }
}

/// Who made a call, as the broker stamped it (never as the caller claimed): the stamp the broker
/// writes into every frame it forwards (header bytes 36..<48), and what a service reads as
/// `TransactionContext.caller`. Clients must send zeros: a non-zero stamp from a client is a
/// forgery and is refused. The pid is the caller's as the receiver's container sees it (0 when
/// the caller is not visible there); on the wire it is its u32 bit pattern.
public struct CallerIdentity: Equatable, Sendable, CustomStringConvertible {
    public var pid: Int32
    public var uid: UInt32
    /// The caller's container: 0 is the root namespace.
    public var container: UInt32
    /// The stamp a client sends: all zeros.
    public static let none = CallerIdentity(pid: 0, uid: 0, container: 0)
    public init(pid: Int32, uid: UInt32, container: UInt32) {
        self.pid = pid
        self.uid = uid
        self.container = container
    }
    public func encode(into base: UnsafeMutableRawPointer) {
        base.storeBytes(of: UInt32(bitPattern: pid).littleEndian, toByteOffset: 36, as: UInt32.self)
        base.storeBytes(of: uid.littleEndian, toByteOffset: 40, as: UInt32.self)
        base.storeBytes(of: container.littleEndian, toByteOffset: 44, as: UInt32.self)
    }
    public var description: String { "pid=\(pid) uid=\(uid) container=\(container)" }
}

/// Frame commands (header byte 1).
public enum Command: UInt8, Sendable {
    /// Client → broker, first frame on a connection. Parcel: `Hello`.
    case hello = 1
    /// Broker → client, answer to `hello`. Parcel: `Welcome`.
    case welcome = 2
    /// A call on `target`. Two-way unless `TransactionFlags.oneWay`.
    case transaction = 3
    /// The answer to a two-way transaction, matched by `transactionID`; `status` is the transport
    /// status. The broker also answers each one-way transaction with one (its acknowledgement).
    case reply = 4
    /// Client → broker: one-way calls finished (`code` calls, `target` bytes), freeing that much of
    /// the process's incoming buffer (WIRE.md §5.1).
    case free = 5
    /// Broker → client: every pool thread is busy; start another one (WIRE.md §5.2).
    case spawnThread = 6
    /// Client → broker: how many pool threads it now runs (`code`) (WIRE.md §5.2).
    case threads = 7
    /// Client → broker: the process drops handle `target`, giving back the `transactionID`
    /// references the broker delivered to it (WIRE.md §4.4).
    case release = 8
    /// Broker → owner: no other process holds a reference to object `target` (its cookie) any more;
    /// `transactionID` counts the references to it the broker read from the owner since the last
    /// such notice (WIRE.md §4.4).
    case released = 9
}

/// Transaction flags (header bytes 2..<4).
public struct TransactionFlags: OptionSet, Sendable, Hashable {
    public let rawValue: UInt16
    public init(rawValue: UInt16) { self.rawValue = rawValue }
    /// No reply is expected; calls to one object are delivered in order.
    public static let oneWay = TransactionFlags(rawValue: 0x0001)
    /// The caller accepts file descriptors in the reply (the runtime sets it on every two-way call).
    /// A reply with fds to a call without it reaches the caller as `FDS_NOT_ALLOWED`.
    public static let acceptFDs = TransactionFlags(rawValue: 0x0010)
    public static let known: TransactionFlags = [.oneWay, .acceptFDs]
}

/// Why a received message is not a valid frame. Any of these disconnects the sender.
public enum FrameError: Error, Equatable, CustomStringConvertible {
    case tooShort(Int)
    case unsupportedVersion(UInt8)
    case unknownCommand(UInt8)
    case unknownFlags(UInt16)
    case deadlineNotAllowed(Command)
    case misalignedData(UInt32)
    case lengthMismatch(announced: Int, received: Int)
    case truncated(Int)
    case badObjectOffset(UInt32)

    public var description: String {
        switch self {
        case .tooShort(let n): "message of \(n) bytes is shorter than the \(FrameHeader.size)-byte header"
        case .unsupportedVersion(let v): "unsupported frame version \(v)"
        case .unknownCommand(let c): "unknown command \(c)"
        case .unknownFlags(let f): "unknown flag bits 0x\(String(f, radix: 16))"
        case .deadlineNotAllowed(let c): "a \(c) carries a deadline (header bytes 56..<64); only a transaction may"
        case .misalignedData(let n): "parcel length \(n) is not a multiple of 4"
        case .lengthMismatch(let a, let r): "header announces \(a) bytes but the message has \(r)"
        case .truncated(let n): "message larger than the negotiated maximum (\(n) bytes received, truncated)"
        case .badObjectOffset(let o): "object offset \(o) does not point at a whole object entry in the parcel"
        }
    }
}

extension FrameHeader {
    /// This header with `dataLength` and `objectCount` describing `parcel`.
    public func describing(_ parcel: Parcel) -> FrameHeader {
        var h = self
        h.dataLength = UInt32(parcel.count)
        h.objectCount = UInt16(parcel.objectOffsets.count)
        h.fdCount = UInt16(truncatingIfNeeded: parcel.fileDescriptors.count)
        return h
    }
}

extension Parcel {
    /// Writes a whole frame (`header` describing this parcel, the data, the object offsets) at
    /// `base`, which must hold `header.describing(self).frameLength` bytes.
    public func encodeFrame(header: FrameHeader, into base: UnsafeMutableRawPointer) {
        header.describing(self).encode(into: base)
        bytes.withUnsafeBytes { (base + FrameHeader.size).copyMemory(from: $0.baseAddress!, byteCount: $0.count) }
        var at = FrameHeader.size + count
        for offset in objectOffsets {
            base.storeBytes(of: offset.littleEndian, toByteOffset: at, as: UInt32.self)
            at += 4
        }
    }

    /// The whole frame as bytes (tests, tools; the hot paths send the parts without joining them).
    public func frameBytes(header: FrameHeader) -> [UInt8] {
        let length = header.describing(self).frameLength
        return [UInt8](unsafeUninitializedCapacity: length) { buffer, n in
            encodeFrame(header: header, into: UnsafeMutableRawPointer(buffer.baseAddress!))
            n = length
        }
    }
}
