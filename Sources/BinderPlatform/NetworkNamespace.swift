#if canImport(Glibc)
import Glibc
#endif
import CBinderShims

/// Work inside another network namespace without moving the calling thread.
///
/// A socket belongs to the network namespace it was created in, for life. So netd can reach a
/// container's network by creating its sockets (`RouteNetlink`, `InetSocket`) on a short-lived
/// thread that has joined the container's namespace (`setns` acts on one thread), and using them
/// from anywhere afterwards.
public enum NetworkNamespace {
    /// The file `ip netns add NAME` bind-mounts: /run/netns/NAME.
    public static func path(named name: String) -> String { "/run/netns/\(name)" }
    /// A process's network namespace: /proc/PID/ns/net.
    public static func path(ofProcess pid: Int32) -> String { "/proc/\(pid)/ns/net" }

    /// Runs `body` on a new thread that has joined the network namespace at `path`, waits for it
    /// and returns its result. The thread ends afterwards, so nothing else ever runs in the
    /// namespace by accident. Blocking: a thread start and a `setns` (tens of microseconds).
    /// - Throws: `SystemError` from `body`, or "setns PATH" (ENOENT: no such namespace; EINVAL:
    ///   not a network namespace; EPERM: no CAP_SYS_ADMIN).
    public static func run<R: Sendable>(path: String, _ body: @escaping @Sendable () throws(SystemError) -> R) throws(SystemError) -> R {
        let outcome = Outcome<R>()
        startThread(name: "netns") {
            let result: Result<R, SystemError>
            let joined = cbinder_join_network_namespace(path)
            if joined < 0 {
                result = .failure(SystemError("setns \(path)", -joined))
            } else {
                result = Result { () throws(SystemError) -> R in try body() }
            }
            outcome.lock.withLock {
                outcome.result = result
                outcome.lock.broadcast()
            }
        }
        outcome.lock.lock()
        while outcome.result == nil { outcome.lock.wait() }
        let result = outcome.result!
        outcome.lock.unlock()
        return try result.get()
    }

    private final class Outcome<R: Sendable>: @unchecked Sendable {
        // @unchecked: `result` is only touched with `lock` held.
        let lock = ConditionLock()
        var result: Result<R, SystemError>?
    }
}
