import BinderWire

/// The service manager's tables: registered names, callers waiting for a name, and listeners.
struct ServiceRegistry {
    struct Entry {
        let node: BrokerCore.NodeID
        /// The uid that holds the name; another uid cannot take it.
        let uid: UInt32
    }
    struct Waiter {
        let connection: ConnectionID
        let transactionID: UInt64
        let name: String
        /// Monotonic nanoseconds, or nil to wait as long as the caller stays connected.
        let deadline: UInt64?
    }
    struct Listener: Equatable {
        let connection: ConnectionID
        let node: BrokerCore.NodeID
    }

    var services: [String: Entry] = [:]
    var waiters: [Waiter] = []
    var listeners: [String: [Listener]] = [:]

    var nextDeadline: UInt64? { waiters.lazy.compactMap(\.deadline).min() }

    /// Removes what a closed connection leaves behind: services of its objects, its waiters, its listeners.
    mutating func connectionClosed(_ id: ConnectionID, deadNodes: Set<BrokerCore.NodeID>) {
        services = services.filter { !deadNodes.contains($0.value.node) }
        waiters.removeAll { $0.connection == id }
        for name in listeners.keys {
            listeners[name]!.removeAll { $0.connection == id || deadNodes.contains($0.node) }
            if listeners[name]!.isEmpty { listeners.removeValue(forKey: name) }
        }
    }

    /// Takes the waiters for `name` out of the table.
    mutating func takeWaiters(for name: String) -> [Waiter] {
        var taken: [Waiter] = []
        waiters.removeAll { w in
            if w.name == name { taken.append(w); return true }
            return false
        }
        return taken
    }

    /// Takes the waiters whose deadline has passed.
    mutating func takeExpired(now: UInt64) -> [Waiter] {
        var taken: [Waiter] = []
        waiters.removeAll { w in
            if let d = w.deadline, d <= now { taken.append(w); return true }
            return false
        }
        return taken
    }
}
