#if canImport(Glibc)
import Glibc
#endif

/// A failed system call: the call's name and its errno.
///
/// Classification happens once, here: `EINTR` is retried by the wrappers and never escapes;
/// `EAGAIN` is returned as a value where a caller can use it; everything else is thrown.
public struct SystemError: Error, CustomStringConvertible, Equatable, Sendable {
    public var call: String
    public var errno: Int32
    public init(_ call: String, _ errno: Int32) {
        self.call = call
        self.errno = errno
    }
    public var description: String {
        "\(call): \(String(cString: strerror(errno)))"
    }
    /// The peer is gone: ECONNRESET, EPIPE, ENOTCONN, or EBADF (this side's fd was closed because
    /// the connection ended).
    /// EPIPE, for code outside this module that reports a hang-up the way a socket does.
    public static let brokenPipe = EPIPE

    public var isDisconnect: Bool { errno == ECONNRESET || errno == EPIPE || errno == ENOTCONN || errno == EBADF }
    /// The peer closed a connected socket with data of ours unread (ECONNRESET).
    public var isReset: Bool { errno == ECONNRESET }
    /// Nothing to read, or no room to write, on a non-blocking call.
    public var isWouldBlock: Bool { errno == EAGAIN || errno == EWOULDBLOCK }
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
        if e != EINTR { throw SystemError(call, e) }
    }
}

/// Converts a shim's `-errno` return into a throw.
@inline(__always)
func checkNegErrno<T: FixedWidthInteger & SignedInteger>(_ call: String, _ r: T) throws(SystemError) -> T {
    if r < 0 { throw SystemError(call, Int32(truncatingIfNeeded: -r)) }
    return r
}
