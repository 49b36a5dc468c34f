import BinderPlatform

/// The calls this thread is serving, innermost first (WIRE.md §3.1): one record per call a handler
/// runs (`FrameEndpoint.invoke`), kept on the thread's own stack and linked through the thread's
/// slot, so recording one allocates nothing. This is the one place that knows "the call this thread
/// serves": `TransactionContext.current` reads the innermost record, and `nestedIn` of a call the
/// handler makes is the innermost routed two-way call on the same broker connection.
enum ServedCalls {
    /// Runs `body` with `context` recorded as the innermost call this thread serves.
    /// - Parameter routedCall: the broker's ID of a routed two-way call (calls made while it runs
    ///   are nested in it); 0 for any other call (one-way, on a direct channel, or local).
    static func serving<R>(_ context: TransactionContext, routedCall: UInt64, _ body: () -> R) -> R {
        withUnsafePointer(to: context) { context in
            withUnsafeTemporaryAllocation(of: ServingRecord.self, capacity: 1) { record in
                let previous = ThreadSlot.value
                record.initialize(repeating: ServingRecord(
                    connection: Unmanaged.passUnretained(context.pointee.connection).toOpaque(), transactionID: routedCall,
                    context: context, previous: previous))
                ThreadSlot.value = UnsafeMutableRawPointer(record.baseAddress!)
                defer { ThreadSlot.value = previous }
                return body()
            }
        }
    }

    /// The context of the innermost call this thread serves; nil outside a call.
    static var current: TransactionContext? {
        guard let p = ThreadSlot.value else { return nil }
        return p.assumingMemoryBound(to: ServingRecord.self).pointee.context.pointee
    }

    /// The deadline of the innermost call this thread serves (`monotonicNanos()`; 0: none, or
    /// outside a call): what calls its handler makes inherit (WIRE.md §3.2).
    @inline(__always)
    static var currentDeadline: UInt64 {
        guard let p = ThreadSlot.value else { return 0 }
        return p.assumingMemoryBound(to: ServingRecord.self).pointee.context.pointee.deadlineNanos
    }

    /// The broker's ID of the innermost routed two-way call this thread serves on `connection`
    /// (0: none).
    static func innermostRoutedCall(on connection: BinderConnection) -> UInt64 {
        let me = Unmanaged.passUnretained(connection).toOpaque()
        var next = ThreadSlot.value
        while let p = next {
            let record = p.assumingMemoryBound(to: ServingRecord.self).pointee
            if record.connection == me && record.transactionID != 0 { return record.transactionID }
            next = record.previous
        }
        return 0
    }
}

/// One call a thread is serving: the broker connection it came through, the broker's ID of a
/// routed two-way call (else 0), its context, and the record of the call this thread was serving
/// before (nested calls). Plain pointers: the record lives only while `ServedCalls.serving` runs.
private struct ServingRecord {
    let connection: UnsafeMutableRawPointer
    let transactionID: UInt64
    let context: UnsafePointer<TransactionContext>
    let previous: UnsafeMutableRawPointer?
}
