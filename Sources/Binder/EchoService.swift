import BinderWire

/// The built-in echo service behind `binder echo serve`, used by tests, the demo and the benchmarks.
///
/// | code | call                                                                 |
/// |------|----------------------------------------------------------------------|
/// | 1    | echo: the reply is the request parcel, unchanged                     |
/// | 2    | whoami: replies `i32 pid, i32 uid, i32 container` of the caller      |
/// | 3    | fail: replies with the transport status given as the request's i32   |
public final class EchoService: BinderObject {
    public enum Code: UInt32 {
        case echo = 1
        case whoAmI = 2
        case fail = 3
    }
    public init() {}

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
        case nil:
            throw StatusCode.unknownTransaction
        }
    }
}
