/// Transport status of a transaction: whether it was delivered and answered at all.
/// Carried in the frame header's `status` field of a `reply`. Values are Android's `status_t`.
///
/// Errors a service reports about the call itself travel inside the reply parcel instead
/// (`ExceptionCode`), as Binder separates `status_t` from `binder::Status`.
public struct StatusCode: RawRepresentable, Hashable, Sendable, Error, CustomStringConvertible {
    public let rawValue: Int32
    public init(rawValue: Int32) { self.rawValue = rawValue }

    public static let ok = StatusCode(rawValue: 0)
    public static let unknownError = StatusCode(rawValue: Int32.min)
    public static let noMemory = StatusCode(rawValue: -12)
    public static let invalidOperation = StatusCode(rawValue: -38)
    public static let badValue = StatusCode(rawValue: -22)
    public static let badType = StatusCode(rawValue: Int32.min + 1)
    public static let nameNotFound = StatusCode(rawValue: -2)
    public static let permissionDenied = StatusCode(rawValue: -1)
    public static let noInit = StatusCode(rawValue: -19)
    public static let alreadyExists = StatusCode(rawValue: -17)
    /// The object's owner is gone (its process exited or its connection closed).
    public static let deadObject = StatusCode(rawValue: -32)
    /// The transaction could not be delivered (for example, the target's buffer is full).
    public static let failedTransaction = StatusCode(rawValue: Int32.min + 2)
    public static let badIndex = StatusCode(rawValue: -75)
    public static let notEnoughData = StatusCode(rawValue: -61)
    public static let wouldBlock = StatusCode(rawValue: -11)
    public static let timedOut = StatusCode(rawValue: -110)
    public static let unknownTransaction = StatusCode(rawValue: -74)
    public static let fdsNotAllowed = StatusCode(rawValue: Int32.min + 7)
    public static let unexpectedNull = StatusCode(rawValue: Int32.min + 8)

    static let names: [Int32: String] = [
        0: "OK", Int32.min: "UNKNOWN_ERROR", -12: "NO_MEMORY", -38: "INVALID_OPERATION", -22: "BAD_VALUE",
        Int32.min + 1: "BAD_TYPE", -2: "NAME_NOT_FOUND", -1: "PERMISSION_DENIED", -19: "NO_INIT",
        -17: "ALREADY_EXISTS", -32: "DEAD_OBJECT", Int32.min + 2: "FAILED_TRANSACTION", -75: "BAD_INDEX",
        -61: "NOT_ENOUGH_DATA", -11: "WOULD_BLOCK", -110: "TIMED_OUT", -74: "UNKNOWN_TRANSACTION",
        Int32.min + 7: "FDS_NOT_ALLOWED", Int32.min + 8: "UNEXPECTED_NULL",
    ]

    /// The Android name, e.g. `DEAD_OBJECT`.
    public var name: String { StatusCode.names[rawValue] ?? "STATUS(\(rawValue))" }
    public var description: String { name }
}

/// Errors a service reports, written at the start of an AIDL-style reply parcel
/// (`i32 code`, then for non-zero codes a `String` message, and for `serviceSpecific` an `i32`).
/// Values are Android's `binder::Status` exception codes.
public enum ExceptionCode: Int32, Sendable {
    case none = 0
    case security = -1
    case badParcelable = -2
    case illegalArgument = -3
    case nullPointer = -4
    case illegalState = -5
    case unsupportedOperation = -7
    case serviceSpecific = -8
    case transactionFailed = -129
}

/// A service-reported error: the `binder::Status` of an AIDL reply.
public struct ServiceError: Error, Equatable, Sendable, CustomStringConvertible {
    public var code: ExceptionCode
    public var message: String
    public var serviceSpecificCode: Int32
    public init(_ code: ExceptionCode, _ message: String, serviceSpecificCode: Int32 = 0) {
        self.code = code
        self.message = message
        self.serviceSpecificCode = serviceSpecificCode
    }
    public var description: String {
        code == .serviceSpecific ? "service error \(serviceSpecificCode): \(message)" : "\(code): \(message)"
    }
}

extension Parcel {
    /// Writes the AIDL reply header for success (`i32 0`).
    public mutating func writeNoException() { write(Int32(0)) }

    public mutating func writeException(_ error: ServiceError) {
        write(error.code.rawValue)
        write(error.message)
        if error.code == .serviceSpecific { write(error.serviceSpecificCode) }
    }

    /// Reads the AIDL reply header and throws the `ServiceError` it carries, if any.
    public mutating func readException() throws {
        let raw: Int32 = try read()
        if raw == 0 { return }
        let code = ExceptionCode(rawValue: raw) ?? .transactionFailed
        let message = try readString() ?? ""
        let specific: Int32 = code == .serviceSpecific ? try read() : 0
        throw ServiceError(code, message, serviceSpecificCode: specific)
    }
}
