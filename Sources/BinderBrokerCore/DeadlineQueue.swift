import HeapModule

/// Deadlines by key, earliest first: what the broker's timers are (channel ends that expire
/// unclaimed, `waitForService` callers that time out).
///
/// The event loop asks for the earliest deadline on every turn, so it must not cost a scan of every
/// timer: a min-heap answers in O(1), and scheduling or expiring one is O(log n). A timer cancelled
/// before it fires (the end was claimed, the waiter answered, its connection closed) is not dug out
/// of the heap; it is only forgotten in `live`, and its entry is dropped when it reaches the top
/// (lazy deletion). The top is kept live at all times, so `earliest` never names a cancelled timer,
/// and the heap is rebuilt from the live entries when cancelled ones outnumber them, so timers
/// cancelled long before their deadline (a wait of an hour answered at once) cannot pile up.
struct DeadlineQueue<Key: Hashable> {
    private struct Entry: Comparable {
        let deadline: UInt64
        /// Scheduling order: breaks ties between equal deadlines (first scheduled, first out), and
        /// tells an entry from a later one for the same key.
        let serial: UInt64
        let key: Key
        static func < (a: Entry, b: Entry) -> Bool { (a.deadline, a.serial) < (b.deadline, b.serial) }
        static func == (a: Entry, b: Entry) -> Bool { a.serial == b.serial }
    }

    private var heap = Heap<Entry>()
    /// The serial of each key's live entry. An entry whose serial is not here was cancelled or
    /// rescheduled; it waits in the heap until it reaches the top or a rebuild drops it.
    private var live: [Key: UInt64] = [:]
    private var nextSerial: UInt64 = 0

    /// Live timers.
    var count: Int { live.count }
    var isEmpty: Bool { live.isEmpty }

    /// The earliest live deadline: O(1), as the top is always live.
    var earliest: UInt64? { heap.min?.deadline }

    /// Arms `key` to fire at `deadline`, replacing the deadline it had.
    mutating func schedule(_ key: Key, at deadline: UInt64) {
        let serial = nextSerial
        nextSerial += 1
        live[key] = serial
        heap.insert(Entry(deadline: deadline, serial: serial, key: key))
        dropCancelledTop()
    }

    /// Disarms `key`: it never fires. Nothing happens if it is not armed.
    mutating func cancel(_ key: Key) {
        guard live.removeValue(forKey: key) != nil else { return }
        dropCancelledTop()
        let cancelled = heap.count - live.count
        if cancelled > 32 && cancelled > live.count { heap = Heap(heap.unordered.filter(isLive)) }
    }

    /// Disarms and returns the keys whose deadline is `now` or earlier, earliest first.
    mutating func popExpired(now: UInt64) -> [Key] {
        var expired: [Key] = []
        while let top = heap.min, top.deadline <= now {
            heap.removeMin()
            live.removeValue(forKey: top.key)  // the top is live
            expired.append(top.key)
            dropCancelledTop()
        }
        return expired
    }

    private func isLive(_ entry: Entry) -> Bool { live[entry.key] == entry.serial }

    /// Keeps the invariant that the heap's top is live.
    private mutating func dropCancelledTop() {
        while let top = heap.min, !isLive(top) { heap.removeMin() }
    }
}
