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
/// The decisions (which thread reads, whose reply a frame is, what a pool thread runs next, when
/// to report FREE or grow the pool) are `ConnectionCore`'s (Core/); this class is its shell: the
/// lock, the loop that asks the core what to do, the socket, and running the calls.
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

    /// What resumes an async call.
    typealias AsyncWaiter = CheckedContinuation<Parcel, any Error>
    typealias Effects = ConnectionEffects<AsyncWaiter>

    // Internal rather than private where the channel-end extension (ChannelEnds.swift) uses them.
    let lock = ConditionLock()
    /// Broadcast once when the connection closes; separate from `lock` so waiting on it costs the
    /// pool nothing.
    private let closedLock = ConditionLock()
    private var closedForWaiters = false
    // Guarded by `lock`:
    /// The calls, queues, pool and objects (Core/ConnectionCore.swift).
    var core: ConnectionCore<AsyncWaiter>
    /// Set once a closed serving end has closed its fd (else `deinit` does).
    private var fdClosed = false
    /// A direct channel's client end: whether it tried to move onto the rings yet.
    private var upgradeTried = false
    /// The handles this process holds (Core/HeldReferences.swift). A lock of its own: proxies and
    /// parcels let go of handles in `deinit`, which may run while `lock` is held.
    let heldReferences = Mutex(HeldReferences())
    /// A direct channel's serving end with one thread: receive, run, reply on that thread alone.
    private let servesAlone: Bool
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
        core = ConnectionCore(behaviour: channel == nil ? .broker : .directChannel, maxThreads: threadPoolSize)
        servesAlone = channel != nil && max(1, threadPoolSize) == 1
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

    public var isClosed: Bool { lock.withLock { core.closed } }

    // MARK: Calls

    /// Sends a transaction to `handle` and waits for the reply on this thread.
    public func transact(handle: UInt32, code: UInt32, data: Parcel, flags: TransactionFlags = []) throws(StatusCode) -> Parcel {
        try transactBlocking(target: UInt64(handle), code: code, data: data, flags: flags)
    }

    /// `target` is a handle on the broker connection, the object's cookie on a direct channel.
    func transactBlocking(target: UInt64, code: UInt32, data: Parcel, flags: TransactionFlags) throws(StatusCode) -> Parcel {
        let oneWay = flags.contains(.oneWay)
        lock.lock()
        // A direct channel's client moves it onto shared rings from its second call, once the
        // service has answered and nothing is in flight (WIRE.md §7.5.1): a channel used once never
        // pays for the mapping.
        if !upgradeTried, core.calls.started >= 1, !core.closed, let channel, !channel.serving, channel.answered, core.isQuiescent {
            upgradeTried = true
            moveOntoRings()
        }
        // The broker acknowledges a one-way call once it has queued it for the receiver, or refuses
        // it (a full incoming buffer): the caller waits for that, as with Binder's
        // TRANSACTION_COMPLETE. Nothing acknowledges one on a direct channel.
        let txid: UInt64, awaitsAnswer: Bool
        switch core.startCall(oneWay: oneWay) {
        case .success(let call): (txid, awaitsAnswer) = call
        case .failure(let status):
            lock.unlock()
            throw status
        }
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
                lock.withLock { core.abandon(txid) }
                throw error
            }
            // The service hung up before answering: usually a refusal, still queued for this end.
            // The call waits for the reader to meet it (or the end of the socket) and fails with it.
            if !awaitsAnswer { lock.withLock { core.waitAnyway(for: txid) } }
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
            return try await withCheckedThrowingContinuation { (continuation: AsyncWaiter) in
                lock.lock()
                guard let txid = core.startAsyncCall(continuation) else {
                    let status = core.closeStatus
                    lock.unlock()
                    return continuation.resume(throwing: status)
                }
                lock.unlock()
                do throws(StatusCode) {
                    try send(FrameHeader(command: .transaction, flags: oneWay ? flags : flags.union(.acceptFDs), transactionID: txid, target: target, code: code), data)
                } catch {
                    // A hang-up before the service answered: a pool thread reads the refusal (or the
                    // end of the socket) and fails the call with it, as in `transactBlocking`.
                    if error == .deadObject && awaitsRefusal { return }
                    if let c = lock.withLock({ core.abandonAsync(txid) }) { c.resume(throwing: error) }
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
        let cookie = lock.withLock { core.objects.publish(object) }
        startPoolIfNeeded()
        return ObjectRef(kind: .local, id: cookie, flags: object.acceptsFileDescriptors ? ObjectRef.acceptsFDs : 0)
    }

    /// Serves `object` as `cookie` on a direct channel's serving end (before its pool starts).
    func bind(_ object: any BinderObject, cookie: UInt64) {
        lock.withLock { core.objects.bind(object, cookie: cookie) }
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

    // MARK: References (References.swift, WIRE.md §4.4)

    /// Counts the references to this process's own objects in a parcel about to go to the broker.
    private func countSentReferences(_ parcel: Parcel) {
        guard let refs = try? parcel.objectReferences() else { return }
        lock.withLock { core.objects.sending(refs) }
    }

    /// RELEASED: no other process holds the object. It leaves the table unless a reference to it
    /// is still on its way; then its `onLastReferenceReleased` runs, on this pool thread.
    private func objectReleased(_ header: FrameHeader) {
        lock.withLock { core.objects.released(header.target, seen: header.transactionID) }?.onLastReferenceReleased()
    }

    // MARK: Thread pool

    /// Starts the pool threads (once); further calls do nothing.
    public func startPoolIfNeeded() { startPool(callerJoins: false) }

    /// The broker connection starts one thread and more when the broker asks (`spawnThread`);
    /// a direct channel, which has no broker to ask, starts all of its threads.
    /// - Parameter callerJoins: the calling thread will serve too, so start one thread fewer.
    private func startPool(callerJoins: Bool) {
        var effects = Effects()
        guard lock.withLock({ core.startPool(callerJoins: callerJoins, effects: &effects) }) else { return }
        carryOut(effects)
    }

    private func startPoolThread(_ i: Int) {
        let body: @Sendable () -> Void = { [self] in
            if servesAlone { serveAlone() } else { _ = try? drive(until: nil) }
            poolThreadExited()
        }
        // A channel's threads come from its broker connection's reusable ones: a channel may
        // live for one call, and creating a thread costs more than the call.
        if let threads = channel?.parent.channelThreads { threads.run(body) } else { startThread(name: "binder:\(i)", body) }
    }

    /// The last pool thread out of a closed direct channel tells the channel's owner.
    func poolThreadExited() {
        let (last, closeFD) = lock.withLock {
            guard core.threadExited() else { return (false, false) }
            // A closed serving end: its own threads were the last to use the fd (the broker
            // connection forgot it when it closed), so it closes now, before its owner hears.
            let closeFD = channel?.serving == true && core.closed && !fdClosed
            if closeFD { fdClosed = true }
            return (true, closeFD)
        }
        if closeFD { FileDescriptor.close(fd) }
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

    // MARK: The leader/follower loop

    /// With a transaction id: returns that reply (or throws the close status when the connection
    /// closes). With nil: serves incoming transactions until the connection closes. What to do next
    /// is the core's decision (`ConnectionCore.next(for:)`); this loop does it.
    private func drive(until txid: UInt64?) throws(StatusCode) -> ReceivedFrame? {
        lock.lock()
        while true {
            switch core.next(for: txid) {
            case .reply(let reply):
                lock.unlock()
                return reply
            case .runNested(let call, let object):
                // A call back into this process from the one this thread waits on: it runs here.
                lock.unlock()
                run(call, on: object?.object)
                lock.lock()
            case .closed(let status):
                lock.unlock()
                if txid != nil { throw status }
                return nil
            case .serve(let frame, let object):
                lock.unlock()
                dispatch(frame, on: object)
                lock.lock()
            case .read:
                lock.unlock()
                let frame = receiveFrame()
                lock.lock()
                var effects = Effects()
                let mine = core.received(frame, by: txid, effects: &effects)
                wake(effects.wake)
                guard mine != nil || effects.hasWorkAfterUnlock else { continue }
                lock.unlock()
                carryOut(effects)
                if let mine { return mine }
                lock.lock()
            case .sleep:
                lock.wait()
                core.woke()
            }
        }
    }

    /// Wakes sleeping threads as the core asked (lock held).
    private func wake(_ wake: Effects.Wake) {
        switch wake {
        case .none: break
        case .one: lock.signal()
        case .all: lock.broadcast()
        }
    }

    /// Does what the core asked for besides waking (lock not held): resumes async callers, reports
    /// FREE and THREADS to the broker, starts pool threads, and tells waiters about a close.
    func carryOut(_ effects: Effects) {
        if let (waiter, result) = effects.resume { waiter.resume(with: result.mapError { $0 as any Error }) }
        if let free = effects.free {
            try? Self.sendFrame(fd: fd, header: FrameHeader(command: .free, target: free.bytes, code: free.calls), parcel: Parcel())
        }
        if let growth = effects.growth {
            for i in growth.start { startPoolThread(i) }
            if let count = growth.report {
                try? Self.sendFrame(fd: fd, header: FrameHeader(command: .threads, code: UInt32(count)), parcel: Parcel())
            }
        }
        if let status = effects.closed {
            closedLock.withLock {
                closedForWaiters = true
                closedLock.broadcast()
            }
            for waiter in effects.failed { waiter.resume(throwing: status) }
            lock.withLock { shutDownChannels() }
            channel?.parent.untrack(self)
        }
    }

    /// The connection's socket ended outside the loop (a serving end's lone thread): closes the core.
    func markClosed() {
        var effects = Effects()
        lock.withLock {
            core.close(effects: &effects)
            wake(effects.wake)
        }
        carryOut(effects)
    }

    private func dispatch(_ first: ReceivedFrame, on object: LocalObjectTable.Entry?) {
        if first.header.command == .released { return objectReleased(first.header) }
        var frame = first
        while true {
            run(frame, on: object?.object)
            guard frame.header.flags.contains(.oneWay) else { return }
            // A one-way call: its part of the incoming buffer is freed (reported in batches), and
            // the next one queued for the same object runs on this thread, in order.
            var effects = Effects()
            let next = lock.withLock { core.finishedOneWay(frame, on: object, effects: &effects) }
            if effects.hasWorkAfterUnlock { carryOut(effects) }
            guard let next else { return }
            frame = next
        }
    }

    func run(_ frame: ReceivedFrame, on object: (any BinderObject)?) {
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
    func receiveFrame() -> ReceivedFrame? {
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
