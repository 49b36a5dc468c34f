/// The two-way calls in flight, as Binder's driver keeps its transaction stacks: each forwarded
/// call gets a broker ID, under which its callee answers, and the reply is matched back to the
/// caller's own ID by it. A call made while serving another remembers that one (its parent), so a
/// call back into a process whose thread waits up the stack (A→B→A, A→B→C→A, ...) goes to that
/// waiting thread instead of a new one.
///
/// It only keeps the table; what a call costs its callee is the callee's `FlowControl`, and
/// `BrokerCore` does the forwarding.
struct TransactionRouter {
    struct PendingCall {
        let caller: ConnectionID
        let callerTransactionID: UInt64
        let callee: ConnectionID
        /// The caller accepts fds in the reply (`TransactionFlags.acceptFDs`).
        let acceptsFDs: Bool
        /// The broker ID of the call the caller's thread was serving when it made this one (0:
        /// none): the transaction stack that nested calls are matched against.
        let parent: UInt64
        /// Bytes charged to the callee's incoming buffer; whether the call counts as busy there.
        let charge: UInt32
        let countsBusy: Bool
    }

    enum Nesting {
        /// The sender names a call it is not serving.
        case forged
        /// The call it names is over (its caller went away): not nested.
        case over
        /// The parent to record, and the callee's own ID of the call its thread waits on (0: none).
        case stack(parent: UInt64, nestedIn: UInt64)
    }

    /// What a reply's transaction ID names.
    enum Answered {
        /// No call in flight: its caller went away, so the late reply is dropped.
        case unknown
        /// A call that was not sent to the replying connection.
        case notItsCall
        /// The call it answers, now removed.
        case call(PendingCall)
    }

    /// How far up a transaction stack the broker looks for a waiting thread of the callee.
    static let maxNesting = 64

    private(set) var pending: [UInt64: PendingCall] = [:]
    private var nextTransactionID: UInt64 = 1

    var count: Int { pending.count }

    /// Records a call forwarded to its callee; returns the broker ID the callee answers to.
    @inline(__always)
    mutating func started(_ call: PendingCall) -> UInt64 {
        let txid = nextTransactionID
        nextTransactionID += 1
        pending[txid] = call
        return txid
    }

    /// Matches a reply from `callee` to the call it answers, removing it (one hash: find, check,
    /// then remove by index).
    @inline(__always)
    mutating func answered(_ txid: UInt64, by callee: ConnectionID) -> Answered {
        guard let index = pending.index(forKey: txid) else { return .unknown }
        let call = pending[index].value
        guard call.callee == callee else { return .notItsCall }
        pending.remove(at: index)
        return .call(call)
    }

    /// Where a two-way call made while serving broker call `parent` runs, as Binder's driver does it:
    /// if a thread of `callee` waits somewhere up the transaction stack (A→B→A, A→B→C→A, ...), the
    /// call goes to that thread, named by the callee's own ID of the call it waits on.
    func nesting(of sender: ConnectionID, under parent: UInt64, callee: ConnectionID) -> Nesting {
        guard let served = pending[parent] else { return .over }
        guard served.callee == sender else { return .forged }
        var call = served
        for _ in 0..<Self.maxNesting {
            if call.caller == callee { return .stack(parent: parent, nestedIn: call.callerTransactionID) }
            guard call.parent != 0, let up = pending[call.parent] else { break }
            call = up
        }
        return .stack(parent: parent, nestedIn: 0)
    }

    /// Removes and returns every call that connection `id` made or serves (it closed). Closes are
    /// rare and few calls are in flight, so this scans rather than keep per-connection indexes up
    /// to date on every transaction.
    mutating func removeCalls(involving id: ConnectionID) -> [PendingCall] {
        var removed: [PendingCall] = []
        for (txid, call) in pending where call.callee == id || call.caller == id {
            pending.removeValue(forKey: txid)
            removed.append(call)
        }
        return removed
    }
}
