import BinderPlatform
import BinderWire
import Synchronization

/// An open file descriptor that travels in parcels (AIDL's `FileDescriptor` and
/// `ParcelFileDescriptor`). It owns its fd and closes it when the last reference goes, unless
/// `detach()` took the fd away first.
///
/// Writing one into a parcel does not give it away: the sender keeps its own fd, and the receiver
/// gets a fresh fd (close-on-exec) for the same open file, owned by the `ParcelFileDescriptor` it
/// reads out of the parcel.
public final class ParcelFileDescriptor: FileDescriptorOwner, @unchecked Sendable, CustomStringConvertible {
    // @unchecked: `fd` is immutable; whether it is still ours is an atomic.
    public let fd: Int32
    private let owned = Atomic<Bool>(true)

    /// Takes ownership of `fd`.
    public init(adopting fd: Int32) { self.fd = fd }

    /// A new close-on-exec copy of `fd` (`F_DUPFD_CLOEXEC`); `fd` stays the caller's.
    /// - Throws: `SystemError` (for example `EBADF`).
    public convenience init(duplicating fd: Int32) throws {
        self.init(adopting: try FileDescriptor.duplicate(fd))
    }

    deinit {
        if owned.load(ordering: .acquiring) { FileDescriptor.close(fd) }
    }

    /// Gives the fd to the caller, who must close it; this object will not.
    public func detach() -> Int32 {
        owned.store(false, ordering: .releasing)
        return fd
    }

    /// Closes the fd now rather than when the last reference goes.
    public func close() {
        if owned.exchange(false, ordering: .acquiringAndReleasing) { FileDescriptor.close(fd) }
    }

    public var description: String { "ParcelFileDescriptor(\(fd))" }
}

extension Parcel {
    /// Writes an fd slot (-1 for nil) and attaches the fd to the parcel; see `ParcelFileDescriptor`.
    public mutating func write(fileDescriptor: ParcelFileDescriptor?) {
        write(fileDescriptorOwner: fileDescriptor)
    }

    /// Reads an fd slot: the attached fd, or nil for a null slot.
    /// - Throws: `BAD_VALUE` when the slot names no attached fd.
    public mutating func readFileDescriptor() throws(StatusCode) -> ParcelFileDescriptor? {
        guard let owner = try readFileDescriptorOwner() else { return nil }
        if let pfd = owner as? ParcelFileDescriptor { return pfd }
        // Another owner type (only when a parcel built in this process is read back directly).
        do { return try ParcelFileDescriptor(duplicating: owner.fd) } catch { throw .badValue }
    }
}
