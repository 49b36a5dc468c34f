import BinderPlatform
import BinderWire

/// One end of a connection that carries frames: the broker connection (`BinderConnection`) or a
/// direct channel's end (`DirectChannelEnd`). Both are thin shells over the same pieces: the pure
/// `ConnectionCore` (Core/), a `FrameTransport` (Transport/), and the calls, the leader/follower
/// loop and the pool written once in this protocol's extensions (this file, FrameEndpoint+Loop.swift).
/// What differs between the two planes is what each shell supplies below: its rules.
///
/// A protocol with extensions rather than a base class: `BinderConnection` is public and its
/// shared machinery is not, and the extensions are specialized for each final class (no dynamic
/// dispatch on the hot path).
protocol FrameEndpoint: AnyObject, Sendable {
    associatedtype Transport: FrameTransport
    typealias AsyncWaiter = CheckedContinuation<Parcel, any Error>
    typealias Effects = ConnectionEffects<AsyncWaiter>

    /// The rules of the core for this kind of end.
    static var behaviour: ConnectionBehaviour { get }

    /// Guards `core` (and the shell's own mutable state).
    var lock: ConditionLock { get }
    var core: ConnectionCore<AsyncWaiter> { get set }
    var transport: Transport { get }
    /// Used by whichever thread holds the reader role.
    var receiver: FrameReceiver { get }
    /// Counted down once when the connection closes; separate from `lock`, so that waiting for
    /// the close costs the pool nothing.
    var closeLatch: Latch { get }
    /// Negotiated limits and this process's identity as the broker recorded it.
    var limits: Welcome { get }
    /// The broker connection calls served here may make calls on (`TransactionContext.connection`).
    var owner: BinderConnection { get }

    // MARK: Rules

    /// Lock held, before a call is filed (a channel's client may switch transports here; a broker
    /// connection that is resuming its session holds the call here until it has).
    func beforeCall()
    /// Lock held: the reader met the end of the socket, which was not this end's own doing. True
    /// when the shell reconnects (a broker connection's session, WIRE.md §2.1): the core is then
    /// suspended instead of closed.
    func brokerWentAway() -> Bool
    /// Sessions resumed so far (0 where there are none).
    var resumptions: UInt64 { get }
    /// Lock not held: a call's send failed because the broker went away. True once a session
    /// resumption after the `seen`th completed: the call was never delivered and may be sent again.
    func waitForResumption(after seen: UInt64) -> Bool
    /// The `nestedIn` of a two-way call made on this thread (WIRE.md §3.1).
    var nestedIn: UInt64 { get }
    /// Checks an outgoing parcel that carries object references, and counts them.
    func sendingObjects(_ parcel: Parcel) throws(StatusCode)
    /// Whether a send that failed with `DEAD_OBJECT` may still be answered by a queued refusal.
    var awaitsRefusal: Bool { get }
    /// Whether a frame with this command may arrive here at all.
    func accepts(_ command: Command) -> Bool
    /// Whether replies with object references are refused (nothing translated them).
    static var refusesObjectsInReplies: Bool { get }
    /// What the reader does with a frame it received, before the core files it.
    func take(_ frame: inout ReceivedFrame) -> FrameDisposition
    /// Runs a call on `object` and returns the status and reply.
    func serve(_ frame: ReceivedFrame, on object: any BinderObject) -> (StatusCode, Parcel)
    /// What a pool thread does (serve until closed).
    func servePool()
    /// Starts a pool thread running `body`.
    func startThread(index: Int, _ body: @escaping @Sendable () -> Void)
    /// The core closed (lock not held): what the shell undoes.
    func didClose()
    /// The last serving thread exited.
    func lastThreadExited()
    /// Shuts the end down: calls fail, threads exit.
    func close()
}

/// What the reader does with a received frame.
enum FrameDisposition {
    /// The core files it (a call, a reply, a notice).
    case deliver
    /// The shell took it (a channel's answer or UPGRADE); read on.
    case taken
    /// Not part of the protocol here: the end closes.
    case broken
}

// MARK: Calls

extension FrameEndpoint {
    /// Sends a transaction to `target` (a handle on the broker connection, the object's cookie on a
    /// direct channel) and waits for the reply on this thread.
    /// - Parameter timeout: how long the caller waits (WIRE.md §3.2): at the deadline the call fails
    ///   with `TIMED_OUT` whether or not the service still runs it. A call made while this thread
    ///   serves one with a deadline inherits what remains of it (the earlier of the two counts).
    func transactBlocking(target: UInt64, code: UInt32, data: Parcel, flags: TransactionFlags, timeout: Duration? = nil) throws(StatusCode) -> Parcel {
        let oneWay = flags.contains(.oneWay)
        let deadline = try CallDeadline.of(timeout)
        lock.lock()
        beforeCall()
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
        let seen = resumptions
        do throws(StatusCode) {
            try send(
                FrameHeader(
                    command: .transaction, flags: oneWay ? flags : flags.union(.acceptFDs), transactionID: txid, target: target,
                    code: code, nestedIn: oneWay ? 0 : nestedIn, deadline: deadline), data)
        } catch {
            guard error == .deadObject, awaitsRefusal else {
                lock.withLock { core.abandon(txid) }
                // The broker went away before the call reached it: sent again once the session resumed.
                if error == .deadObject && waitForResumption(after: seen) {
                    // Within what is left of its own deadline (an inherited one still applies).
                    let left = deadline == 0 ? timeout : .nanoseconds(Int64(clamping: deadline &- min(deadline, monotonicNanos())))
                    return try transactBlocking(target: target, code: code, data: data, flags: flags, timeout: left)
                }
                throw error
            }
            // The service hung up before answering: usually a refusal, still queued for this end.
            // The call waits for the reader to meet it (or the end of the socket) and fails with it.
            if !awaitsAnswer { lock.withLock { core.waitAnyway(for: txid) } }
            _ = try drive(until: txid, deadline: deadline)
            throw .deadObject  // not reached: nothing replies on a socket the service closed
        }
        if !awaitsAnswer { return Parcel() }
        let reply = try drive(until: txid, deadline: deadline)!
        guard reply.header.status == .ok else { throw reply.header.status }
        return oneWay ? Parcel() : reply.parcel
    }

    /// Sends a transaction and suspends until the reply, which a pool thread receives.
    /// - Parameter timeout: as for `transactBlocking`; a timer task fails the call at its deadline.
    func transactAsync(target: UInt64, code: UInt32, data: Parcel, flags: TransactionFlags, timeout: Duration? = nil) async throws(StatusCode) -> Parcel {
        let oneWay = flags.contains(.oneWay)
        // Nothing acknowledges a one-way call on a direct channel: it is sent and done. On the broker
        // connection its acknowledgement (WIRE.md §3) resumes the caller like a reply.
        if oneWay && !Self.behaviour.acknowledgesOneWay {
            return try transactBlocking(target: target, code: code, data: data, flags: flags, timeout: timeout)
        }
        let deadline = try CallDeadline.of(timeout)
        startPool(callerJoins: false)
        var timer: Task<Void, Never>? = nil
        defer { timer?.cancel() }
        do {
            return try await withCheckedThrowingContinuation { (continuation: AsyncWaiter) in
                lock.lock()
                beforeCall()
                guard let txid = core.startAsyncCall(continuation) else {
                    let status = core.closeStatus
                    lock.unlock()
                    return continuation.resume(throwing: status)
                }
                lock.unlock()
                if deadline != 0 { timer = expire(async: txid, at: deadline) }
                do throws(StatusCode) {
                    try send(
                        FrameHeader(
                            command: .transaction, flags: oneWay ? flags : flags.union(.acceptFDs), transactionID: txid, target: target,
                            code: code, deadline: deadline), data)
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

    /// A timer that fails async call `txid` with `TIMED_OUT` at `deadline` unless its reply came
    /// first (then it finds nothing to fail). Cancelled once the call returns either way.
    private func expire(async txid: UInt64, at deadline: UInt64) -> Task<Void, Never> {
        Task { [self] in
            let now = monotonicNanos()
            if deadline > now { try? await Task.sleep(nanoseconds: deadline - now) }
            if Task.isCancelled { return }
            if let c = lock.withLock({ core.abandonAsync(txid) }) { c.resume(throwing: StatusCode.timedOut) }
        }
    }

    /// Sends a frame after checking it against the negotiated limits: a frame the peer would
    /// refuse fails here (`FAILED_TRANSACTION` for size, `BAD_VALUE` for too many objects or fds)
    /// instead of getting the whole connection dropped.
    func send(_ header: FrameHeader, _ parcel: Parcel) throws(StatusCode) {
        guard FrameHeader.size + parcel.count + 4 * parcel.objectOffsets.count <= Int(limits.maxFrameSize) else {
            throw .failedTransaction
        }
        guard parcel.objectOffsets.count <= Limits.maxObjects, parcel.fileDescriptors.count <= Int(limits.maxFDs) else {
            throw .badValue
        }
        if !parcel.objectOffsets.isEmpty { try sendingObjects(parcel) }
        do {
            try transport.send(header, parcel)
        } catch {
            throw error.isDisconnect ? .deadObject : .failedTransaction
        }
    }

    /// Runs `onTransact` as the call this thread serves (`ServedCalls`, which gives
    /// `TransactionContext.current`), turning what it throws into a transport status or an
    /// exception header.
    /// - Parameter routedCall: the broker's ID of a routed two-way call, which calls the handler
    ///   makes are nested in; 0 for any other.
    /// - Parameter deadline: the call's (WIRE.md §3.2), which `TransactionContext` reports and calls
    ///   the handler makes inherit; 0: none.
    func invoke(
        _ object: any BinderObject, code: UInt32, data: Parcel, flags: TransactionFlags, caller: CallerIdentity, routedCall: UInt64 = 0,
        deadline: UInt64 = 0
    ) -> (StatusCode, Parcel) {
        let context = TransactionContext(caller: caller, flags: flags, connection: owner, deadlineNanos: deadline)
        return ServedCalls.serving(context, routedCall: routedCall) {
            var data = data
            var reply = Parcel()
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
    }

    /// Runs a received call and sends its reply (unless it is one-way). A call whose deadline
    /// passed while it waited for a thread is not run: its caller stopped waiting (WIRE.md §3.2).
    func run(_ frame: ReceivedFrame, on object: (any BinderObject)?) {
        let header = frame.header
        var (status, reply) = (StatusCode.deadObject, Parcel())
        if header.deadline != 0 && monotonicNanos() >= header.deadline {
            status = .timedOut
        } else if let object {
            (status, reply) = serve(frame, on: object)
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
        guard case .frame(let frame) = receiveFrame(deadline: 0) else { return nil }
        return frame
    }

    /// Receives one frame as the reader, giving up at `deadline` (`monotonicNanos()`; 0: never).
    func receiveFrame(deadline: UInt64) -> Incoming {
        while true {
            switch receiver.receive(accepting: { accepts($0) }, refusingObjectsInReplies: Self.refusesObjectsInReplies, deadline: deadline) {
            case .ended:
                return .closed
            case .broken:
                close()
                return .closed
            case .empty:
                continue  // only a non-blocking receive gives this
            case .timedOut:
                return .timedOut
            case .frame(var frame):
                switch take(&frame) {
                case .deliver: return .frame(frame)
                case .taken: continue
                case .broken:
                    close()
                    return .closed
                }
            }
        }
    }
}

/// What the reader's receive got.
enum Incoming {
    case frame(ReceivedFrame)
    /// The connection is closed or broken.
    case closed
    /// The reader's call reached its deadline first.
    case timedOut
}

/// A call's deadline (WIRE.md §3.2) as the `monotonicNanos()` instant the frame carries.
enum CallDeadline {
    /// The deadline of a call with `timeout`, made on this thread: the earlier of now + `timeout`
    /// and the deadline of the call this thread serves, if either has one; 0 for none.
    /// - Throws: `TIMED_OUT` when it has passed already (nothing is sent).
    @inline(__always)
    static func of(_ timeout: Duration?) throws(StatusCode) -> UInt64 {
        let inherited = ServedCalls.currentDeadline
        if timeout == nil && inherited == 0 { return 0 }
        let now = monotonicNanos()
        var deadline = inherited
        if let timeout {
            let own = timeout <= .zero ? now : now &+ nanoseconds(timeout)
            deadline = inherited == 0 ? own : min(own, inherited)
        }
        guard deadline > now else { throw .timedOut }
        return deadline
    }

    /// `d` in whole nanoseconds, at most a century (a larger one is as good as none).
    static func nanoseconds(_ d: Duration) -> UInt64 {
        let (seconds, attoseconds) = d.components
        let century: Int64 = 100 * 365 * 86_400
        return UInt64(min(seconds, century)) * 1_000_000_000 + UInt64(attoseconds / 1_000_000_000)
    }
}
