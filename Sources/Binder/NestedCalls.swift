import BinderPlatform

/// The calls a thread is serving, for nested calls (WIRE.md §3.1): `run` records each routed
/// two-way call, `transactBlocking` names the innermost one in `nestedIn`.
extension BinderConnection {
    /// Runs `body` with the broker's ID of the routed call this thread is serving recorded in the
    /// thread's slot, as the newest entry of a stack kept on the thread's own stack (no allocation).
    func serving<R>(_ transactionID: UInt64, _ body: () -> R) -> R {
        withUnsafeTemporaryAllocation(of: ServingRecord.self, capacity: 1) { record in
            let previous = ThreadSlot.value
            record.initialize(repeating: ServingRecord(connection: Unmanaged.passUnretained(self).toOpaque(), transactionID: transactionID, previous: previous))
            ThreadSlot.value = UnsafeMutableRawPointer(record.baseAddress!)
            defer { ThreadSlot.value = previous }
            return body()
        }
    }

    /// The broker's ID of the innermost routed call this thread serves on this connection (0: none).
    var callServedOnThisThread: UInt64 {
        let me = Unmanaged.passUnretained(self).toOpaque()
        var next = ThreadSlot.value
        while let p = next {
            let record = p.assumingMemoryBound(to: ServingRecord.self).pointee
            if record.connection == me { return record.transactionID }
            next = record.previous
        }
        return 0
    }
}

/// One routed call a thread is serving (`BinderConnection.serving`): which connection, the broker's
/// ID of the call, and the record of the call this thread was serving before (nested calls).
private struct ServingRecord {
    let connection: UnsafeMutableRawPointer
    let transactionID: UInt64
    let previous: UnsafeMutableRawPointer?
}
