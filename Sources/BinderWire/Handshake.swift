/// The first frame a client sends (`Command.hello`); its parcel is this struct's fields in order.
/// See WIRE.md §2.
public struct Hello: Equatable, Sendable {
    /// "BNDR" read as a little-endian u32.
    public static let magic: UInt32 = 0x5244_4E42
    public static let protocolMajor: UInt16 = 1
    /// 1.1 added the session fields (`session`, `firstHandle`); a 1.0 broker ignores them.
    public static let protocolMinor: UInt16 = 1

    public var major: UInt16 = Hello.protocolMajor
    public var minor: UInt16 = Hello.protocolMinor
    /// The largest frame (header included) the client can receive.
    public var maxFrameSize: UInt32
    /// The most fds the client accepts in one frame.
    public var maxFDs: UInt32
    /// The most pool threads the client will start when the broker asks (WIRE.md §5.2); 0: never ask.
    public var maxThreads: UInt32
    /// The client's session (WIRE.md §2.1): a random ID the runtime keeps across reconnections to
    /// restarted brokers; 0: none (a 1.0 client).
    public var session: UInt64
    /// The lowest handle the broker may give this connection (WIRE.md §2.1): a runtime resuming its
    /// session after a broker restart still holds handles below it, which must never name another
    /// object. 0 or 1: handles start at 1.
    public var firstHandle: UInt32

    public init(
        maxFrameSize: UInt32 = Limits.defaultMaxFrameSize, maxFDs: UInt32 = Limits.defaultMaxFDs, maxThreads: UInt32 = 0,
        session: UInt64 = 0, firstHandle: UInt32 = 0
    ) {
        self.maxFrameSize = maxFrameSize
        self.maxFDs = maxFDs
        self.maxThreads = maxThreads
        self.session = session
        self.firstHandle = firstHandle
    }

    public func write(to p: inout Parcel) {
        p.write(Hello.magic)
        p.write(UInt32(major) << 16 | UInt32(minor))
        p.write(maxFrameSize)
        p.write(maxFDs)
        p.write(UInt32(0))  // feature bits, none defined
        p.write(maxThreads)
        p.write(session)
        p.write(firstHandle)
    }

    public static func read(from p: inout Parcel) throws(StatusCode) -> Hello {
        guard try p.read(UInt32.self) == magic else { throw .badValue }
        let version = try p.read(UInt32.self)
        var h = Hello(maxFrameSize: try p.read(), maxFDs: try p.read())
        h.major = UInt16(version >> 16)
        h.minor = UInt16(truncatingIfNeeded: version)
        _ = try p.read(UInt32.self)
        h.maxThreads = try p.read()
        // 1.1: the session fields; a 1.0 hello ends before them.
        if p.count - p.readPosition >= 12 {
            h.session = try p.read()
            h.firstHandle = try p.read()
        }
        return h
    }
}

/// The broker's answer to `Hello` (`Command.welcome`): negotiated limits and the identity the
/// broker took from the kernel for this connection.
public struct Welcome: Equatable, Sendable {
    public var major: UInt16 = Hello.protocolMajor
    public var minor: UInt16 = Hello.protocolMinor
    public var maxFrameSize: UInt32
    public var maxFDs: UInt32
    public var connectionID: UInt32
    public var pid: UInt32
    public var uid: UInt32
    public var gid: UInt32
    public var container: UInt32

    public init(maxFrameSize: UInt32, maxFDs: UInt32, connectionID: UInt32, pid: UInt32, uid: UInt32, gid: UInt32, container: UInt32) {
        self.maxFrameSize = maxFrameSize
        self.maxFDs = maxFDs
        self.connectionID = connectionID
        self.pid = pid
        self.uid = uid
        self.gid = gid
        self.container = container
    }

    public func write(to p: inout Parcel) {
        p.write(Hello.magic)
        p.write(UInt32(major) << 16 | UInt32(minor))
        p.write(maxFrameSize)
        p.write(maxFDs)
        p.write(UInt32(0))  // feature bits
        p.write(connectionID)
        p.write(pid)
        p.write(uid)
        p.write(gid)
        p.write(container)
    }

    public static func read(from p: inout Parcel) throws(StatusCode) -> Welcome {
        guard try p.read(UInt32.self) == Hello.magic else { throw .badValue }
        let version = try p.read(UInt32.self)
        let maxFrame: UInt32 = try p.read()
        let maxFDs: UInt32 = try p.read()
        _ = try p.read(UInt32.self)
        var w = Welcome(
            maxFrameSize: maxFrame, maxFDs: maxFDs, connectionID: try p.read(), pid: try p.read(),
            uid: try p.read(), gid: try p.read(), container: try p.read())
        w.major = UInt16(version >> 16)
        w.minor = UInt16(truncatingIfNeeded: version)
        return w
    }
}

/// Limits both sides agree on; documented in WIRE.md §5.
public enum Limits {
    /// Largest frame, header included, unless negotiated lower: 128 KiB.
    public static let defaultMaxFrameSize: UInt32 = 128 * 1024
    /// Smallest maximum a client may ask for.
    public static let minimumFrameSize: UInt32 = 4096
    public static let defaultMaxFDs: UInt32 = 16
    /// Most object references in one frame.
    public static let maxObjects = 256
}
