import BinderWire

/// The service manager's tables: registered names, callers waiting for a name, and listeners.
///
/// Names are scoped by container (WIRE.md §7.7): a name registered from container N lives in N's
/// scope. Root (scope 0) names marked `exported` are also visible in every child scope, unless the
/// child has a name of its own that shadows them.
struct ServiceRegistry {
    struct Key: Hashable, Comparable {
        let container: UInt32
        let name: String
        static func < (a: Key, b: Key) -> Bool { (a.container, a.name) < (b.container, b.name) }
    }
    struct Entry {
        let node: NodeID
        /// The uid that holds the name; another uid cannot take it.
        let uid: UInt32
        /// A root service visible in every container.
        let exported: Bool
    }
    struct Waiter {
        /// Unique within the broker run: the key of its deadline.
        let id: UInt64
        let connection: ConnectionID
        let transactionID: UInt64
        /// The scope the waiter looks in (its own container).
        let scope: UInt32
        let name: String
        /// Monotonic nanoseconds, or nil to wait as long as the caller stays connected.
        let deadline: UInt64?
        /// A resumed session's `resumeService`: the handle the reference must come at; 0: any.
        var pinnedHandle: UInt32 = 0
    }
    struct Listener: Equatable {
        let connection: ConnectionID
        let node: NodeID
        let scope: UInt32
    }

    var services: [Key: Entry] = [:]
    /// In the order they came, which is the order they are answered in.
    private(set) var waiters: [Waiter] = []
    /// The deadlines of the waiters that have one, by waiter ID.
    private var expiry = DeadlineQueue<UInt64>()
    private var nextWaiter: UInt64 = 1
    var listeners: [String: [Listener]] = [:]

    var nextDeadline: UInt64? { expiry.earliest }

    /// A caller waits for `name` to be registered in (or exported to) `scope` until `deadline`
    /// (monotonic nanoseconds; nil: as long as it stays connected).
    mutating func wait(connection: ConnectionID, transactionID: UInt64, scope: UInt32, name: String, deadline: UInt64?, pinnedHandle: UInt32 = 0) {
        let waiter = Waiter(
            id: nextWaiter, connection: connection, transactionID: transactionID, scope: scope, name: name, deadline: deadline,
            pinnedHandle: pinnedHandle)
        nextWaiter += 1
        waiters.append(waiter)
        if let deadline { expiry.schedule(waiter.id, at: deadline) }
    }

    /// Removes the waiters `leaves` picks, disarming their deadlines; returns them in order.
    private mutating func removeWaiters(where leaves: (Waiter) -> Bool) -> [Waiter] {
        var taken: [Waiter] = []
        waiters.removeAll { w in
            guard leaves(w) else { return false }
            taken.append(w)
            return true
        }
        for w in taken where w.deadline != nil { expiry.cancel(w.id) }
        return taken
    }

    /// The names `lookUp` finds in `scope`, sorted.
    func names(in scope: UInt32) -> [String] {
        var names = Set<String>()
        for (key, entry) in services where key.container == scope || (scope != 0 && key.container == 0 && entry.exported) {
            names.insert(key.name)
        }
        return names.sorted()
    }

    /// Whether a registration of `name` in `registeredIn` (exported or not) is what `name` means in `scope`.
    func registrationReaches(_ scope: UInt32, name: String, registeredIn: UInt32, exported: Bool) -> Bool {
        if scope == registeredIn { return true }
        return registeredIn == 0 && exported && scope != 0 && services[Key(container: scope, name: name)] == nil
    }

    /// Removes what a closed connection leaves behind: services of its objects, its waiters, its
    /// listeners. Returns the live objects its listeners named (the registry held them).
    mutating func connectionClosed(_ id: ConnectionID, deadNodes: Set<NodeID>) -> [NodeID] {
        services = services.filter { !deadNodes.contains($0.value.node) }
        _ = removeWaiters { $0.connection == id }
        var held: [NodeID] = []
        for name in listeners.keys {
            listeners[name]!.removeAll { l in
                guard l.connection == id || deadNodes.contains(l.node) else { return false }
                if !deadNodes.contains(l.node) { held.append(l.node) }
                return true
            }
            if listeners[name]!.isEmpty { listeners.removeValue(forKey: name) }
        }
        return held
    }

    /// Takes the waiters that a registration of `name` in `registeredIn` satisfies.
    mutating func takeWaiters(for name: String, registeredIn: UInt32, exported: Bool) -> [Waiter] {
        let registry = self
        return removeWaiters { w in
            w.name == name && registry.registrationReaches(w.scope, name: name, registeredIn: registeredIn, exported: exported)
        }
    }

    /// Takes the waiters whose deadline has passed, in the order they came.
    mutating func takeExpired(now: UInt64) -> [Waiter] {
        let expired = expiry.popExpired(now: now)
        if expired.isEmpty { return [] }
        let ids = Set(expired)
        var taken: [Waiter] = []
        waiters.removeAll { w in
            guard ids.contains(w.id) else { return false }
            taken.append(w)
            return true
        }
        return taken
    }
}
