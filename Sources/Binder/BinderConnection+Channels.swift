import BinderWire

// The direct channels a broker connection made or accepted (DirectChannel.swift): closed with it.

extension BinderConnection {
    /// Shuts down every direct channel made through this connection: forgets them under the lock,
    /// then shuts each socket down after it (each end's own threads see the end and close it).
    func shutDownChannels() {
        let ends: [DirectChannelEnd] = lock.withLock {
            defer { channels.removeAll() }
            return Array(channels.values)
        }
        for c in ends { c.transport.socket.shutdown() }
    }

    /// Remembers a direct channel so that closing this connection closes it.
    /// - Returns: false when this connection is already closed (the channel is then shut down).
    func track(channel c: DirectChannelEnd) -> Bool {
        let open: Bool = lock.withLock {
            if core.closed { return false }
            channels[ObjectIdentifier(c)] = c
            return true
        }
        if !open { c.close() }
        return open
    }

    /// Forgets a channel that closed (its own lock may be held: this takes only this one).
    func untrack(_ c: DirectChannelEnd) {
        lock.withLock { _ = channels.removeValue(forKey: ObjectIdentifier(c)) }
    }

    /// Direct channels made through this connection that are still open.
    public var openChannelCount: Int { lock.withLock { channels.count } }
}
