import BinderWire

// The direct channels a broker connection made or accepted (DirectChannel.swift): closed with it.

extension BinderConnection {
    /// Shuts down every direct channel made through this connection (lock held). Only a system
    /// call on each, never a channel's lock (a closing channel takes this lock in `untrack`).
    func shutDownChannels() {
        for (_, c) in channels { c.transport.socket.shutdown() }
        channels.removeAll()
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
