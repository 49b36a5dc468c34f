import BinderWire

// The client runtime's pure core (this folder): no system calls, no locks, no threads. The
// connection shells (BinderConnection.swift) guard it with their lock and carry out what it asks
// for (ConnectionEffects.swift); Tests/BinderTests drives it with scripted frames.

/// A frame this process received: the header as decoded, and the parcel (with its fds and, for a
/// frame from the broker, the references it delivered).
struct ReceivedFrame {
    var header: FrameHeader
    var parcel: Parcel
}

/// The calls this connection has made and not finished: their transaction IDs, who waits for each
/// (a blocked thread, or an async caller's `Waiter`), and replies that arrived for a blocked thread
/// while another thread held the reader role.
struct CallTable<Waiter> {
    /// The next transaction ID: IDs start at 1 and are never reused on one connection (0 means
    /// "no call" in `nestedIn` and in a refusal).
    private(set) var nextID: UInt64 = 1
    /// Calls a thread is blocked on.
    private var waiting: Set<UInt64> = []
    /// Replies to blocked calls, read by another thread; the blocked thread takes its own.
    private var replies: [UInt64: ReceivedFrame] = [:]
    /// Async calls and what resumes each.
    private var asyncWaiters: [UInt64: Waiter] = [:]

    /// Calls made on this connection so far.
    var started: UInt64 { nextID - 1 }

    /// No call is waiting for anything.
    var isIdle: Bool { waiting.isEmpty && asyncWaiters.isEmpty }

    /// A new call's ID; `blocking` files it as one a thread will wait for.
    mutating func start(blocking: Bool) -> UInt64 {
        let id = nextID
        nextID += 1
        if blocking { waiting.insert(id) }
        return id
    }

    /// A new async call's ID, filed with what resumes it.
    mutating func start(async waiter: Waiter) -> UInt64 {
        let id = nextID
        nextID += 1
        asyncWaiters[id] = waiter
        return id
    }

    func isWaiting(_ id: UInt64) -> Bool { waiting.contains(id) }

    /// The blocked calls with no reply filed yet.
    var waitingIDs: [UInt64] { waiting.filter { replies[$0] == nil } }

    /// A thread waits for `id` after all (a call on a channel that hung up before answering).
    mutating func wait(for id: UInt64) { waiting.insert(id) }

    /// The thread blocked on `id` stops waiting (it has its reply, or gave up).
    mutating func stopWaiting(_ id: UInt64) { waiting.remove(id) }

    /// The reply another thread filed for `id`, if it came.
    mutating func takeReply(_ id: UInt64) -> ReceivedFrame? {
        guard !replies.isEmpty else { return nil }
        return replies.removeValue(forKey: id)
    }

    enum Filed {
        /// For a blocked thread: it must be woken to take it.
        case forBlockedThread
        /// For an async call: resume its waiter.
        case resume(Waiter)
        /// For no call this connection knows (it gave up): dropped.
        case unknown
    }

    /// Files a reply the reader received for some other call.
    mutating func file(reply frame: ReceivedFrame) -> Filed {
        let id = frame.header.transactionID
        if waiting.contains(id) {
            replies[id] = frame
            return .forBlockedThread
        }
        if let waiter = asyncWaiters.removeValue(forKey: id) { return .resume(waiter) }
        return .unknown
    }

    /// An async call that could not be sent: its waiter, to fail.
    mutating func removeAsync(_ id: UInt64) -> Waiter? { asyncWaiters.removeValue(forKey: id) }

    /// The connection closed: every async call's waiter, to fail.
    mutating func removeAllAsync() -> [Waiter] {
        defer { asyncWaiters.removeAll() }
        return Array(asyncWaiters.values)
    }
}
