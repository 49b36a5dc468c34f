#if canImport(Glibc)
import Glibc
#endif
import CBinderShims

/// A pthread mutex with one condition variable.
///
/// Hand-written rather than Foundation's NSCondition to keep Foundation out of the runtime library
/// (startup time, binary size); Synchronization.Mutex has no condition variable.
public final class ConditionLock: @unchecked Sendable {
    // @unchecked: all state is behind the pthread mutex.
    private let mutex = UnsafeMutablePointer<pthread_mutex_t>.allocate(capacity: 1)
    private let cond = UnsafeMutablePointer<pthread_cond_t>.allocate(capacity: 1)

    public init() {
        pthread_mutex_init(mutex, nil)
        var attr = pthread_condattr_t()
        pthread_condattr_init(&attr)
        pthread_condattr_setclock(&attr, CLOCK_MONOTONIC)
        pthread_cond_init(cond, &attr)
        pthread_condattr_destroy(&attr)
    }

    deinit {
        pthread_cond_destroy(cond)
        pthread_mutex_destroy(mutex)
        cond.deallocate()
        mutex.deallocate()
    }

    public func lock() { pthread_mutex_lock(mutex) }
    public func unlock() { pthread_mutex_unlock(mutex) }

    @inline(__always)
    public func withLock<R>(_ body: () throws -> R) rethrows -> R {
        lock()
        defer { unlock() }
        return try body()
    }

    /// Waits for a broadcast; the lock must be held. Spurious wake-ups happen: re-check the condition.
    public func wait() { pthread_cond_wait(cond, mutex) }

    /// Waits until a broadcast or the monotonic `deadline` (nanoseconds). Returns false on time-out.
    public func wait(untilNanos deadline: UInt64) -> Bool {
        var ts = timespec(tv_sec: Int(deadline / 1_000_000_000), tv_nsec: Int(deadline % 1_000_000_000))
        return pthread_cond_timedwait(cond, mutex, &ts) != ETIMEDOUT
    }

    public func broadcast() { pthread_cond_broadcast(cond) }
    public func signal() { pthread_cond_signal(cond) }
}

private final class ThreadBody {
    let name: String?
    let body: () -> Void
    init(name: String?, _ body: @escaping () -> Void) {
        self.name = name
        self.body = body
    }
}

// A global function, not a closure literal: pthread_create from top-level code would otherwise
// infer @MainActor for the entry point, which then traps when the C thread calls it (Swift 6).
private func threadEntry(_ arg: UnsafeMutableRawPointer?) -> UnsafeMutableRawPointer? {
    let box = Unmanaged<ThreadBody>.fromOpaque(arg!).takeRetainedValue()
    // Named by the thread itself: one prctl, where naming it from the parent opens and writes
    // /proc/self/task/TID/comm.
    if let name = box.name { _ = cbinder_set_thread_name(pthread_self(), String(name.prefix(15))) }
    box.body()
    return nil
}

/// Starts a detached OS thread running `body`.
public func startThread(name: String? = nil, _ body: @escaping @Sendable () -> Void) {
    let arg = Unmanaged.passRetained(ThreadBody(name: name, body)).toOpaque()
    var tid = pthread_t()
    let r = pthread_create(&tid, nil, threadEntry, arg)
    precondition(r == 0, "pthread_create failed: \(r)")
    pthread_detach(tid)
}

/// One pointer per thread (C11 `_Thread_local` in CBinderShims: Swift has no thread-local storage
/// outside tasks, and `pthread_key_create` would cost a lookup per access).
public enum ThreadSlot {
    public static var value: UnsafeMutableRawPointer? {
        get { cbinder_thread_slot_get() }
        set { cbinder_thread_slot_set(newValue) }
    }
}

/// Threads that wait for more work when theirs is done, so that the next piece of work skips
/// thread creation and exit (tens of microseconds each). At most `maxIdle` wait; more exit.
///
/// Hand-written: the allowed packages have no thread pool (Dispatch would bring its own threads
/// and no control over blocking, and these bodies block in `recvmsg` for as long as they run).
public final class ReusableThreads: @unchecked Sendable {
    // @unchecked: all state is behind `lock`.
    private let lock = ConditionLock()
    private let name: String
    private let maxIdle: Int
    private var idle = 0
    private var pending: [@Sendable () -> Void] = []

    public init(name: String, maxIdle: Int) {
        self.name = name
        self.maxIdle = maxIdle
    }

    /// Runs `body` on a waiting thread, or on a new one if none waits.
    public func run(_ body: @escaping @Sendable () -> Void) {
        lock.lock()
        if idle > pending.count {
            pending.append(body)
            lock.unlock()
            // Signalled after the unlock: a waiter woken under the lock would, on one CPU, run
            // at once only to block on the lock again (two context switches for nothing).
            lock.signal()
            return
        }
        lock.unlock()
        startThread(name: name) { [self] in serve(first: body) }
    }

    private func serve(first: @escaping @Sendable () -> Void) {
        var next: (@Sendable () -> Void)? = first
        while true {
            runAndRelease(&next)
            lock.lock()
            if idle >= maxIdle && pending.isEmpty {
                lock.unlock()
                return
            }
            idle += 1
            while pending.isEmpty { lock.wait() }
            idle -= 1
            next = pending.removeFirst()
            lock.unlock()
        }
    }

    /// Runs the work and drops it before the thread waits: what it captured must not live on.
    private func runAndRelease(_ slot: inout (@Sendable () -> Void)?) {
        let work = slot.take()!
        work()
    }
}

/// Blocking sleeps of the calling thread (a retry's back-off), resumed after signals.
public enum ThreadSleep {
    public static func nanoseconds(_ n: UInt64) {
        var request = timespec(tv_sec: Int(n / 1_000_000_000), tv_nsec: Int(n % 1_000_000_000))
        var remaining = timespec()
        while nanosleep(&request, &remaining) != 0 && errno == EINTR { request = remaining }
    }
}

/// The calling thread's identity (`pthread_self`): equal for the same live thread only.
@inline(__always)
public func currentThreadID() -> UInt { UInt(pthread_self()) }

/// CLOCK_MONOTONIC in nanoseconds.
@inline(__always)
public func monotonicNanos() -> UInt64 {
    var ts = timespec()
    clock_gettime(CLOCK_MONOTONIC, &ts)
    return UInt64(ts.tv_sec) * 1_000_000_000 + UInt64(ts.tv_nsec)
}

/// CPU placement.
public enum CPUAffinity {
    /// Pins `pid` (0 = the calling thread) to `cpu`.
    public static func pin(pid: Int32 = 0, cpu: Int) throws(SystemError) {
        _ = try checkNegErrno("sched_setaffinity", cbinder_pin_to_cpu(pid, Int32(cpu)))
    }
    public static func mask(pid: Int32) -> UInt64 { cbinder_get_affinity(pid) }
    public static func setMask(pid: Int32, _ mask: UInt64) throws(SystemError) {
        _ = try checkNegErrno("sched_setaffinity", cbinder_set_affinity(pid, mask))
    }
    public static var cpuCount: Int { Int(cbinder_cpu_count()) }
}

/// A count-down latch: `wait` returns once `signal` has been called `count` times, or at a deadline.
public final class Latch: @unchecked Sendable {
    // @unchecked: `count` is guarded by `lock`.
    private let lock = ConditionLock()
    private var count: Int
    public init(_ count: Int = 1) { self.count = count }

    public func signal() {
        lock.withLock {
            count -= 1
            lock.broadcast()
        }
    }

    /// True if the count reached zero within `seconds` (`.infinity`: no deadline).
    public func wait(seconds: Double = 10) -> Bool {
        lock.lock()
        defer { lock.unlock() }
        guard !seconds.isInfinite else {
            while count > 0 { lock.wait() }
            return true
        }
        let deadline = monotonicNanos() + UInt64(seconds * 1e9)
        while count > 0 { if !lock.wait(untilNanos: deadline) { return count <= 0 } }
        return true
    }
}
