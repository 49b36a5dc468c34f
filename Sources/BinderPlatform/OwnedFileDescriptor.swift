/// The one owner of an open fd: closes it when it goes, unless `release()` gave it away first.
/// Noncopyable, so that an fd has exactly one owner at any time: the compiler refuses a second.
/// Hold it in a `Mutex<OwnedFileDescriptor?>` where several threads may close it (taking it out of
/// the optional closes it, once).
public struct OwnedFileDescriptor: ~Copyable, Sendable {
    /// The fd number, for system calls; it stays valid while this value lives.
    public let raw: Int32

    /// Takes ownership of `raw`.
    public init(adopting raw: Int32) { self.raw = raw }

    deinit { FileDescriptor.close(raw) }

    /// Gives the fd to the caller, who must close it; this value no longer will.
    public consuming func release() -> Int32 {
        let raw = self.raw
        discard self
        return raw
    }
}
