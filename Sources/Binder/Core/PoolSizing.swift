/// How many threads serve a connection (WIRE.md §5.2). A broker connection starts one and grows
/// when the broker asks (SPAWN_THREAD, answered with THREADS); a direct channel, with no broker to
/// ask, starts all of its threads at once.
struct PoolSizing {
    let maxThreads: Int
    /// Whether the pool starts with one thread and grows on the broker's request.
    let growsOnRequest: Bool
    /// Threads counted as serving: pool threads, plus a channel's ring watcher (`addWatcher`).
    private(set) var threads = 0

    init(maxThreads: Int, growsOnRequest: Bool) {
        self.maxThreads = max(1, maxThreads)
        self.growsOnRequest = growsOnRequest
    }

    /// What starting or growing the pool asks for: threads to start (by index) and the count to
    /// report to the broker with THREADS.
    struct Growth: Equatable {
        var start: Range<Int>
        var report: Int?
    }

    /// Starts the pool once; nil when it runs already.
    /// - Parameter callerJoins: the calling thread serves too, so one thread fewer is started.
    mutating func start(callerJoins: Bool) -> Growth? {
        guard threads == 0 else { return nil }
        let initial = growsOnRequest ? 1 : maxThreads
        threads = initial
        return Growth(start: 0..<(callerJoins ? initial - 1 : initial), report: growsOnRequest ? initial : nil)
    }

    /// The broker found every thread busy: one more, up to the maximum. The count is reported
    /// either way, so that the broker forgets its request. nil for a pool that does not grow on
    /// request (a direct channel's: nothing there may ask).
    mutating func spawnRequested(closed: Bool) -> Growth? {
        guard growsOnRequest else { return nil }
        guard threads > 0, threads < maxThreads, !closed else { return Growth(start: 0..<0, report: threads) }
        threads += 1
        return Growth(start: (threads - 1)..<threads, report: threads)
    }

    /// A thread that is not a pool thread but must be gone before the socket closes (a channel's
    /// ring watcher at the serving end).
    mutating func addWatcher() { threads += 1 }

    /// A serving thread exited; true for the last one.
    mutating func exited() -> Bool {
        threads -= 1
        return threads == 0
    }
}
