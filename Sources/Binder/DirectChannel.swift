import BinderPlatform
import BinderWire

// Direct channels (WIRE.md §7.5): a client turns a service proxy into a socket of its own to the
// service's process, made and handed out by the broker's named-fd registry (§7.4). Calls on it
// skip the broker: two hops per round trip instead of four.
//
// Each end is a `BinderConnection` over the channel's socket with a `ChannelRole`: the frames,
// the leader/follower receive loop, one-way ordering and fd passing are the broker connection's
// own, so a call behaves the same on both paths.

/// What a direct channel's end knows beyond a broker connection.
final class ChannelRole: Sendable {
    /// The broker connection the channel was made through (closing it closes the channel).
    let parent: BinderConnection
    /// Who is at the other end, as the broker stamped it when it made the channel.
    let peer: CallerIdentity
    /// Serving end only: run once its last thread has seen the channel close.
    let onClosed: (@Sendable () -> Void)?

    init(parent: BinderConnection, peer: CallerIdentity, onClosed: (@Sendable () -> Void)? = nil) {
        self.parent = parent
        self.peer = peer
        self.onClosed = onClosed
    }

    /// The serving end makes the broker's checks of a routed call itself: no object references
    /// (nothing would translate them), fds only to an object that accepts them.
    func refusal(of header: FrameHeader, for object: any BinderObject) -> StatusCode? {
        if header.objectCount > 0 { return .invalidOperation }
        if header.fdCount > 0 && !object.acceptsFileDescriptors { return .fdsNotAllowed }
        return nil
    }
}

/// A client asking for a direct channel to one of this process's objects.
public struct DirectChannelRequest: Sendable {
    /// The client, as the broker stamped it (the identity every call on the channel carries).
    public var requester: CallerIdentity
    /// The object the channel is for.
    public let object: any BinderObject
}

extension BinderConnection {
    /// Lets clients open direct channels (`BinderProxy.openDirectChannel`) to this process's
    /// objects. Registers this connection's channel listener with the broker, so it replaces a
    /// `ChannelListener` registered before; until a process calls this, the broker refuses
    /// channels to it (`ServiceError` `.unsupportedOperation` on the client).
    ///
    /// Every call on a channel runs as if routed: `TransactionContext.caller` is the requester's
    /// identity as the broker stamped it, and `context.connection` is this connection.
    /// - Parameters:
    ///   - threadsPerChannel: threads that serve each channel. One keeps a channel's calls in order;
    ///     more let one client's concurrent two-way calls run concurrently.
    ///   - accept: decides each request (on a pool thread); false refuses it and the client gets
    ///     `PERMISSION_DENIED`. The default accepts every request.
    ///   - onClosed: called once a channel this process accepted has closed: the client closed it
    ///     or died, or this connection closed.
    public func acceptDirectChannels(
        threadsPerChannel: Int = 1,
        accept: @escaping @Sendable (DirectChannelRequest) -> Bool = { _ in true },
        onClosed: (@Sendable (DirectChannelRequest) -> Void)? = nil
    ) throws {
        let listener = ChannelListener { [weak self] request in
            self?.serveChannel(request, threads: threadsPerChannel, accept: accept, onClosed: onClosed)
        }
        try serviceManager.registerChannelListener(listener)
    }

    private func serveChannel(
        _ request: ChannelRequest, threads: Int, accept: @Sendable (DirectChannelRequest) -> Bool,
        onClosed: (@Sendable (DirectChannelRequest) -> Void)?
    ) {
        // Claimed even to refuse, so the client hears the refusal at once instead of waiting
        // for the broker to expire this end.
        guard let (end, info) = try? serviceManager.claimChannel(request.endName) else { return }
        let object = localObject(for: ObjectRef(kind: .local, id: request.cookie))
        let peer = CallerIdentity(pid: info.peerPID, uid: info.peerUID, container: info.peerContainer)
        guard let object else { return Self.refuse(end, .deadObject) }
        let asked = DirectChannelRequest(requester: peer, object: object)
        guard accept(asked) else { return Self.refuse(end, .permissionDenied) }
        var closed: (@Sendable () -> Void)? = nil
        if let onClosed { closed = { onClosed(asked) } }
        let role = ChannelRole(parent: self, peer: peer, onClosed: closed)
        let limits = channelLimits(info)
        let channel = BinderConnection(
            fd: end.detach(), welcome: limits, bodyBuffer: Self.makeBodyBuffer(maxFrameSize: limits.maxFrameSize),
            threadPoolSize: threads, channel: role)
        channel.bind(object, cookie: request.cookie)
        guard track(channel: channel) else { return }
        do {
            try Self.sendFrame(fd: channel.fd, header: FrameHeader(command: .welcome), parcel: Parcel())
        } catch {
            return channel.close()  // the client has gone already
        }
        channel.startPoolIfNeeded()
    }

    /// Tells the client no (a status-only REPLY with transaction ID 0) and hangs up.
    private static func refuse(_ end: ParcelFileDescriptor, _ status: StatusCode) {
        try? sendFrame(fd: end.fd, header: FrameHeader(command: .reply, status: status), parcel: Parcel())
        end.close()
    }

    /// A channel's limits: the smaller of this end's and the peer's (both as negotiated with the
    /// broker), so that each end receives what the other may send. The identity is this process's.
    func channelLimits(_ end: ChannelEnd) -> Welcome {
        var w = welcome
        w.maxFrameSize = min(welcome.maxFrameSize, max(end.peerMaxFrameSize, Limits.minimumFrameSize))
        w.maxFDs = min(welcome.maxFDs, end.peerMaxFDs)
        w.connectionID = 0
        return w
    }
}

extension BinderProxy {
    /// Opens a direct channel to this proxy's object and returns a proxy that uses it: calls then go
    /// straight to the service's process, with the same semantics as routed calls (two-way,
    /// one-way in order, fds, statuses) but no object references (`INVALID_OPERATION`). The routed
    /// proxy stays usable. The library never opens a channel by itself; see `DirectChannel.swift`.
    ///
    /// The channel closes when `closeDirectChannel()` is called, when the returned proxy is
    /// released, or when either process's broker connection closes. If the service's process dies,
    /// calls waiting on the channel and every later call fail with `DEAD_OBJECT`.
    /// - Parameter timeout: how long to wait for the service to accept.
    /// - Throws: `ServiceError` `.unsupportedOperation` when the service's process does not accept
    ///   direct channels; `PERMISSION_DENIED` when it refused this one; `DEAD_OBJECT` when it has
    ///   gone or hung up; `TIMED_OUT` when it did not answer in time.
    public func openDirectChannel(timeout: Duration = .seconds(10)) throws -> BinderProxy {
        if direct != nil || local != nil { return self }  // nothing to skip
        let sm = connection.serviceManager
        let t0 = monotonicNanos()
        let nm = try sm.requestChannel(to: self)
        let t1 = monotonicNanos()
        let (end, info) = try sm.claimChannel(nm)
        let t2 = monotonicNanos()
        // The service's first frame on the channel is its answer.
        var answer = [UInt8](repeating: 0, count: 64)
        guard SeqPacket.waitReadable(end.fd, timeoutMillis: Int32(clamping: timeout.wholeMilliseconds)) else {
            throw StatusCode.timedOut
        }
        let header = try answer.withUnsafeMutableBytes { body in try BinderConnection.receiveControlFrame(fd: end.fd, body: body) }
        let t3 = monotonicNanos()
        phaseTimes.withLock { $0[0] += t1 - t0; $0[1] += t2 - t1; $0[2] += t3 - t2; $0[3] += 1 }
        guard let header else { throw StatusCode.deadObject }
        guard header.command == .welcome else {
            throw header.command == .reply && header.status != .ok ? header.status : StatusCode.badType
        }
        let limits = connection.channelLimits(info)
        let peer = CallerIdentity(pid: info.peerPID, uid: info.peerUID, container: info.peerContainer)
        let channel = BinderConnection(
            fd: end.detach(), welcome: limits, bodyBuffer: BinderConnection.makeBodyBuffer(maxFrameSize: limits.maxFrameSize),
            threadPoolSize: 1, channel: ChannelRole(parent: connection, peer: peer))
        guard connection.track(channel: channel) else { throw StatusCode.deadObject }
        return BinderProxy(direct: channel, cookie: info.cookie, handle: handle!, connection: connection)
    }

    /// Whether calls on this proxy go over a direct channel.
    public var isDirect: Bool { direct != nil }

    /// The service's process at the other end of a direct channel, as the broker stamped it.
    public var directPeer: CallerIdentity? { direct?.channel?.peer }

    /// Closes the direct channel: waiting and later calls on this proxy fail with `DEAD_OBJECT`.
    /// Does nothing to a routed proxy.
    public func closeDirectChannel() { direct?.close() }
}

import Synchronization
public let phaseTimes = Mutex<[UInt64]>([0, 0, 0, 0])
extension Duration {
    /// Whole milliseconds, rounded down; saturates instead of overflowing.
    var wholeMilliseconds: Int64 {
        let (s, atto) = components
        let (ms, overflow) = s.multipliedReportingOverflow(by: 1000)
        return overflow ? (s < 0 ? .min : .max) : ms + atto / 1_000_000_000_000_000
    }
}
