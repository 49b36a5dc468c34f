import BinderWire

/// Everything a connection's threads share, as a state machine with no I/O: the calls in flight
/// (`CallTable`), the work queued for this process (`WorkQueues`), the pool's size (`PoolSizing`),
/// the objects it serves (`LocalObjectTable`), and who holds the reader role.
///
/// The shell (BinderConnection) keeps one lock around it and runs the leader/follower loop: each
/// thread asks `next(for:)` what to do, does it with the lock released, and reports back
/// (`received`, `finishedOneWay`, `woke`). Effects come back in a `ConnectionEffects`. The same core
/// serves a broker connection and a direct channel's end; they differ only in `ConnectionBehaviour`.
///
/// `Waiter` is what resumes an async call: the shell's `CheckedContinuation`, a test's tag.
struct ConnectionCore<Waiter> {
    let behaviour: ConnectionBehaviour
    private(set) var calls = CallTable<Waiter>()
    private(set) var work = WorkQueues()
    private(set) var pool: PoolSizing
    var objects = LocalObjectTable()
    /// A thread is receiving (the leader); the others sleep or serve.
    private(set) var readerBusy = false
    /// Threads waiting on the shell's condition.
    private(set) var sleepers = 0
    private(set) var closed = false
    /// The broker went away and the shell is reconnecting (`brokerLost`): nobody reads until it
    /// has a new socket (`resumed`).
    private(set) var suspended = false
    /// What calls fail with once the connection is closed: `DEAD_OBJECT`, or the status with which
    /// a service refused a direct channel opened without waiting for its answer.
    private(set) var closeStatus = StatusCode.deadObject

    init(behaviour: ConnectionBehaviour, maxThreads: Int) {
        self.behaviour = behaviour
        pool = PoolSizing(maxThreads: maxThreads, growsOnRequest: behaviour.growsPoolOnRequest)
    }

    /// Nothing is in flight and no thread reads or serves: a direct channel may switch transports.
    var isQuiescent: Bool { calls.isIdle && !readerBusy && pool.threads == 0 }

    // MARK: Starting calls

    /// A blocking call: its ID and whether its caller waits for an answer (a one-way call's
    /// acknowledgement, where the peer gives one). Fails with the close status when closed.
    mutating func startCall(oneWay: Bool) -> Result<(id: UInt64, awaitsAnswer: Bool), StatusCode> {
        if closed { return .failure(closeStatus) }
        let awaits = !oneWay || behaviour.acknowledgesOneWay
        return .success((calls.start(blocking: awaits), awaits))
    }

    /// An async call resumed by `waiter`; nil when closed (fail it with `closeStatus`).
    mutating func startAsyncCall(_ waiter: Waiter) -> UInt64? {
        if closed { return nil }
        return calls.start(async: waiter)
    }

    /// A blocking call could not be sent: nobody waits for it.
    mutating func abandon(_ id: UInt64) { calls.stopWaiting(id) }

    /// An async call could not be sent: its waiter, to fail (nil if the close failed it already).
    mutating func abandonAsync(_ id: UInt64) -> Waiter? { calls.removeAsync(id) }

    /// The thread that sent `id` waits for it although no answer was due (a one-way call on a
    /// channel that hung up before its service answered: the refusal may still come).
    mutating func waitAnyway(for id: UInt64) { calls.wait(for: id) }

    // MARK: The leader/follower loop

    /// What a thread does next.
    enum Step {
        /// The reply it waits for came (filed by another thread).
        case reply(ReceivedFrame)
        /// A call back into this process from the call it waits for: it runs it on this thread.
        case runNested(ReceivedFrame, LocalObjectTable.Entry?)
        /// The connection is closed: a waiting call fails with this status, a pool thread exits.
        case closed(StatusCode)
        /// A pool thread's next call (or RELEASED notice), with its object's entry.
        case serve(ReceivedFrame, LocalObjectTable.Entry?)
        /// Nobody reads: this thread receives the next frame, then reports it with `received`.
        case read
        /// Nothing to do: wait on the condition, then report `woke()` and ask again.
        case sleep
    }

    /// The next step of a thread that waits for call `id`, or of a pool thread (`id` nil).
    mutating func next(for id: UInt64?) -> Step {
        if let id {
            if let reply = calls.takeReply(id) {
                stopWaiting(id)
                return .reply(reply)
            }
            if let call = work.takeNested(in: id) { return .runNested(call, objects[call.header.target]) }
        }
        if closed {
            if let id { calls.stopWaiting(id) }
            return .closed(closeStatus)
        }
        if id == nil, let (frame, object) = work.next(in: objects) { return .serve(frame, object) }
        if !readerBusy && !suspended {
            readerBusy = true
            return .read
        }
        sleepers += 1
        return .sleep
    }

    /// A sleeping thread woke up.
    mutating func woke() { sleepers -= 1 }

    /// The reader's call reached its deadline before a frame came (WIRE.md §3.2): it gives up the
    /// reader role, and one sleeper (if any) takes it over.
    mutating func readerTimedOut(effects: inout ConnectionEffects<Waiter>) {
        readerBusy = false
        if sleepers > 0 { effects.wake = .one }
    }

    /// Blocked call `id` reached its deadline: its reply if it was filed meanwhile (the caller
    /// takes it after all), else nil, and nobody waits for it any more, so a late reply is dropped.
    mutating func timedOut(_ id: UInt64) -> ReceivedFrame? {
        let reply = calls.takeReply(id)
        stopWaiting(id)
        return reply
    }

    /// The reader received `frame` (nil: the connection ended). Returns the frame when it is the
    /// reply the reader itself waits for (call `id`); anything else is filed, and `effects` say
    /// whom to wake.
    mutating func received(_ frame: ReceivedFrame?, by id: UInt64?, effects: inout ConnectionEffects<Waiter>) -> ReceivedFrame? {
        readerBusy = false
        guard let frame else {
            close(effects: &effects)
            return nil
        }
        if let id, frame.header.command == .reply, frame.header.transactionID == id {
            // Its own reply: one sleeper (if any) takes over reading.
            stopWaiting(id)
            if sleepers > 0 { effects.wake = .one }
            return frame
        }
        let forSomeoneElse = file(frame, effects: &effects)
        // Everyone must look when a reply is theirs or a caller queued work for the pool; otherwise
        // one sleeper is enough, to take over the reader role. A lone thread never pays for a wake-up.
        if sleepers > 0 { effects.wake = forSomeoneElse || (id != nil && !work.incoming.isEmpty) ? .all : .one }
        return nil
    }

    /// Files a received frame; returns whether a sleeping thread must see it.
    private mutating func file(_ frame: ReceivedFrame, effects: inout ConnectionEffects<Waiter>) -> Bool {
        switch frame.header.command {
        case .reply:
            switch calls.file(reply: frame) {
            case .forBlockedThread: return true
            case .resume(let waiter):
                effects.resume = (waiter, frame.header.status == .ok ? .success(frame.parcel) : .failure(frame.header.status))
            case .unknown: break
            }
            return false
        case .spawnThread:
            if let growth = pool.spawnRequested(closed: closed) { effects.growth = growth }
            return false
        case .released:
            // Decided on a pool thread, behind the calls already queued (HeldReferences.swift).
            if behaviour.chargesIncoming { work.enqueue(frame) }
            return false
        case .transaction:
            let parent = frame.header.nestedIn
            if parent != 0 && calls.isWaiting(parent) {
                work.enqueueNested(frame)
                return true
            }
            work.enqueue(frame)
            return false
        case .free, .threads, .release, .hello, .welcome:
            return false  // only clients send the first three; the handshake is over
        }
    }

    /// A blocked call is over; calls nested in it that are still filed go to the pool.
    private mutating func stopWaiting(_ id: UInt64) {
        calls.stopWaiting(id)
        work.releaseNested(in: id)
    }

    // MARK: Serving

    /// A one-way call finished on `object`: the next one-way call for it (run it on this thread,
    /// in order), and the FREE to send, where the broker charges for calls.
    mutating func finishedOneWay(_ frame: ReceivedFrame, on object: LocalObjectTable.Entry?, effects: inout ConnectionEffects<Waiter>) -> ReceivedFrame? {
        let (next, free) = work.finishedOneWay(frame, on: object, reportsFree: behaviour.chargesIncoming)
        if let free { effects.free = free }
        return next
    }

    /// Starts the pool once (`effects.growth` says which threads); false when it runs already or
    /// the connection is closed.
    mutating func startPool(callerJoins: Bool, effects: inout ConnectionEffects<Waiter>) -> Bool {
        guard !closed, let growth = pool.start(callerJoins: callerJoins) else { return false }
        effects.growth = growth
        return true
    }

    /// A thread that must be gone before the socket closes, counted with the pool's (a serving
    /// channel end's ring watcher).
    mutating func addWatcher() { pool.addWatcher() }

    /// A serving thread exited; true for the last one.
    mutating func threadExited() -> Bool { pool.exited() }

    // MARK: Losing the broker

    /// The reader met the end of the broker's socket, and the shell reconnects to a new broker
    /// (its session, WIRE.md §2.1). The calls waiting for an answer fail with `DEAD_OBJECT`: each
    /// may have run, so none is resent. Nobody reads until `resumed()`.
    mutating func brokerLost(effects: inout ConnectionEffects<Waiter>) {
        readerBusy = false
        suspended = true
        for id in calls.waitingIDs {
            _ = calls.file(reply: ReceivedFrame(header: FrameHeader(command: .reply, transactionID: id, status: .deadObject), parcel: Parcel()))
        }
        effects.failedWith = .deadObject
        effects.failed = calls.removeAllAsync()
        if sleepers > 0 { effects.wake = .all }
    }

    /// The shell has a socket to a new broker: reading starts again.
    mutating func resumed(effects: inout ConnectionEffects<Waiter>) {
        suspended = false
        if sleepers > 0 { effects.wake = .all }
    }

    // MARK: Closing

    /// A direct channel's service refused it: calls fail with `status` from now on.
    mutating func refused(with status: StatusCode) { closeStatus = status }

    /// The connection is gone (its socket ended, or it was closed): waiting calls fail, pool
    /// threads exit. Only the first close has effects.
    mutating func close(effects: inout ConnectionEffects<Waiter>) {
        guard !closed else { return }
        closed = true
        effects.closed = closeStatus
        effects.failed = calls.removeAllAsync()
        if sleepers > 0 { effects.wake = .all }
    }
}

/// What the peer at the other end of the socket does, which decides a few rules.
struct ConnectionBehaviour {
    /// The broker acknowledges a one-way call (WIRE.md §3): its caller waits for that. Nothing
    /// acknowledges one on a direct channel.
    var acknowledgesOneWay: Bool
    /// The broker charges routed calls to this process's incoming buffer: finished one-way calls
    /// are reported with FREE, and RELEASED notices come in (WIRE.md §4.4, §5.1).
    var chargesIncoming: Bool
    /// The pool starts with one thread and grows when the peer asks (SPAWN_THREAD).
    var growsPoolOnRequest: Bool

    /// A connection to the broker.
    static let broker = ConnectionBehaviour(acknowledgesOneWay: true, chargesIncoming: true, growsPoolOnRequest: true)
    /// One end of a direct channel: the peer is the other process, not the broker.
    static let directChannel = ConnectionBehaviour(acknowledgesOneWay: false, chargesIncoming: false, growsPoolOnRequest: false)
}
