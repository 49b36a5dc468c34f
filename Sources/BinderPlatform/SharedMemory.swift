import CBinderShims
import Glibc

/// A region of memory shared between processes: a sealed memfd mapped read-write (`MAP_SHARED`).
/// Unmapped when the last reference goes; the fd is closed as soon as the mapping exists.
public final class SharedMemory: @unchecked Sendable {
    // @unchecked: `base` and `size` never change; what lives at `base` is the users' to guard.
    public let base: UnsafeMutableRawPointer
    public let size: Int

    private init(base: UnsafeMutableRawPointer, size: Int) {
        self.base = base
        self.size = size
    }

    deinit { munmap(base, size) }

    /// Makes a new zero-filled region and returns it with an fd that maps it, for another process.
    /// The memfd is sealed against shrinking and growing, so that the other process cannot make
    /// this one's accesses fault (`SIGBUS`). The caller owns the fd.
    public static func create(name: String, size: Int) throws(SystemError) -> (SharedMemory, Int32) {
        let fd = try checkNegErrno("memfd_create", cbinder_memfd_sealed(name, UInt64(size)))
        do {
            return (try map(fd: fd, size: size), fd)
        } catch {
            FileDescriptor.close(fd)
            throw error
        }
    }

    /// Maps `size` bytes of a memfd another process made. Refused (`EINVAL`) unless the memfd is
    /// sealed against shrinking and is at least `size` bytes: a region its maker could shrink would
    /// let it crash this process. The caller keeps (and closes) the fd.
    public static func adopt(fd: Int32, size: Int) throws(SystemError) -> SharedMemory {
        guard try checkNegErrno("fcntl F_GET_SEALS", cbinder_memfd_is_shrink_sealed(fd)) == 1 else {
            throw SystemError("memfd seals", EINVAL)
        }
        var st = stat()
        guard fstat(fd, &st) == 0 else { throw SystemError("fstat", errno) }
        guard Int(st.st_size) >= size else { throw SystemError("memfd size", EINVAL) }
        return try map(fd: fd, size: size)
    }

    private static func map(fd: Int32, size: Int) throws(SystemError) -> SharedMemory {
        let p = mmap(nil, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0)
        guard let p, p != MAP_FAILED else { throw SystemError("mmap", errno) }
        return SharedMemory(base: p, size: size)
    }
}

/// futex(2) on a 32-bit word in shared memory (shared futexes: the word may be mapped by another
/// process, so the `_PRIVATE` variants cannot be used).
public enum Futex {
    /// Sleeps while `*word == expected`, until a `wake` on the same word or for at most
    /// `timeoutNanos` (negative: no limit). Returns at once when the value differs; may return
    /// spuriously (signals): callers re-check their condition.
    public static func wait(_ word: UnsafeMutableRawPointer, expected: UInt32, timeoutNanos: Int64 = -1) {
        _ = cbinder_futex_wait(word.assumingMemoryBound(to: UInt32.self), expected, timeoutNanos)
    }

    /// Wakes up to `count` threads sleeping on `word`.
    public static func wake(_ word: UnsafeMutableRawPointer, count: Int32 = Int32.max) {
        _ = cbinder_futex_wake(word.assumingMemoryBound(to: UInt32.self), count)
    }
}

extension SeqPacket {
    /// Blocks until the peer of a connected socket hangs up (or this end is shut down, or the socket
    /// fails). Messages arriving do not end the wait; they stay queued for `receive`.
    public static func waitHangUp(_ fd: Int32) { cbinder_wait_hangup(fd) }

}
