import Binder
import BinderWire
import Synchronization

/// The `ITestTypes` implementation behind `binder test-types serve`, for the AIDL round-trip test:
/// each method returns what it was given, or a transformation the test can check.
public final class TestTypesService: ITestTypes.Interface {
    private let last = Mutex<Int32>(0)

    public init() {}

    public func repeatBoolean(v: Bool) throws -> Bool { v }
    public func repeatByte(v: Int8) throws -> Int8 { v }
    public func repeatChar(v: UInt16) throws -> UInt16 { v }
    public func repeatInt(v: Int32) throws -> Int32 { v }
    public func repeatLong(v: Int64) throws -> Int64 { v }
    public func repeatFloat(v: Float) throws -> Float { v }
    public func repeatDouble(v: Double) throws -> Double { v }
    public func repeatString(v: String) throws -> String { v }
    public func repeatNullableString(v: String?) throws -> String? { v }

    public func reverseInts(v: [Int32], copy: inout [Int32]) throws -> [Int32] {
        copy = v
        return v.reversed()
    }

    public func repeatBytes(v: [UInt8]) throws -> [UInt8] { v }
    public func repeatNullableStrings(v: [String]?) throws -> [String]? { v }
    public func repeatFixed(v: [Int64]) throws -> [Int64] { v }
    public func repeatList(v: [String]) throws -> [String] { v }
    public func repeatMap(v: [String: ITestTypes.Simple]) throws -> [String: ITestTypes.Simple] { v }
    public func repeatAllTypes(v: ITestTypes.AllTypes) throws -> ITestTypes.AllTypes { v }
    public func repeatNullableSimple(v: ITestTypes.Simple?) throws -> ITestTypes.Simple? { v }
    public func repeatByteEnum(v: ITestTypes.ByteEnum) throws -> ITestTypes.ByteEnum { v }
    public func repeatIntEnums(v: [ITestTypes.IntEnum]) throws -> [ITestTypes.IntEnum] { v }
    public func repeatValue(v: ITestTypes.Value) throws -> ITestTypes.Value { v }
    public func repeatPair(v: Pair<String, ITestTypes.Simple>) throws -> Pair<String, ITestTypes.Simple> { v }

    public func fillOut(seed: Int32, result: inout ITestTypes.AllTypes) throws {
        result = ITestTypes.AllTypes()
        result.i += seed
        result.list = ["seed \(seed)"]
    }

    public func doubleInOut(values: inout [Int32], simple: inout ITestTypes.Simple) throws {
        values = values.map { $0 * 2 }
        simple.number *= 2
    }

    public func callBack(callback: any ITestCallback.Interface, suffix: String) throws -> String {
        try callback.ping(n: 1)
        return try callback.name() + suffix
    }

    public func repeatCallback(callback: any ITestCallback.Interface) throws -> any ITestCallback.Interface { callback }
    public func repeatBinder(binder: BinderProxy) throws -> BinderProxy { binder }

    public func sendOneway(n: Int32) throws { last.withLock { $0 = n } }
    public func lastOneway() throws -> Int32 { last.withLock { $0 } }

    public func throwServiceSpecific(code: Int32, message: String) throws {
        throw ServiceError(.serviceSpecific, message, serviceSpecificCode: code)
    }

    public func repeatFd(fd: ParcelFileDescriptor?) throws -> ParcelFileDescriptor? { fd }

    public func callingUid() throws -> Int32 {
        guard let caller = TransactionContext.current?.caller else { throw StatusCode.invalidOperation }
        return Int32(bitPattern: caller.uid)
    }
}
