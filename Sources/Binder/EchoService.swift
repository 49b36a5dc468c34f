import BinderPlatform
import BinderWire

/// The built-in echo service behind `binder echo serve`, used by tests, the demo and the benchmarks.
///
/// | code | call                                                                 |
/// |------|----------------------------------------------------------------------|
/// | 1    | echo: the reply is the request parcel, unchanged                     |
/// | 2    | whoami: replies `i32 pid, i32 uid, i32 container` of the caller      |
/// | 3    | fail: replies with the transport status given as the request's i32   |
/// | 4    | writeFD: takes an fd and bytes, writes the bytes through the fd, replies i32 count |
/// | 5    | sink fds: like echo, but the reply carries no fds (the request's are closed) |
///
/// It accepts fds, so echo (code 1) also returns the fds of the request.
public final class EchoService: BinderObject {
    public enum Code: UInt32 {
        case echo = 1
        case whoAmI = 2
        case fail = 3
        case writeFD = 4
        case echoDroppingFDs = 5
    }
    public init() {}

    public var acceptsFileDescriptors: Bool { true }

    public func onTransact(code: UInt32, data: inout Parcel, reply: inout Parcel, context: TransactionContext) throws {
        switch Code(rawValue: code) {
        case .echo:
            reply = data
        case .whoAmI:
            reply.write(context.caller.pid)
            reply.write(context.caller.uid)
            reply.write(context.caller.container)
        case .fail:
            throw StatusCode(rawValue: try data.read(Int32.self))
        case .echoDroppingFDs:
            reply = Parcel(bytes: data.bytes, objectOffsets: data.objectOffsets)
        case .writeFD:
            guard let fd = try data.readFileDescriptor() else { throw StatusCode.unexpectedNull }
            let bytes = try data.readBytes() ?? []
            try bytes.withUnsafeBytes { raw in try FileDescriptor.writeAll(fd.fd, raw) }
            reply.write(Int32(bytes.count))
        case nil:
            throw StatusCode.unknownTransaction
        }
    }
}
