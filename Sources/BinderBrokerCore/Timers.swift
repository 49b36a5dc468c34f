/// The core's timers: channel ends that expire unclaimed and `waitForService` callers that time
/// out. Each table keeps its deadlines in a `DeadlineQueue`, so the event loop's question before
/// every wait (`nextDeadline`) costs no scan.
extension BrokerCore {
    /// The earliest moment `expireTimers` has work to do.
    public var nextDeadline: UInt64? {
        guard let c = channels.nextDeadline else { return serviceManager.registry.nextDeadline }
        return min(c, serviceManager.registry.nextDeadline ?? c)
    }

    /// Answers `waitForService` callers whose time-out has passed, with a null binder, and closes
    /// channel ends that expired unclaimed.
    public func expireTimers<O: BrokerOutbox>(now: UInt64, out: inout O) {
        expireChannels(now: now, out: &out)
        for w in serviceManager.registry.takeExpired(now: now) {
            guard let waiter = connections[w.connection] else { continue }
            replyOK(to: waiter, transactionID: w.transactionID, out: &out) { p in p.write(object: .null) }
        }
    }
}
