// TEMPORARY stand-in for the fd API landing on main (ParcelFileDescriptor.swift there), with the
// same signatures so generated AIDL code compiles. It passes no fds: writing puts -1 (null) in the
// slot and reading always gives nil. Delete this file when main's fd support is merged.
#if canImport(Glibc)
import Glibc
#endif
import BinderWire

public final class ParcelFileDescriptor: @unchecked Sendable {
    public let fd: Int32
    private var owned = true

    public init(adopting fd: Int32) { self.fd = fd }

    public convenience init(duplicating fd: Int32) throws {
        let copy = dup(fd)
        guard copy >= 0 else { throw StatusCode.badValue }
        self.init(adopting: copy)
    }

    public func detach() -> Int32 {
        owned = false
        return fd
    }

    deinit { if owned && fd >= 0 { close(fd) } }
}

extension Parcel {
    public mutating func write(fileDescriptor: ParcelFileDescriptor?) { write(fileDescriptorIndex: -1) }

    public mutating func readFileDescriptor() throws(StatusCode) -> ParcelFileDescriptor? {
        _ = try readFileDescriptorIndex()
        return nil
    }
}
