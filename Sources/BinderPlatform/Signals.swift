#if canImport(Glibc)
import Glibc
#endif
import CBinderShims

/// SIGINT and SIGTERM as a readable fd: blocks both in the calling thread (and so in threads it
/// creates later) and returns a non-blocking signalfd. Call before starting other threads.
public func terminationSignalFD() throws(SystemError) -> Int32 {
    try checkNegErrno("signalfd", cbinder_signalfd_term())
}

/// Bytes of one `struct signalfd_siginfo`.
public let signalInfoSize = Int(CBINDER_SIGNALFD_SIGINFO_SIZE)

/// Ignores SIGPIPE for the whole process (writes to closed sockets then fail with EPIPE instead).
public func ignoreSIGPIPE() { signal(SIGPIPE, SIG_IGN) }
