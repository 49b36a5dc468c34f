import BinderPlatform
import BinderWire

// The leader/follower loop and the pool, shared by both kinds of end. What to do next is the
// core's decision (`ConnectionCore.next(for:)`); these functions do it, with the lock released
// around everything that blocks or calls out.

extension FrameEndpoint {
    /// With a transaction id: returns that reply (or throws the close status when the connection
    /// closes). With nil: serves incoming transactions until the connection closes.
    /// - Parameter deadline: the call's (`monotonicNanos()`; 0: none): when it passes first, the
    ///   call fails with `TIMED_OUT` and its late reply is dropped (WIRE.md §3.2).
    func drive(until txid: UInt64?, deadline: UInt64 = 0) throws(StatusCode) -> ReceivedFrame? {
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
                let incoming = receiveFrame(deadline: deadline)
                lock.lock()
                var effects = Effects()
                let frame: ReceivedFrame?
                switch incoming {
                case .frame(let f): frame = f
                case .closed where brokerWentAway():
                    // The shell reconnects (its session): calls in flight fail, the rest wait.
                    core.brokerLost(effects: &effects)
                    wake(effects.wake)
                    lock.unlock()
                    carryOut(effects)
                    lock.lock()
                    continue
                case .closed: frame = nil
                case .timedOut:
                    core.readerTimedOut(effects: &effects)
                    wake(effects.wake)
                    if let reply = try timedOut(txid) { return reply }
                    continue
                }
                let mine = core.received(frame, by: txid, effects: &effects)
                wake(effects.wake)
                guard mine != nil || effects.hasWorkAfterUnlock else { continue }
                lock.unlock()
                carryOut(effects)
                if let mine { return mine }
                lock.lock()
            case .sleep:
                if deadline == 0 {
                    lock.wait()
                    core.woke()
                } else {
                    let inTime = lock.wait(untilNanos: deadline)
                    core.woke()
                    if !inTime, let reply = try timedOut(txid) { return reply }
                }
            }
        }
    }

    /// Lock held: call `txid` reached its deadline. Unlocks and returns its reply if it came
    /// meanwhile, else unlocks and throws `TIMED_OUT`.
    private func timedOut(_ txid: UInt64?) throws(StatusCode) -> ReceivedFrame? {
        guard let txid else { return nil }
        let reply = core.timedOut(txid)
        lock.unlock()
        guard let reply else { throw .timedOut }
        return reply
    }

    /// Wakes sleeping threads as the core asked (lock held).
    func wake(_ wake: Effects.Wake) {
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
            try? transport.send(FrameHeader(command: .free, target: free.bytes, code: free.calls), Parcel())
        }
        if let growth = effects.growth {
            for i in growth.start { startPoolThread(i) }
            if let count = growth.report { try? transport.send(FrameHeader(command: .threads, code: UInt32(count)), Parcel()) }
        }
        if let status = effects.closed {
            closeLatch.signal()
            for waiter in effects.failed { waiter.resume(throwing: status) }
            didClose()
        } else if let status = effects.failedWith {
            for waiter in effects.failed { waiter.resume(throwing: status) }
        }
    }

    /// Closes the core outside the loop (the socket ended under a serving end's lone thread).
    func markClosed() {
        var effects = Effects()
        lock.withLock {
            core.close(effects: &effects)
            wake(effects.wake)
        }
        carryOut(effects)
    }

    /// Runs a pool thread's work: a call, and for a one-way call the ones queued behind it for the
    /// same object (in order); or a RELEASED notice.
    func dispatch(_ first: ReceivedFrame, on object: LocalObjectTable.Entry?) {
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

    /// RELEASED: no other process holds the object. It leaves the table unless a reference to it
    /// is still on its way; then its `onLastReferenceReleased` runs, on this pool thread.
    private func objectReleased(_ header: FrameHeader) {
        lock.withLock { core.objects.released(header.target, seen: header.transactionID) }?.onLastReferenceReleased()
    }

    // MARK: Pool

    /// Starts the pool once: one thread on a broker connection (more when the broker asks), all of
    /// a direct channel's at once.
    /// - Parameter callerJoins: the calling thread will serve too, so start one thread fewer.
    func startPool(callerJoins: Bool) {
        var effects = Effects()
        guard lock.withLock({ core.startPool(callerJoins: callerJoins, effects: &effects) }) else { return }
        carryOut(effects)
    }

    private func startPoolThread(_ i: Int) {
        startThread(index: i) { [self] in
            servePool()
            poolThreadExited()
        }
    }

    /// A serving thread is done; the last one out tells the shell.
    func poolThreadExited() {
        if lock.withLock({ core.threadExited() }) { lastThreadExited() }
    }

    /// Serves on the calling thread until the connection closes, as one of the pool's threads.
    func joinPool() {
        startPool(callerJoins: true)
        _ = try? drive(until: nil)
        poolThreadExited()
    }
}
