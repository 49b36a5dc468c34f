import BinderPlatform
import BinderWire
import Synchronization

/// A process's connection to the broker: sends calls, receives replies, and serves its local
/// objects on a thread pool.
///
/// Receiving uses a leader/follower scheme, as Binder's looper threads do: whichever waiting thread
/// finds the reader role free receives the next frame itself and hands it to its owner. A caller
/// alone on the connection therefore gets its reply straight from `recvmsg`, with no thread hop.
///
/// This class is a thin shell (Endpoint/FrameEndpoint.swift): the decisions are `ConnectionCore`'s
/// (Core/), the frames go through a `SocketTransport`, and the loop is shared with direct channels'
/// ends. What is the broker connection's own is here: the handshake, the rules of routed calls
/// (reference counting, nested calls, broker notices), the objects it publishes, and the direct
/// channels made through it (BinderConnection+Channels.swift).
public final class BinderConnection: FrameEndpoint, @unchecked Sendable {
    // @unchecked: mutable state is guarded by `lock`; the rest is set once in init.

    /// The default socket: `$BINDER_RUNTIME_DIR/binder.sock`, else `/run/binder/binder.sock`.
    public static var defaultSocketPath: String {
        ProcessControl.defaultRuntimeDirectory + "/binder.sock"
    }

    /// The socket to the broker.
    public var fd: Int32 { transport.fd }
    /// Negotiated limits and the identity the broker recorded for this process.
    public let welcome: Welcome
    public var serviceManager: ServiceManager { ServiceManager(connection: self) }
    /// What `transact(container:service:...)` looked up (Containers.swift).
    let serviceCache = ContainerServiceCache()

    static var behaviour: ConnectionBehaviour { .broker }
    let lock = ConditionLock()
    /// The calls, queues, pool and objects (guarded by `lock`).
    var core: ConnectionCore<AsyncWaiter>
    let transport: SocketTransport
    let receiver: FrameReceiver
    let closeLatch = Latch()
    /// The handles this process holds (Core/HeldReferences.swift). A lock of its own: proxies and
    /// parcels let go of handles in `deinit`, which may run while `lock` is held.
    let heldReferences = Mutex(HeldReferences())
    /// Death links made through this connection (DeathRecipient.swift).
    let deathLinks = DeathLinkTable()
    /// Threads that serve direct channels made through this connection, kept for the next channel.
    let channelThreads = ReusableThreads(name: "binder-ch", maxIdle: 4)
    /// Direct channels made through this connection, closed with it (guarded by `lock`).
    /// Strong references: a weak one would give every channel end a side table and slow down
    /// each retain and release on the hot path. A channel leaves this table when it closes.
    var channels: [ObjectIdentifier: DirectChannelEnd] = [:]

    // Sessions (BinderConnection+Session.swift, WIRE.md §2.1).
    /// The broker socket's path, to reconnect to.
    let path: String
    let threadPoolSize: Int
    /// How this connection rides a broker restart.
    public let reconnect: ReconnectPolicy
    /// This connection's session: random, kept across reconnections.
    public let sessionID: UInt64
    /// What a resumption replays (its own lock: recorded after calls, read by the resuming thread).
    let session = Mutex(SessionRecord())
    /// Where calls wait while the session resumes.
    let gate = ResumeGate()
    /// `close()` was called: the end of the socket is this process's doing (guarded by `lock`).
    var closing = false

    /// Connects and performs the handshake.
    /// - Parameters:
    ///   - path: the broker socket; `defaultSocketPath` when nil.
    ///   - threadPoolSize: the most threads that serve local objects. The first starts when the
    ///     first object is published or the first async call is made; the broker asks for more
    ///     when every one is busy (WIRE.md §5.2).
    ///   - reconnect: what happens when the broker goes away (WIRE.md §2.1): by default the runtime
    ///     reconnects to a new broker on the same path and resumes its session (registrations and
    ///     proxies got by name come back; calls in flight fail with `DEAD_OBJECT`).
    /// - Throws: `SystemError` if the socket cannot be reached; `StatusCode` if the handshake fails.
    public init(
        path: String? = nil, threadPoolSize: Int = 4, maxFrameSize: UInt32 = Limits.defaultMaxFrameSize, reconnect: ReconnectPolicy = .default
    ) throws {
        self.path = path ?? Self.defaultSocketPath
        self.threadPoolSize = threadPoolSize
        self.reconnect = reconnect
        sessionID = UInt64.random(in: 1...UInt64.max)
        let fd = try SeqPacket.connect(path: self.path)
        let socket = SocketTransport(adopting: fd)
        SeqPacket.setSendBufferSize(fd, bytes: Int32(maxFrameSize) * 2)
        var hello = Parcel()
        Hello(maxFrameSize: maxFrameSize, maxThreads: UInt32(max(1, threadPoolSize)), session: sessionID).write(to: &hello)
        // The WELCOME lands in the array that becomes the connection's receive buffer (no copy).
        var body = ControlFrames.makeBodyBuffer(maxFrameSize: maxFrameSize)
        do {
            try socket.send(FrameHeader(command: .hello), hello)
            let header = try body.withUnsafeMutableBytes { body in try ControlFrames.receive(fd: fd, body: body) }
            guard let header, header.command == .welcome else { throw StatusCode.badType }
            var p = Parcel(bytes: Array(body[0..<Int(header.dataLength)]))
            welcome = try Welcome.read(from: &p)
            guard welcome.major == Hello.protocolMajor else { throw StatusCode.badType }
        } catch {
            socket.shutdown()
            throw error
        }
        transport = socket
        receiver = FrameReceiver(transport: socket, bodyBuffer: body, maxFrameSize: welcome.maxFrameSize, maxFDs: welcome.maxFDs)
        core = ConnectionCore(behaviour: Self.behaviour, maxThreads: threadPoolSize)
    }

    /// Shuts the connection down: waiting calls fail with `DEAD_OBJECT`, pool threads exit,
    /// and the broker forgets this process's services.
    /// Direct channels made through this connection close too.
    public func close() {
        lock.withLock { closing = true }
        transport.shutdown()
        shutDownChannels()
    }

    public var isClosed: Bool { lock.withLock { core.closed } }

    // MARK: Calls

    /// Sends a transaction to `handle` and waits for the reply on this thread.
    /// - Parameter timeout: how long to wait for the reply (`BinderProxy.transact`, WIRE.md §3.2).
    public func transact(handle: UInt32, code: UInt32, data: Parcel, flags: TransactionFlags = [], timeout: Duration? = nil) throws(StatusCode) -> Parcel {
        let reply = try transactBlocking(target: UInt64(handle), code: code, data: data, flags: flags, timeout: timeout)
        noteServiceManagerCall(handle: handle, code: code, data: data, reply: reply)
        return reply
    }

    /// Sends a transaction and suspends until the reply; a pool thread receives it.
    public func transact(handle: UInt32, code: UInt32, data: Parcel, flags: TransactionFlags = [], timeout: Duration? = nil) async throws(StatusCode) -> Parcel {
        let reply = try await transactAsync(target: UInt64(handle), code: code, data: data, flags: flags, timeout: timeout)
        noteServiceManagerCall(handle: handle, code: code, data: data, reply: reply)
        return reply
    }

    /// Calls a local object directly on this thread (a lookup of this process's own service). The
    /// deadline only informs the handler (`TransactionContext`): nothing can stop it midway.
    func transactLocal(_ object: any BinderObject, code: UInt32, data: Parcel, flags: TransactionFlags, timeout: Duration? = nil) throws(StatusCode) -> Parcel {
        let me = CallerIdentity(pid: Int32(bitPattern: welcome.pid), uid: welcome.uid, container: welcome.container)
        let deadline = try CallDeadline.of(timeout)
        let (status, reply) = invoke(object, code: code, data: data, flags: flags, caller: me, deadline: deadline)
        guard status == .ok else { throw status }
        return flags.contains(.oneWay) ? Parcel() : reply
    }

    // MARK: Objects

    /// The reference to write into a parcel for a local object; publishes it on first use.
    public func publish(_ object: any BinderObject) -> ObjectRef {
        let cookie = lock.withLock { core.objects.publish(object) }
        startPoolIfNeeded()
        return ObjectRef(kind: .local, id: cookie, flags: object.acceptsFileDescriptors ? ObjectRef.acceptsFDs : 0)
    }

    /// A proxy for a reference read from a parcel; nil for a null reference. A reference to one of
    /// this process's own objects gives a proxy that calls it directly.
    /// - Throws: `BAD_VALUE` for a local cookie this process never published.
    public func proxy(for ref: ObjectRef) throws(StatusCode) -> BinderProxy? {
        switch ref.kind {
        case .null: return nil
        case .handle:
            guard ref.id <= UInt64(UInt32.max) else { throw .badValue }
            return BinderProxy(handle: UInt32(ref.id), connection: self)
        case .local:
            guard let object = localObject(for: ref) else { throw .badValue }
            return BinderProxy(local: object, connection: self)
        }
    }

    /// The local object a `.local` reference names, if this process published it.
    public func localObject(for ref: ObjectRef) -> (any BinderObject)? {
        guard ref.kind == .local else { return nil }
        return lock.withLock { core.objects[ref.id]?.object }
    }

    // MARK: Thread pool

    /// Starts the pool threads (once); further calls do nothing.
    public func startPoolIfNeeded() { startPool(callerJoins: false) }

    /// Blocks the calling thread until the connection closes (for example, a service process's main
    /// thread while the pool serves). Unlike `joinThreadPool`, the caller does not serve calls. The
    /// pool starts if it has not, so that a thread reads the socket and sees the broker go even in a
    /// process that publishes nothing.
    public func waitUntilClosed() {
        startPoolIfNeeded()
        _ = closeLatch.wait(seconds: .infinity)
    }

    /// Serves local objects on the calling thread until the connection closes. The calling thread
    /// counts as one of the pool's threads if the pool was not started yet.
    public func joinThreadPool() { joinPool() }

    // MARK: Rules of routed calls (FrameEndpoint)

    var limits: Welcome { welcome }
    var owner: BinderConnection { self }
    /// A two-way call made while this thread serves a routed call names that call, so that a
    /// call back into this process runs on this thread (WIRE.md §3.1).
    var nestedIn: UInt64 { ServedCalls.innermostRoutedCall(on: self) }
    var awaitsRefusal: Bool { false }
    func accepts(_ command: Command) -> Bool { true }
    static var refusesObjectsInReplies: Bool { false }

    /// Counts the references to this process's own objects in a parcel about to go to the broker
    /// (References.swift, WIRE.md §4.4).
    func sendingObjects(_ parcel: Parcel) throws(StatusCode) {
        guard let refs = try? parcel.objectReferences() else { return }
        lock.withLock { core.objects.sending(refs) }
    }

    /// The references a frame from the broker delivered are held while its parcel lives.
    func take(_ frame: inout ReceivedFrame) -> FrameDisposition {
        if frame.header.objectCount > 0 { noteDeliveredReferences(in: &frame.parcel) }
        return .deliver
    }

    func serve(_ frame: ReceivedFrame, on object: any BinderObject) -> (StatusCode, Parcel) {
        let header = frame.header
        if BrokerNotice.reserved.contains(header.code) {
            // Only the broker can send these codes (WIRE.md §7.7).
            var data = frame.parcel
            if let notice = BrokerNotice(rawValue: header.code), let container: UInt32 = try? data.read() {
                object.onContainerProxy(container, loaded: notice == .proxyLoaded)
            }
            return (.deadObject, Parcel())  // one-way: no reply is sent
        }
        // A two-way routed call (its transaction ID is not 0): calls the handler makes are nested in it.
        return invoke(object, code: header.code, data: frame.parcel, flags: header.flags, caller: header.sender, routedCall: header.transactionID,
            deadline: header.deadline)
    }

    func servePool() { _ = try? drive(until: nil) }

    func startThread(index: Int, _ body: @escaping @Sendable () -> Void) { BinderPlatform.startThread(name: "binder:\(index)", body) }

    func didClose() { shutDownChannels() }

    func lastThreadExited() {}
}
