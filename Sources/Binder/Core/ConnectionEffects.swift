import BinderWire

/// What `ConnectionCore` asks its shell to do: the core's outbox. The core fills it while the
/// shell holds its lock; the shell wakes threads before it unlocks and does the rest after, so no
/// system call is made under the lock.
///
/// Plain fields rather than a list of effects: a step asks for at most one of each (a close fails
/// every async call at once), and a value with no array to grow allocates nothing per call.
struct ConnectionEffects<Waiter> {
    enum Wake: Equatable {
        case none
        /// One sleeping thread, to take over the reader role.
        case one
        /// Every sleeping thread: one of them has a reply or a nested call to take, or a caller
        /// queued work for the pool.
        case all
    }

    /// Threads sleeping on the connection's condition to wake (under the lock).
    var wake = Wake.none
    /// One-way calls to report finished with FREE (WIRE.md §5.1).
    var free: WorkQueues.FreeReport? = nil
    /// Pool threads to start (by index) and the count to report with THREADS (WIRE.md §5.2).
    var growth: PoolSizing.Growth? = nil
    /// An async call's reply or status, to resume it with.
    var resume: (Waiter, Result<Parcel, StatusCode>)? = nil
    /// Set when the connection closed in this step: the status the async calls in `failed` fail
    /// with. Whoever waits for the close is to be woken.
    var closed: StatusCode? = nil
    var failed: [Waiter] = []
    /// Set when the async calls in `failed` fail although the connection stays open (the broker
    /// went away, and the shell reconnects): the status they fail with.
    var failedWith: StatusCode? = nil

    init() {}

    /// Whether anything is left to do once the lock is released.
    var hasWorkAfterUnlock: Bool { free != nil || growth != nil || resume != nil || closed != nil || failedWith != nil }
}
