import BinderPlatform
import BinderWire
import Synchronization

// Direct channels (WIRE.md §7.5): a client turns a service proxy into a socket of its own to the
// service's process, made and handed out by the broker's named-fd registry (§7.4). Calls on it
// skip the broker: two hops per round trip instead of four.
//
// Each end is a `DirectChannelEnd` (DirectChannelEnd.swift) over the channel's socket: the
// frames, the leader/follower receive loop, one-way ordering and fd passing are the broker
// connection's own (Endpoint/), so a call behaves the same on both paths.

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
        // unowned, not weak: a weak reference gives the connection a side table, which slows every
        // retain and release of it (one per call on each of its channels). The listener only runs
        // on this connection's own pool threads, which keep it alive.
        // A receiver: the broker hands this process its end with the request (no claim round trip).
        let listener = ChannelListener(receivingEnds: { [unowned self] request, end, info in
            serveChannel(request, end: end, info: info, threads: threadsPerChannel, accept: accept, onClosed: onClosed)
        })
        try serviceManager.registerChannelListener(listener)
    }

    private func serveChannel(
        _ request: ChannelRequest, end: ParcelFileDescriptor, info: ChannelEnd, threads: Int,
        accept: @Sendable (DirectChannelRequest) -> Bool, onClosed: (@Sendable (DirectChannelRequest) -> Void)?
    ) {
        let object = localObject(for: ObjectRef(kind: .local, id: request.cookie))
        let peer = CallerIdentity(peerOf: info)
        guard let object else { return Self.refuse(end, .deadObject) }
        let asked = DirectChannelRequest(requester: peer, object: object)
        guard accept(asked) else { return Self.refuse(end, .permissionDenied) }
        var closed: (@Sendable () -> Void)? = nil
        if let onClosed { closed = { onClosed(asked) } }
        let channel = DirectChannelEnd(end, limits: channelLimits(info), parent: self, peer: peer, serving: true, threads: threads, onClosed: closed)
        channel.bind(object, cookie: request.cookie)
        // Tracked first, so that closing this connection closes the channel even while its first
        // call runs here.
        guard track(channel: channel) else { return closed?() ?? () }  // this connection is closing
        // The answer goes out before the serving thread starts. A client that opened without
        // waiting may have sent its first call already: it runs here and its reply is the answer.
        // Otherwise a WELCOME is; the client's first call is then usually waiting when the serving
        // thread first reads, so that thread does not block once for nothing.
        var answered = false
        switch channel.serveQueuedCall() {
        case true?: answered = true
        case false?: answered = (try? channel.transport.send(FrameHeader(command: .welcome), Parcel())) != nil
        case nil: break
        }
        guard answered else {
            channel.close()
            closed?()  // the client has gone already; `onClosed` still runs once per accepted channel
            return
        }
        channel.startPool(callerJoins: false)
    }

    /// Tells the client no (a status-only REPLY with transaction ID 0) and hangs up.
    private static func refuse(_ end: ParcelFileDescriptor, _ status: StatusCode) {
        try? SocketTransport.send(on: end.fd, FrameHeader(command: .reply, status: status), Parcel())
        end.close()
    }

    /// A channel's limits: the smaller of this end's and the peer's (both as negotiated with the
    /// broker), so that each end receives what the other may send; the identity is this process's.
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
    ///
    /// By default the proxy is returned as soon as the broker has made the channel, before the
    /// service has answered: calls made at once are queued on the channel, and the service runs
    /// them once it has accepted it (the first one's reply is then its answer). If the service
    /// refuses, those calls and every later one fail with its status (`PERMISSION_DENIED`), and
    /// one-way calls made before the refusal are dropped. `waitForAnswer` waits for the service's
    /// answer here instead, and throws a refusal.
    /// - Parameters:
    ///   - waitForAnswer: wait for the service to accept or refuse before returning.
    ///   - timeout: with `waitForAnswer`, how long to wait.
    /// - Throws: `ServiceError` `.unsupportedOperation` when the service's process does not accept
    ///   direct channels; `DEAD_OBJECT` when it has gone. With `waitForAnswer`, also:
    ///   `PERMISSION_DENIED` when it refused this one; `DEAD_OBJECT` when it hung up; `TIMED_OUT`
    ///   when it did not answer in time; `BAD_TYPE` when its answer is not a frame of this protocol.
    public func openDirectChannel(waitForAnswer: Bool = false, timeout: Duration = .seconds(10)) throws -> BinderProxy {
        if direct != nil || local != nil { return self }  // nothing to skip
        let sm = connection.serviceManager
        let (end, info) = try sm.openChannel(to: self)
        if waitForAnswer { try Self.waitForAnswer(on: end, timeout: timeout) }
        let channel = DirectChannelEnd(
            end, limits: connection.channelLimits(info), parent: connection, peer: CallerIdentity(peerOf: info), serving: false, threads: 1,
            answered: waitForAnswer)
        guard connection.track(channel: channel) else { throw StatusCode.deadObject }
        return BinderProxy(direct: channel, cookie: info.cookie, handle: handle!, connection: connection)
    }

    /// Reads the service's answer on a channel's client end: its WELCOME, or a refusal.
    private static func waitForAnswer(on end: ParcelFileDescriptor, timeout: Duration) throws {
        // The service's first frame on the channel is its answer.
        var answer = [UInt8](repeating: 0, count: 64)
        guard SeqPacket.waitReadable(end.fd, timeoutMillis: Int32(clamping: timeout.wholeMilliseconds)) else {
            throw StatusCode.timedOut
        }
        let received: FrameHeader?
        do {
            received = try answer.withUnsafeMutableBytes { body in try ControlFrames.receive(fd: end.fd, body: body) }
        } catch is SystemError {
            throw StatusCode.deadObject  // the socket failed (reset)
        } catch {
            throw StatusCode.badType  // not a frame of this protocol
        }
        guard let header = received else { throw StatusCode.deadObject }
        switch header.command {
        case .welcome where header.dataLength == 0:
            break
        case .reply where header.transactionID == 0 && header.status != .ok:
            throw header.status  // refused
        default:
            throw StatusCode.badType
        }
    }

    /// Whether calls on this proxy go over a direct channel.
    public var isDirect: Bool { direct != nil }

    /// Whether this proxy's direct channel has moved onto shared memory (WIRE.md §7.5.1): the
    /// client runtime moves it at the channel's second call.
    public var isOnSharedMemory: Bool { direct?.transport.rings != nil }

    /// The service's process at the other end of a direct channel, as the broker stamped it.
    public var directPeer: CallerIdentity? { direct?.peer }

    /// Closes the direct channel: waiting and later calls on this proxy fail with `DEAD_OBJECT`.
    /// Does nothing to a routed proxy.
    public func closeDirectChannel() { direct?.close() }
}
