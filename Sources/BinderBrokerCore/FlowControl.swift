/// One process's incoming buffer and thread pool, kept as Binder's driver keeps them, so that a
/// flood of calls meets a refusal at the broker instead of piling up in the receiver.
///
/// - The incoming buffer (WIRE.md §5.1): every routed transaction delivered to the process is
///   charged its frame's bytes until it is finished: a two-way call when its reply passes (or its
///   caller leaves), a one-way call when the process reports it with FREE. A call that does not fit
///   is refused with `FAILED_TRANSACTION`; one-way calls may use only half, so they cannot starve
///   two-way ones.
/// - The thread pool (WIRE.md §5.2): the most threads the process starts (its Hello), how many it
///   reports running (THREADS), the SPAWN_THREAD requests not yet answered, and the routed two-way
///   calls it is serving. When every thread it has or was asked for is busy, the broker asks for
///   one more, up to its maximum.
///
/// Each `Connection` holds its own, so the routed hot path reaches it with no lookup of its own.
struct FlowControl {
    /// The buffer's size in bytes (`BrokerConfig.incomingBufferBytes`).
    let bufferBytes: UInt32
    /// Bytes charged for transactions delivered and not finished; the one-way part, and the
    /// one-way calls not yet freed.
    private(set) var bufferUsed: UInt32 = 0
    private(set) var oneWayBufferUsed: UInt32 = 0
    private(set) var oneWayInFlight: UInt32 = 0
    /// The thread pool: its announced maximum, the threads running, spawns asked for and not yet
    /// answered, and the routed two-way calls being served (nested calls run on a waiting thread
    /// and are not counted).
    var maxThreads: UInt32 = 0
    private(set) var threads: UInt32 = 0
    private(set) var spawnsRequested: UInt32 = 0
    private(set) var busy: UInt32 = 0

    init(bufferBytes: UInt32) { self.bufferBytes = bufferBytes }

    /// Whether a routed call of `charge` bytes fits in the buffer now.
    @inline(__always)
    func admits(_ charge: UInt32, oneWay: Bool) -> Bool {
        bufferUsed + charge <= bufferBytes && (!oneWay || oneWayBufferUsed + charge <= bufferBytes / 2)
    }

    /// A one-way call of `charge` bytes was delivered: charged until the process frees it. The
    /// broker's own notices are charged this way too (their FREE counts them), without `admits`:
    /// they are few and must not be lost.
    @inline(__always)
    mutating func deliveredOneWay(_ charge: UInt32) {
        bufferUsed += charge
        oneWayBufferUsed += charge
        oneWayInFlight += 1
    }

    /// A two-way call of `charge` bytes is being delivered: charged until it is finished.
    @inline(__always)
    mutating func chargeTwoWay(_ charge: UInt32) { bufferUsed += charge }

    /// A delivered two-way call takes one of the pool's threads (a nested call does not: it runs
    /// on a thread that is already waiting).
    @inline(__always)
    mutating func startedServing() { busy += 1 }

    /// A two-way call delivered here is over (answered, or its caller left): its charge and its
    /// thread are free.
    @inline(__always)
    mutating func finished(_ charge: UInt32, countedBusy: Bool) {
        bufferUsed -= charge
        if countedBusy { busy -= 1 }
    }

    /// FREE: the process finished `calls` one-way calls of `bytes` in all. False, changing nothing,
    /// when that is more than it was delivered.
    mutating func freed(calls: UInt32, bytes: UInt64) -> Bool {
        guard bytes <= UInt64(oneWayBufferUsed), calls <= oneWayInFlight else { return false }
        oneWayInFlight -= calls
        oneWayBufferUsed -= UInt32(bytes)
        bufferUsed -= UInt32(bytes)
        return true
    }

    /// THREADS: the process runs `count` pool threads (no more than its maximum counts); it answers
    /// one spawn request.
    mutating func threadsRunning(_ count: UInt32) {
        threads = min(count, maxThreads)
        if spawnsRequested > 0 { spawnsRequested -= 1 }
    }

    /// As Binder's driver asks for a looper: whether to send SPAWN_THREAD now, because no thread is
    /// left idle and the process may start more. Counts the request; one at a time per missing thread.
    @inline(__always)
    mutating func wantsThread() -> Bool {
        let promised = threads + spawnsRequested
        guard busy >= promised, promised < maxThreads else { return false }
        spawnsRequested += 1
        return true
    }
}
