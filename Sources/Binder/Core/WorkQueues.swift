import BinderWire
import DequeModule

/// The calls this process was sent and has not run yet (WIRE.md §3.1, §5.1): queued for any pool
/// thread, or for the thread whose outgoing call they are nested in; one-way calls to one object
/// held back while an earlier one runs; and the one-way calls finished but not yet reported to the
/// broker with FREE.
struct WorkQueues {
    /// Calls (and RELEASED notices) any pool thread may take, in arrival order.
    private(set) var incoming: Deque<ReceivedFrame> = []
    /// Calls that must run on the thread waiting for the call named in their `nestedIn`.
    private var nested: Deque<ReceivedFrame> = []
    /// One-way calls finished and not yet reported with FREE, and their bytes.
    private var unfreedCalls: UInt32 = 0
    private var unfreedBytes: UInt64 = 0
    /// FREE is sent when the pool has nothing queued, or once this much is unreported.
    static let freeBatchBytes: UInt64 = 64 * 1024

    /// What a FREE frame reports: one-way calls finished and their frames' bytes.
    struct FreeReport: Equatable {
        var calls: UInt32
        var bytes: UInt64
    }

    mutating func enqueue(_ frame: ReceivedFrame) { incoming.append(frame) }

    mutating func enqueueNested(_ frame: ReceivedFrame) { nested.append(frame) }

    /// The first call nested in `callID`, taken off the queue.
    mutating func takeNested(in callID: UInt64) -> ReceivedFrame? {
        guard !nested.isEmpty, let i = nested.firstIndex(where: { $0.header.nestedIn == callID }) else { return nil }
        return nested.remove(at: i)
    }

    /// The call `callID` is over: calls still filed as nested in it (there should be none, since the
    /// callee answered after they ended) go to the pool rather than wait for nobody.
    mutating func releaseNested(in callID: UInt64) {
        guard !nested.isEmpty else { return }
        while let i = nested.firstIndex(where: { $0.header.nestedIn == callID }) { incoming.append(nested.remove(at: i)) }
    }

    /// The next frame a pool thread may take, and its object's entry, keeping one-way calls to one
    /// object in order: a one-way call to an object that runs one already waits in that object's
    /// queue. The entry is taken now: a RELEASED notice behind the call may drop it from the table
    /// before the call runs.
    mutating func next(in objects: LocalObjectTable) -> (ReceivedFrame, LocalObjectTable.Entry?)? {
        while let frame = incoming.popFirst() {
            let object = objects[frame.header.target]
            guard frame.header.flags.contains(.oneWay), frame.header.command == .transaction, let object else { return (frame, object) }
            if object.oneWayBusy {
                object.oneWayQueue.append(frame)
                continue
            }
            object.oneWayBusy = true
            return (frame, object)
        }
        return nil
    }

    /// A one-way call finished on `object`. Returns the next one-way call queued for the same
    /// object (the finishing thread runs it, so they stay in order) and, with `reportsFree`, the
    /// FREE to send now: when nothing else is queued, or once `freeBatchBytes` are unreported.
    mutating func finishedOneWay(
        _ frame: ReceivedFrame, on object: LocalObjectTable.Entry?, reportsFree: Bool
    ) -> (next: ReceivedFrame?, free: FreeReport?) {
        var free: FreeReport? = nil
        if reportsFree {
            unfreedCalls += 1
            unfreedBytes += UInt64(frame.header.frameLength)
            if unfreedBytes >= Self.freeBatchBytes || (incoming.isEmpty && object?.oneWayQueue.isEmpty ?? true) {
                free = FreeReport(calls: unfreedCalls, bytes: unfreedBytes)
                (unfreedCalls, unfreedBytes) = (0, 0)
            }
        }
        guard let object else { return (nil, free) }
        if let next = object.oneWayQueue.popFirst() { return (next, free) }
        object.oneWayBusy = false
        return (nil, free)
    }
}
