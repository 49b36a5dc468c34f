#if canImport(Glibc)
import Glibc
#endif
import SystemPackage

/// A failed system call: the call's name and its errno (swift-system's `Errno` names and
/// describes it).
///
/// Classification happens once, here: `EINTR` is retried by the wrappers and never escapes;
/// `EAGAIN` is returned as a value where a caller can use it; everything else is thrown.
public struct SystemError: Error, CustomStringConvertible, Equatable, Sendable {
    public var call: String
    /// The raw errno, as the kernel and the shims return it.
    public var errno: Int32
    public init(_ call: String, _ errno: Int32) {
        self.call = call
        self.errno = errno
    }
    public init(_ call: String, _ code: Errno) { self.init(call, code.rawValue) }

    /// The errno as swift-system names it.
    public var code: Errno { Errno(rawValue: errno) }

    public var description: String { "\(call): \(code.description)" }

    /// EPIPE, for code outside this module that reports a hang-up the way a socket does.
    public static let brokenPipe = Errno.brokenPipe.rawValue

    /// The peer is gone: ECONNRESET, EPIPE, ENOTCONN, or EBADF (this side's fd was closed because
    /// the connection ended).
    public var isDisconnect: Bool { [.connectionReset, .brokenPipe, .socketNotConnected, .badFileDescriptor].contains(code) }
    /// The peer closed a connected socket with data of ours unread (ECONNRESET).
    public var isReset: Bool { code == .connectionReset }
    /// Nothing to read, or no room to write, on a non-blocking call.
    public var isWouldBlock: Bool { code == .resourceTemporarilyUnavailable || code == .wouldBlock }
}

@inline(__always)
func currentErrno() -> Int32 { Glibc.errno }

/// Calls `body` until it does not fail with EINTR; throws on -1.
@inline(__always)
func retrying<T: FixedWidthInteger>(_ call: String, _ body: () -> T) throws(SystemError) -> T {
    while true {
        let r = body()
        if r != -1 { return r }
        let e = currentErrno()
        if e != Errno.interrupted.rawValue { throw SystemError(call, e) }
    }
}

/// Converts a shim's `-errno` return into a throw.
@inline(__always)
func checkNegErrno<T: FixedWidthInteger & SignedInteger>(_ call: String, _ r: T) throws(SystemError) -> T {
    if r < 0 { throw SystemError(call, Int32(truncatingIfNeeded: -r)) }
    return r
}
