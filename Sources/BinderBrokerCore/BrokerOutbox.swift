import BinderWire

/// A connection the broker accepted. IDs are never reused within one broker run.
public struct ConnectionID: Hashable, Sendable, CustomStringConvertible {
    public let raw: UInt32
    public init(_ raw: UInt32) { self.raw = raw }
    public var description: String { "c\(raw)" }
}

/// Who is at the other end of a connection, as the kernel reported it at accept time.
public struct PeerIdentity: Equatable, Sendable {
    public var pid: Int32
    public var uid: UInt32
    public var gid: UInt32
    /// 0 for the root namespace's endpoint.
    public var container: UInt32
    /// The pid as the process's own container sees it (its PID namespace); `pid` is the broker's view.
    public var namespacePID: Int32
    public init(pid: Int32, uid: UInt32, gid: UInt32, container: UInt32 = 0, namespacePID: Int32? = nil) {
        self.pid = pid
        self.uid = uid
        self.gid = gid
        self.container = container
        self.namespacePID = namespacePID ?? pid
    }

    /// The pid a process in container `viewer` sees: the root sees every pid as the broker does; a
    /// container sees the pids of its own processes as its PID namespace numbers them; anything
    /// else is not visible there and is 0.
    @inline(__always)
    func pid(seenFrom viewer: UInt32) -> Int32 {
        if viewer == 0 { return pid }
        return viewer == container ? namespacePID : 0
    }

    /// The sender stamp for a frame to a process in container `viewer`.
    @inline(__always)
    func stamp(seenFrom viewer: UInt32) -> CallerIdentity {
        CallerIdentity(pid: pid(seenFrom: viewer), uid: uid, container: container)
    }
}

/// The effects of the broker's state machine. The event loop implements it with io_uring sends;
/// tests implement it by recording. Keeping effects behind this protocol keeps `BrokerCore` free of I/O.
public protocol BrokerOutbox {
    /// Sends the frame being handled, already rewritten in place, to `to`.
    mutating func forwardCurrentFrame(to: ConnectionID)
    /// Sends a frame the broker built. The parcel's fds (a claimed channel end) become the event
    /// loop's: it closes them once the send completes, or at once when the frame is dropped.
    mutating func send(to: ConnectionID, header: FrameHeader, parcel: Parcel)
    /// Closes a connection; the event loop then reports it back through `connectionClosed`.
    mutating func disconnect(_ id: ConnectionID, reason: String)
    /// A connected `SOCK_SEQPACKET` pair (close-on-exec) for the named-fd registry, or nil when the
    /// system refuses one (out of fds).
    mutating func makeChannelPair() -> (Int32, Int32)?
    /// Closes an fd the core owned (an expired or orphaned channel end).
    mutating func close(fd: Int32)
    /// Starts container `id` (endpoint, namespaces, PID 1); blocks until it runs or has failed.
    mutating func startContainer(id: UInt32, name: String) -> Result<StartedContainer, ContainerStartFailure>
    /// Kills every process of container `id`; the event loop reports the end with `containerExited`.
    mutating func stopContainer(id: UInt32)
}
