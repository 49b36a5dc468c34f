import BinderPlatform
import BinderWire
import DequeModule
import Synchronization

/// A process's connection to the broker: sends calls, receives replies, and serves its local
/// objects on a thread pool.
///
/// Receiving uses a leader/follower scheme, as Binder's looper threads do: whichever waiting thread
/// finds the reader role free receives the next frame itself and hands it to its owner. A caller
/// alone on the connection therefore gets its reply straight from `recvmsg`, with no thread hop.
public final class BinderConnection: @unchecked Sendable {
    // @unchecked: mutable state is guarded by `lock`; `fd` and limits are set once in init.

    /// The default socket: `$BINDER_RUNTIME_DIR/binder.sock`, else `/run/binder/binder.sock`.
    public static var defaultSocketPath: String {
        ProcessControl.defaultRuntimeDirectory + "/binder.sock"
    }

    public let fd: Int32
    /// Negotiated limits and the identity the broker recorded for this process.
    public let welcome: Welcome
    public var serviceManager: ServiceManager { ServiceManager(connection: self) }
    /// What `transact(container:service:...)` looked up (Containers.swift).
    let serviceCache = ContainerServiceCache()

    struct Frame {
        var header: FrameHeader
        var parcel: Parcel
    }

    // Internal rather than private where the channel-end extension (ChannelEnds.swift) uses them.
    let lock = ConditionLock()
    /// Broadcast once when the connection closes; separate from `lock` so waiting on it costs the
    /// pool nothing.
    private let closedLock = ConditionLock()
    private var closedForWaiters = false
    // Guarded by `lock`:
    private var readerBusy = false
    /// Set once a closed serving end has closed its fd (else `deinit` does).
    private var fdClosed = false
    var closed = false
    /// What calls fail with once the connection is closed: `DEAD_OBJECT`, or the status with which
    /// a service refused a direct channel opened without waiting for its answer.
    var closeStatus = StatusCode.deadObject
    /// A direct channel's client end: whether it tried to move onto the rings yet.
    private var upgradeTried = false
    private var sleepers = 0
    private var nextTransactionID: UInt64 = 1
    private var waiting: Set<UInt64> = []
    private var replies: [UInt64: Frame] = [:]
    private var asyncWaiters: [UInt64: CheckedContinuation<Parcel, any Error>] = [:]
    private var incoming: Deque<Frame> = []
    /// Calls that must run on the thread waiting for the outgoing call they are nested in
    /// (`FrameHeader.nestedIn`); that thread takes them, any other leaves them.
    private var nested: Deque<Frame> = []
    var objects = LocalObjectTable()
    /// The handles this process holds (References.swift). A lock of its own: proxies and parcels
    /// let go of handles in `deinit`, which may run while `lock` is held.
    let heldReferences = Mutex(HeldReferences())
    var poolThreads = 0
    private let maxPoolThreads: Int
    /// One-way calls finished and not yet reported to the broker with FREE, and their bytes.
    private var unfreedCalls: UInt32 = 0
    private var unfreedBytes: UInt64 = 0
    /// FREE is sent when the pool has nothing queued, or once this much is unreported.
    static let freeBatchBytes: UInt64 = 64 * 1024
    /// Used by whichever thread holds the reader role (Framing.swift).
    let receiver: FrameReceiver
    /// Set for a direct channel's end: which side, and (serving side) the object it serves.
    let channel: ChannelRole?
    /// Threads that serve direct channels made through this connection, kept for the next channel
    /// (nil on a channel's own connection).
    let channelThreads: ReusableThreads?
    /// Death links made through this connection (DeathRecipient.swift).
    let deathLinks = DeathLinkTable()
    /// Direct channels made through this broker connection; closed with it.
    /// Strong references: a weak one would give every connection a side table and slow down
    /// each retain and release on the hot path. A channel leaves this table when it closes.
    var channels: [ObjectIdentifier: BinderConnection] = [:]

    /// Connects and performs the handshake.
    /// - Parameters:
    ///   - path: the broker socket; `defaultSocketPath` when nil.
    ///   - threadPoolSize: the most threads that serve local objects. The first starts when the
    ///     first object is published or the first async call is made; the broker asks for more
    ///     when every one is busy (WIRE.md §5.2).
    /// - Throws: `SystemError` if the socket cannot be reached; `StatusCode` if the handshake fails.
    public convenience init(path: String? = nil, threadPoolSize: Int = 4, maxFrameSize: UInt32 = Limits.defaultMaxFrameSize) throws {
        let fd = try SeqPacket.connect(path: path ?? Self.defaultSocketPath)
        SeqPacket.setSendBufferSize(fd, bytes: Int32(maxFrameSize) * 2)
        var hello = Parcel()
        Hello(maxFrameSize: maxFrameSize, maxThreads: UInt32(max(1, threadPoolSize))).write(to: &hello)
        // The WELCOME lands in the array that becomes the connection's receive buffer (no copy).
        var body = Self.makeBodyBuffer(maxFrameSize: maxFrameSize)
        let welcome: Welcome
        do {
            try Self.sendFrame(fd: fd, header: FrameHeader(command: .hello), parcel: hello)
            let header = try body.withUnsafeMutableBytes { body in try Self.receiveControlFrame(fd: fd, body: body) }
            guard let header, header.command == .welcome else { throw StatusCode.badType }
            var p = Parcel(bytes: Array(body[0..<Int(header.dataLength)]))
            welcome = try Welcome.read(from: &p)
            guard welcome.major == Hello.protocolMajor else { throw StatusCode.badType }
        } catch {
            SeqPacket.shutdown(fd)
            FileDescriptor.close(fd)
            throw error
        }
        self.init(fd: fd, welcome: welcome, bodyBuffer: body, threadPoolSize: threadPoolSize, channel: nil)
    }

    /// Takes over a connected socket whose handshake is done: the broker connection (`channel` nil)
    /// or one end of a direct channel (DirectChannel.swift).
    init(fd: Int32, welcome: Welcome, bodyBuffer: [UInt8], threadPoolSize: Int, channel: ChannelRole?) {
        self.fd = fd
        self.welcome = welcome
        receiver = FrameReceiver(fd: fd, bodyBuffer: bodyBuffer, maxFrameSize: welcome.maxFrameSize, maxFDs: welcome.maxFDs)
        self.channel = channel
        channelThreads = channel == nil ? ReusableThreads(name: "binder-ch", maxIdle: 4) : nil
        maxPoolThreads = max(1, threadPoolSize)
    }

    deinit {
        if !fdClosed { FileDescriptor.close(fd) }
    }

    /// Shuts the connection down: waiting calls fail with `DEAD_OBJECT`, pool threads exit,
    /// and the broker forgets this process's services.
    /// Direct channels made through this connection close too.
    public func close() {
        SeqPacket.shutdown(fd)
        lock.withLock { shutDownChannels() }
        channel?.parent.untrack(self)
    }

    public var isClosed: Bool { lock.withLock { closed } }

    // MARK: Calls

    /// Sends a transaction to `handle` and waits for the reply on this thread.
    public func transact(handle: UInt32, code: UInt32, data: Parcel, flags: TransactionFlags = []) throws(StatusCode) -> Parcel {
        try transactBlocking(target: UInt64(handle), code: code, data: data, flags: flags)
    }

    /// `target` is a handle on the broker connection, the object's cookie on a direct channel.
    func transactBlocking(target: UInt64, code: UInt32, data: Parcel, flags: TransactionFlags) throws(StatusCode) -> Parcel {
        let oneWay = flags.contains(.oneWay)
        lock.lock()
        if closed {
            lock.unlock()
            throw closeStatus
        }
        // A direct channel's client moves it onto shared rings from its second call, once the
        // service has answered and nothing is in flight (WIRE.md §7.5.1): a channel used once never
        // pays for the mapping.
        if nextTransactionID >= 2, !upgradeTried, let channel, !channel.serving, channel.answered, waiting.isEmpty, asyncWaiters.isEmpty,
            !readerBusy, poolThreads == 0
        {
            upgradeTried = true
            moveOntoRings()
        }
        let txid = nextTransactionID
        nextTransactionID += 1
        // The broker acknowledges a one-way call once it has queued it for the receiver, or refuses
        // it (a full incoming buffer): the caller waits for that, as with Binder's
        // TRANSACTION_COMPLETE. Nothing acknowledges one on a direct channel.
        let awaitsAnswer = !oneWay || channel == nil
        if awaitsAnswer { waiting.insert(txid) }
        lock.unlock()
        // A two-way call made while this thread serves a routed call names that call, so that a
        // call back into this process runs on this thread (WIRE.md §3.1).
        let nestedIn = oneWay || channel != nil ? 0 : callServedOnThisThread
        do throws(StatusCode) {
            try send(FrameHeader(
                command: .transaction, flags: oneWay ? flags : flags.union(.acceptFDs), transactionID: txid, target: target,
                code: code, nestedIn: nestedIn), data)
        } catch {
            guard error == .deadObject, awaitsRefusal else {
                lock.withLock { _ = waiting.remove(txid) }
                throw error
            }
            // The service hung up before answering: usually a refusal, still queued for this end.
            // The call waits for the reader to meet it (or the end of the socket) and fails with it.
            if !awaitsAnswer { lock.withLock { _ = waiting.insert(txid) } }
            _ = try drive(until: txid)
            throw .deadObject  // not reached: nothing replies on a socket the service closed
        }
        if !awaitsAnswer { return Parcel() }
        let reply = try drive(until: txid)!
        guard reply.header.status == .ok else { throw reply.header.status }
        return oneWay ? Parcel() : reply.parcel
    }

    /// Sends a transaction and suspends until the reply; a pool thread receives it.
    public func transact(handle: UInt32, code: UInt32, data: Parcel, flags: TransactionFlags = []) async throws(StatusCode) -> Parcel {
        try await transactAsync(target: UInt64(handle), code: code, data: data, flags: flags)
    }

    func transactAsync(target: UInt64, code: UInt32, data: Parcel, flags: TransactionFlags) async throws(StatusCode) -> Parcel {
        let oneWay = flags.contains(.oneWay)
        // Nothing acknowledges a one-way call on a direct channel: it is sent and done. On the broker
        // connection its acknowledgement (WIRE.md §3) resumes the caller like a reply.
        if oneWay && channel != nil { return try transactBlocking(target: target, code: code, data: data, flags: flags) }
        startPoolIfNeeded()
        do {
            return try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Parcel, any Error>) in
                lock.lock()
                if closed {
                    let status = closeStatus
                    lock.unlock()
                    return continuation.resume(throwing: status)
                }
                let txid = nextTransactionID
                nextTransactionID += 1
                asyncWaiters[txid] = continuation
                lock.unlock()
                do throws(StatusCode) {
                    try send(FrameHeader(command: .transaction, flags: oneWay ? flags : flags.union(.acceptFDs), transactionID: txid, target: target, code: code), data)
                } catch {
                    // A hang-up before the service answered: a pool thread reads the refusal (or the
                    // end of the socket) and fails the call with it, as in `transactBlocking`.
                    if error == .deadObject && awaitsRefusal { return }
                    if let c = lock.withLock({ asyncWaiters.removeValue(forKey: txid) }) { c.resume(throwing: error) }
                }
            }
        } catch let status as StatusCode {
            throw status
        } catch {
            throw .unknownError
        }
    }

    /// Sends a frame after checking it against the negotiated limits: a frame the broker would
    /// refuse fails here (`FAILED_TRANSACTION` for size, `BAD_VALUE` for too many objects or fds)
    /// instead of getting the whole connection dropped.
    private func send(_ header: FrameHeader, _ parcel: Parcel) throws(StatusCode) {
        guard FrameHeader.size + parcel.count + 4 * parcel.objectOffsets.count <= Int(welcome.maxFrameSize) else {
            throw .failedTransaction
        }
        guard parcel.objectOffsets.count <= Limits.maxObjects, parcel.fileDescriptors.count <= Int(welcome.maxFDs) else {
            throw .badValue
        }
        // No broker translates object references on a direct channel (WIRE.md §7.5).
        if !parcel.objectOffsets.isEmpty {
            if channel != nil { throw .invalidOperation }
            countSentReferences(parcel)
        }
        do {
            if let channel { try channel.send(fd: fd, header: header, parcel: parcel) } else { try Self.sendFrame(fd: fd, header: header, parcel: parcel) }
        } catch {
            throw error.isDisconnect ? .deadObject : .failedTransaction
        }
    }

    /// Calls a local object directly on this thread (a lookup of this process's own service).
    func transactLocal(_ object: any BinderObject, code: UInt32, data: Parcel, flags: TransactionFlags) throws(StatusCode) -> Parcel {
        let me = CallerIdentity(pid: Int32(bitPattern: welcome.pid), uid: welcome.uid, container: welcome.container)
        let (status, reply) = invoke(object, code: code, data: data, flags: flags, caller: me)
        guard status == .ok else { throw status }
        return flags.contains(.oneWay) ? Parcel() : reply
    }

    /// Runs `onTransact`, turning what it throws into a transport status or an exception header.
    private func invoke(_ object: any BinderObject, code: UInt32, data: Parcel, flags: TransactionFlags, caller: CallerIdentity) -> (StatusCode, Parcel) {
        var data = data
        var reply = Parcel()
        let context = TransactionContext(caller: caller, flags: flags, connection: channel?.parent ?? self)
        do {
            try object.onTransact(code: code, data: &data, reply: &reply, context: context)
            return (.ok, reply)
        } catch let s as StatusCode {
            return (s, Parcel())
        } catch let e as ServiceError {
            reply.removeAll()
            reply.writeException(e)
        } catch {
            reply.removeAll()
            reply.writeException(ServiceError(.illegalState, "\(error)"))
        }
        return (.ok, reply)
    }

    // MARK: Objects

    /// The reference to write into a parcel for a local object; publishes it on first use.
    public func publish(_ object: any BinderObject) -> ObjectRef {
        let cookie = lock.withLock { objects.publish(object) }
        startPoolIfNeeded()
        return ObjectRef(kind: .local, id: cookie, flags: object.acceptsFileDescriptors ? ObjectRef.acceptsFDs : 0)
    }

    /// Serves `object` as `cookie` on a direct channel's serving end (before its pool starts).
    func bind(_ object: any BinderObject, cookie: UInt64) {
        lock.withLock { objects.bind(object, cookie: cookie) }
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
        return lock.withLock { objects[ref.id]?.object }
    }

    // MARK: References (References.swift, WIRE.md §4.4)

    /// Counts the references to this process's own objects in a parcel about to go to the broker.
    private func countSentReferences(_ parcel: Parcel) {
        guard let refs = try? parcel.objectReferences() else { return }
        lock.withLock { objects.sending(refs) }
    }

    /// RELEASED: no other process holds the object. It leaves the table unless a reference to it
    /// is still on its way; then its `onLastReferenceReleased` runs, on this pool thread.
    private func objectReleased(_ header: FrameHeader) {
        lock.withLock { objects.released(header.target, seen: header.transactionID) }?.onLastReferenceReleased()
    }

    // MARK: Thread pool

    /// Starts the pool threads (once); further calls do nothing.
    public func startPoolIfNeeded() { startPool(callerJoins: false) }

    /// The broker connection starts one thread and more when the broker asks (`spawnThread`);
    /// a direct channel, which has no broker to ask, starts all of its threads.
    /// - Parameter callerJoins: the calling thread will serve too, so start one thread fewer.
    private func startPool(callerJoins: Bool) {
        let initial = channel == nil ? 1 : maxPoolThreads
        let started: Bool = lock.withLock {
            guard poolThreads == 0, !closed else { return false }
            poolThreads = initial
            return true
        }
        guard started else { return }
        for i in 0..<(callerJoins ? initial - 1 : initial) { startPoolThread(i) }
        if channel == nil { reportThreads(initial) }
    }

    private func startPoolThread(_ i: Int) {
        let alone = channel != nil && maxPoolThreads == 1
        let body: @Sendable () -> Void = { [self] in
            if alone { serveAlone() } else { _ = try? drive(until: nil) }
            poolThreadExited()
        }
        // A channel's threads come from its broker connection's reusable ones: a channel may
        // live for one call, and creating a thread costs more than the call.
        if let threads = channel?.parent.channelThreads { threads.run(body) } else { startThread(name: "binder:\(i)", body) }
    }

    /// The broker found every pool thread busy (lock held): one more, up to the maximum. The
    /// answer is the thread count either way, so the broker forgets its request.
    private func spawnRequested() {
        if poolThreads > 0 && poolThreads < maxPoolThreads && !closed {
            poolThreads += 1
            startPoolThread(poolThreads - 1)
        }
        reportThreads(poolThreads)  // a system call under the lock, but a rare one
    }

    private func reportThreads(_ count: Int) {
        try? Self.sendFrame(fd: fd, header: FrameHeader(command: .threads, code: UInt32(count)), parcel: Parcel())
    }

    /// The last pool thread out of a closed direct channel tells the channel's owner.
    func poolThreadExited() {
        let last = lock.withLock {
            poolThreads -= 1
            guard poolThreads == 0 else { return false }
            // A closed serving end: its own threads were the last to use the fd (the broker
            // connection forgot it when it closed), so it closes now, before its owner hears.
            if channel?.serving == true && closed && !fdClosed {
                fdClosed = true
                FileDescriptor.close(fd)
            }
            return true
        }
        if last { channel?.onClosed?() }
    }

    /// Blocks the calling thread until the connection closes (for example, a service process's main
    /// thread while the pool serves). Unlike `joinThreadPool`, the caller does not serve calls.
    public func waitUntilClosed() {
        closedLock.lock()
        while !closedForWaiters { closedLock.wait() }
        closedLock.unlock()
    }

    /// Serves local objects on the calling thread until the connection closes. The calling thread
    /// counts as one of the pool's threads if the pool was not started yet.
    public func joinThreadPool() {
        startPool(callerJoins: true)
        _ = try? drive(until: nil)
        poolThreadExited()
    }

    /// The leader/follower loop. With a transaction id: returns that reply (or throws `DEAD_OBJECT`
    /// when the connection closes). With nil: serves incoming transactions until the connection closes.
    private func drive(until txid: UInt64?) throws(StatusCode) -> Frame? {
        lock.lock()
        while true {
            if let txid, !replies.isEmpty, let reply = replies.removeValue(forKey: txid) {
                stopWaiting(txid)
                lock.unlock()
                return reply
            }
            if let txid, !nested.isEmpty, let i = nested.firstIndex(where: { $0.header.nestedIn == txid }) {
                // A call back into this process from the one this thread waits on: it runs here.
                let frame = nested.remove(at: i)
                let object = objects[frame.header.target]?.object
                lock.unlock()
                run(frame, on: object)
                lock.lock()
                continue
            }
            if closed {
                if let txid { waiting.remove(txid) }
                let status = closeStatus
                lock.unlock()
                if txid != nil { throw status }
                return nil
            }
            if txid == nil, let (work, object) = nextWork() {
                lock.unlock()
                dispatch(work, on: object)
                lock.lock()
                continue
            }
            if !readerBusy {
                readerBusy = true
                lock.unlock()
                let frame = receiveFrame()
                lock.lock()
                readerBusy = false
                if let txid, let frame, frame.header.command == .reply, frame.header.transactionID == txid {
                    // Our own reply: return it directly; one sleeper (if any) takes over reading.
                    stopWaiting(txid)
                    if sleepers > 0 { lock.signal() }
                    lock.unlock()
                    return frame
                }
                var resume: (CheckedContinuation<Parcel, any Error>, Result<Parcel, StatusCode>)? = nil
                let forSomeoneElse = route(frame, resume: &resume)
                // Everyone must look when a reply is theirs or a caller queued work for the pool;
                // otherwise one sleeper is enough, to take over the reader role. A lone thread never
                // pays for a wake-up.
                if sleepers > 0 {
                    if forSomeoneElse || (txid != nil && !incoming.isEmpty) { lock.broadcast() } else { lock.signal() }
                }
                if let (continuation, result) = resume {
                    lock.unlock()
                    continuation.resume(with: result.mapError { $0 as any Error })
                    lock.lock()
                }
                continue
            }
            sleepers += 1
            lock.wait()
            sleepers -= 1
        }
    }

    /// A blocking call is over (lock held). Nested calls still filed for it (there should be none:
    /// the callee answered after they ended) go to the pool rather than wait for nobody.
    private func stopWaiting(_ txid: UInt64) {
        waiting.remove(txid)
        guard !nested.isEmpty else { return }
        while let i = nested.firstIndex(where: { $0.header.nestedIn == txid }) { incoming.append(nested.remove(at: i)) }
    }

    /// Files a received frame (lock held); returns whether a sleeping thread must see it.
    /// nil means the connection is gone.
    func route(
        _ frame: Frame?, resume: inout (CheckedContinuation<Parcel, any Error>, Result<Parcel, StatusCode>)?
    ) -> Bool {
        guard let frame else {
            closed = true
            closedLock.withLock {
                closedForWaiters = true
                closedLock.broadcast()
            }
            let pendingAsync = asyncWaiters
            asyncWaiters.removeAll()
            // Resumed outside the lock by the caller for one; the rest here is safe: resume never blocks.
            for (_, c) in pendingAsync { c.resume(throwing: closeStatus) }
            shutDownChannels()
            channel?.parent.untrack(self)
            return true
        }
        switch frame.header.command {
        case .reply:
            let txid = frame.header.transactionID
            if waiting.contains(txid) {
                replies[txid] = frame  // another thread's reply (the reader's own never gets here)
                return true
            } else if let c = asyncWaiters.removeValue(forKey: txid) {
                resume = (c, frame.header.status == .ok ? .success(frame.parcel) : .failure(frame.header.status))
            }
            return false
        case .spawnThread:
            if channel == nil { spawnRequested() }
            return false
        case .released:
            // Decided on a pool thread, behind the calls already queued (References.swift).
            if channel == nil { incoming.append(frame) }
            return false
        case .free, .threads, .release:
            return false  // only clients send these
        case .transaction:
            let parent = frame.header.nestedIn
            if parent != 0 && waiting.contains(parent) {
                nested.append(frame)
                return true
            }
            incoming.append(frame)
            return false
        case .hello, .welcome:
            return false
        }
    }

    /// The next transaction a pool thread may run and its object (lock held), keeping one-way calls
    /// to one object in order. The object is taken now: a RELEASED notice behind the call may drop
    /// it from the table before the call runs.
    private func nextWork() -> (Frame, LocalObjectTable.Entry?)? {
        while let frame = incoming.popFirst() {
            let object = objects[frame.header.target]
            guard frame.header.flags.contains(.oneWay), let object else { return (frame, object) }
            if object.oneWayBusy {
                object.oneWayQueue.append(frame)
                continue
            }
            object.oneWayBusy = true
            return (frame, object)
        }
        return nil
    }

    private func dispatch(_ first: Frame, on object: LocalObjectTable.Entry?) {
        if first.header.command == .released { return objectReleased(first.header) }
        var frame = first
        while true {
            run(frame, on: object?.object)
            guard frame.header.flags.contains(.oneWay) else { return }
            // A one-way call: its part of the incoming buffer is freed (reported in batches), and
            // the next one queued for the same object runs on this thread, in order.
            var free: (calls: UInt32, bytes: UInt64)? = nil
            let next: Frame? = lock.withLock {
                if channel == nil {
                    unfreedCalls += 1
                    unfreedBytes += UInt64(frame.header.frameLength)
                    if unfreedBytes >= Self.freeBatchBytes || (incoming.isEmpty && object?.oneWayQueue.isEmpty ?? true) {
                        free = (unfreedCalls, unfreedBytes)
                        (unfreedCalls, unfreedBytes) = (0, 0)
                    }
                }
                guard let object else { return nil }
                if let n = object.oneWayQueue.popFirst() { return n }
                object.oneWayBusy = false
                return nil
            }
            if let free {
                try? Self.sendFrame(fd: fd, header: FrameHeader(command: .free, target: free.bytes, code: free.calls), parcel: Parcel())
            }
            guard let next else { return }
            frame = next
        }
    }

    func run(_ frame: Frame, on object: (any BinderObject)?) {
        let header = frame.header
        var (status, reply) = (StatusCode.deadObject, Parcel())
        if let object {
            if let channel {
                // A direct channel: the checks the broker makes on a routed call, and the caller's
                // identity as the broker stamped it when the channel was made (never the frame's).
                if let refusal = channel.refusal(of: frame.header, for: object) {
                    status = refusal
                } else {
                    (status, reply) = invoke(object, code: header.code, data: frame.parcel, flags: header.flags, caller: channel.peer)
                    if !reply.fileDescriptors.isEmpty && !header.flags.contains(.acceptFDs) { (status, reply) = (.fdsNotAllowed, Parcel()) }
                }
            } else if BrokerNotice.reserved.contains(header.code) {
                // Only the broker can send these codes (WIRE.md §7.7).
                var data = frame.parcel
                if let notice = BrokerNotice(rawValue: header.code), let container: UInt32 = try? data.read() {
                    object.onContainerProxy(container, loaded: notice == .proxyLoaded)
                }
            } else if header.transactionID != 0 {
                // A two-way routed call: calls the handler makes name it (`callServedOnThisThread`).
                (status, reply) = serving(header.transactionID) {
                    invoke(object, code: header.code, data: frame.parcel, flags: header.flags, caller: CallerIdentity(header.sender))
                }
            } else {
                (status, reply) = invoke(object, code: header.code, data: frame.parcel, flags: header.flags, caller: CallerIdentity(header.sender))
            }
        }
        guard !header.flags.contains(.oneWay) else { return }
        do throws(StatusCode) {
            try send(FrameHeader(command: .reply, transactionID: header.transactionID, status: status), reply)
        } catch {
            // The reply itself is too large for the caller: tell it so rather than leave it waiting.
            try? send(FrameHeader(command: .reply, transactionID: header.transactionID, status: error), Parcel())
        }
    }

    /// Receives one frame as the reader. nil when the connection is closed or broken.
    func receiveFrame() -> Frame? {
        while true {
            switch receiver.receive(accepting: { channel?.accepts($0) ?? true }, refusingObjectsInReplies: channel != nil) {
            case .ended:
                return nil
            case .broken:
                close()
                return nil
            case .empty:
                continue  // only a non-blocking receive gives this
            case .frame(let frame) where channel != nil:
                switch takeChannelFrame(frame) {  // ChannelEnds.swift
                case .deliver: return frame
                case .taken: continue
                case .broken:
                    close()
                    return nil
                }
            case .frame(var frame):
                if frame.header.objectCount > 0 && channel == nil { noteDeliveredReferences(in: &frame.parcel) }
                return frame
            }
        }
    }
}
