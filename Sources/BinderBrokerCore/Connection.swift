import BinderWire

/// One connected process as the core sees it: who it is (the kernel's word at accept time), what
/// it negotiated at hello, the handles it holds to other processes' objects, its own objects, and
/// its incoming buffer and thread pool.
///
/// Each piece of the core keeps its per-process part here (`HandleTable`, `OwnedObjects`,
/// `FlowControl`) instead of in a table of its own keyed by connection: a routed frame finds all of
/// them through the one lookup of its sender and the one of its receiver.
final class Connection {
    let id: ConnectionID
    let identity: PeerIdentity
    var greeted = false
    var maxFrameSize: UInt32 = 0
    /// The most fds this connection takes in one frame (negotiated at hello).
    var maxFDs: UInt32 = 0
    /// Its handles to other processes' objects (References.swift).
    var handles = HandleTable()
    /// Its own objects that the broker knows, by cookie, with their reference counts.
    var owned = OwnedObjects()
    var flow: FlowControl
    /// The client's session (WIRE.md §2.1), 0 for none: what a runtime that reconnects after a
    /// broker restart resumes.
    var session: UInt64 = 0
    var transactionsSent: UInt64 = 0
    var transactionsReceived: UInt64 = 0

    init(id: ConnectionID, identity: PeerIdentity, incomingBufferBytes: UInt32) {
        self.id = id
        self.identity = identity
        flow = FlowControl(bufferBytes: incomingBufferBytes)
    }
}
