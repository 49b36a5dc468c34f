import BinderWire

@testable import Binder

// Drives the client runtime's pure core (Sources/Binder/Core) as the connection's threads would,
// with scripted frames: no sockets, no threads, no root. An async call's waiter is a String tag.

typealias Core = ConnectionCore<String>
typealias Effects = ConnectionEffects<String>

/// An object the core can hold in its table; the core never calls it.
final class Served: BinderObject {
    func onTransact(code: UInt32, data: inout Parcel, reply: inout Parcel, context: TransactionContext) throws {}
}

/// A routed call to the object with `cookie`, as the broker delivers it.
func call(_ cookie: UInt64, id: UInt64 = 1, oneWay: Bool = false, nestedIn: UInt64 = 0, dataLength: UInt32 = 0, code: UInt32 = 1) -> ReceivedFrame {
    ReceivedFrame(
        header: FrameHeader(
            command: .transaction, flags: oneWay ? .oneWay : [], dataLength: dataLength, transactionID: oneWay ? 0 : id,
            target: cookie, code: code, nestedIn: nestedIn),
        parcel: Parcel())
}

func reply(_ id: UInt64, status: StatusCode = .ok) -> ReceivedFrame {
    ReceivedFrame(header: FrameHeader(command: .reply, transactionID: id, status: status), parcel: Parcel())
}

/// A frame with only a header: SPAWN_THREAD, RELEASED.
func notice(_ command: Command, target: UInt64 = 0, transactionID: UInt64 = 0) -> ReceivedFrame {
    ReceivedFrame(header: FrameHeader(command: command, transactionID: transactionID, target: target), parcel: Parcel())
}

extension ConnectionCore {
    /// The reader (a thread waiting for `id`, or a pool thread) took the reader role and received
    /// `frame`: what it got for itself, and the effects.
    mutating func read(_ frame: ReceivedFrame?, by id: UInt64? = nil) -> (mine: ReceivedFrame?, effects: ConnectionEffects<Waiter>) {
        guard case .read = next(for: id) else { fatalError("the reader role was not free") }
        var effects = ConnectionEffects<Waiter>()
        let mine = received(frame, by: id, effects: &effects)
        return (mine, effects)
    }

    /// Frames that arrive while the pool is busy: read by a thread blocked on a call of its own
    /// (a pool thread asking for work would be handed the first one instead of reading on).
    mutating func deliver(_ frames: [ReceivedFrame]) {
        let caller = startBlocking()
        for frame in frames { _ = read(frame, by: caller) }
        abandon(caller)
    }

    /// A blocking call's ID (the connection must be open).
    mutating func startBlocking(oneWay: Bool = false) -> UInt64 {
        guard case .success(let call) = startCall(oneWay: oneWay) else { fatalError("closed") }
        return call.id
    }

    /// Publishes a new object and returns its cookie and the object.
    mutating func publishObject() -> (UInt64, Served) {
        let object = Served()
        return (objects.publish(object), object)
    }
}

extension ConnectionCore.Step {
    var served: FrameHeader? {
        if case .serve(let frame, _) = self { return frame.header }
        return nil
    }
    var servedObject: (any BinderObject)? {
        if case .serve(_, let entry) = self { return entry?.object }
        return nil
    }
    var nestedCall: FrameHeader? {
        if case .runNested(let frame, _) = self { return frame.header }
        return nil
    }
    var reply: FrameHeader? {
        if case .reply(let frame) = self { return frame.header }
        return nil
    }
    var closedWith: StatusCode? {
        if case .closed(let status) = self { return status }
        return nil
    }
    var isRead: Bool {
        if case .read = self { return true }
        return false
    }
    var isSleep: Bool {
        if case .sleep = self { return true }
        return false
    }
}
