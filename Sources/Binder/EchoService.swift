import BinderPlatform
import BinderWire
import Synchronization

/// The built-in echo service behind `binder echo serve`, used by tests, the demo and the benchmarks
/// (`Protocols/binder/IEcho.aidl`).
///
/// | code | call                                                                          |
/// |------|-------------------------------------------------------------------------------|
/// | 1    | echo: the reply is the request parcel, unchanged                              |
/// | 2    | whoAmI: `i32 0` (no exception), then the caller's `IEcho.Identity` parcelable |
/// | 3    | fail: replies with the transport status given as the request's i32           |
/// | 4    | writeFD: writes the bytes through the fd, replies `i32 0`, then i32 count     |
/// | 5    | echo dropping fds: like echo, but the reply carries no fds (`binder bench --fds`) |
/// | 6    | echoCount: `i32 0`, then the i64 count of echo calls (code 1) run so far     |
///
/// It accepts fds, so echo (code 1) also returns the fds of the request.
public final class EchoService: BinderObject {
    /// The codes are IEcho's, generated (BinderWire's `IEcho.Code`): this name is what callers
    /// that speak raw parcels to the service use.
    public typealias Code = IEcho.Code

    private let implementation = Implementation()
    private let stub: IEcho.Stub

    public init() { stub = IEcho.Stub(implementation) }

    /// Echo calls (code 1) this service has run.
    public var echoCount: Int64 { implementation.echoes.load(ordering: .relaxed) }

    public var acceptsFileDescriptors: Bool { true }

    public func onTransact(code: UInt32, data: inout Parcel, reply: inout Parcel, context: TransactionContext) throws {
        // Code 1 is the benchmarks' hot path and stays by hand: the reply is the request parcel
        // itself (one copy-on-write array, nothing decoded). AIDL cannot declare "reply = request",
        // and the generated Stub would add a code look-up, a task-local context push and an
        // exception header to every round trip.
        if code == Code.echo.rawValue {
            implementation.echoes.add(1, ordering: .relaxed)
            reply = data
            return
        }
        if code == Code.echoDroppingFDs.rawValue {
            // Like echo, by hand for the same reason; the request's fds close with `data`.
            reply = Parcel(bytes: data.bytes, objectOffsets: data.objectOffsets)
            return
        }
        try stub.onTransact(code: code, data: &data, reply: &reply, context: context)
    }

    private final class Implementation: IEcho.Interface {
        /// Echo calls (code 1) run: one relaxed atomic add per call (`binder echo count`, and the
        /// tests that check a call ran exactly once).
        let echoes = Atomic<Int64>(0)

        func echo() throws {}  // never called: code 1 is answered above

        func echoCount() throws -> Int64 { echoes.load(ordering: .relaxed) }

        func whoAmI() throws -> IEcho.Identity {
            guard let caller = TransactionContext.current?.caller else { throw StatusCode.invalidOperation }
            return IEcho.Identity(pid: caller.pid, uid: Int32(bitPattern: caller.uid), container: Int32(bitPattern: caller.container))
        }

        func fail(status: Int32) throws { throw StatusCode(rawValue: status) }

        func echoDroppingFDs() throws {}  // never called: code 5 is answered above

        func writeFD(fd: ParcelFileDescriptor, bytes: [UInt8]) throws -> Int32 {
            try bytes.withUnsafeBytes { raw in try FileDescriptor.writeAll(fd.fd, raw) }
            return Int32(bytes.count)
        }
    }
}
