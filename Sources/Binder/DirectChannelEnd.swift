import BinderPlatform
import BinderWire
import Synchronization

/// One end of a direct channel (WIRE.md §7.5): the client's, which calls the service's object, or
/// the serving end, which runs those calls. A thin shell like `BinderConnection`
/// (Endpoint/FrameEndpoint.swift), with a direct channel's rules: no broker in between, so no
/// reference counting, no nested-call routing, no FREE; the caller's identity is the one the broker
/// stamped when it made the channel; the client moves the channel onto shared rings at its second
/// call (Transport/ChannelTransport.swift). Opening and accepting channels is in DirectChannel.swift.
final class DirectChannelEnd: FrameEndpoint, @unchecked Sendable {
    // @unchecked: mutable state is guarded by `lock`; `answer` is atomic; the rest is set once.

    static var behaviour: ConnectionBehaviour { .directChannel }
    let lock = ConditionLock()
    var core: ConnectionCore<AsyncWaiter>
    let transport: ChannelTransport
    let receiver: FrameReceiver
    let closeLatch = Latch()
    /// The smaller of this end's and the peer's limits (each as negotiated with its broker), so
    /// that each end receives what the other may send.
    let limits: Welcome
    /// The broker connection the channel was made through (closing it closes the channel).
    let parent: BinderConnection
    /// Who is at the other end, as the broker stamped it when it made the channel.
    let peer: CallerIdentity
    /// Whether this end serves an object (else it is the client's end).
    let serving: Bool
    /// Serving end only: run once its last thread has seen the channel close.
    let onClosed: (@Sendable () -> Void)?
    /// Client end: whether the service's answer (its WELCOME, or a reply) has arrived. Set from the
    /// start when the client waited for it; else by the first frame the service sends.
    private let answer: Atomic<Bool>
    /// Client end: whether it tried to move onto the rings yet (guarded by `lock`).
    private var upgradeTried = false
    /// A serving end with one thread: receive, run, reply on that thread alone.
    private let servesAlone: Bool

    /// Takes over a claimed channel end.
    init(
        _ end: ParcelFileDescriptor, limits: Welcome, parent: BinderConnection, peer: CallerIdentity, serving: Bool, threads: Int,
        answered: Bool = true, onClosed: (@Sendable () -> Void)? = nil
    ) {
        transport = ChannelTransport(socket: SocketTransport(adopting: end.detach()))
        receiver = FrameReceiver(
            transport: transport, bodyBuffer: ControlFrames.makeBodyBuffer(maxFrameSize: limits.maxFrameSize), maxFrameSize: limits.maxFrameSize,
            maxFDs: limits.maxFDs)
        self.limits = limits
        self.parent = parent
        self.peer = peer
        self.serving = serving
        self.onClosed = onClosed
        answer = Atomic(answered)
        core = ConnectionCore(behaviour: Self.behaviour, maxThreads: threads)
        servesAlone = serving && max(1, threads) == 1
    }

    var answered: Bool { answer.load(ordering: .acquiring) }

    /// Records the service's answer; false if it had come already.
    private func markAnswered() -> Bool { !answer.exchange(true, ordering: .acquiringAndReleasing) }

    /// Closes the channel: waiting and later calls fail with `DEAD_OBJECT`.
    func close() {
        transport.socket.shutdown()
        parent.untrack(self)
    }

    /// Serves `object` as `cookie` (before the pool starts).
    func bind(_ object: any BinderObject, cookie: UInt64) {
        lock.withLock { core.objects.bind(object, cookie: cookie) }
    }

    // MARK: A direct channel's rules (FrameEndpoint)

    var owner: BinderConnection { parent }
    var nestedIn: UInt64 { 0 }
    static var refusesObjectsInReplies: Bool { true }

    /// A direct channel's client moves it onto shared rings from its second call, once the service
    /// has answered and nothing is in flight (WIRE.md §7.5.1): a channel used once never pays for
    /// the mapping.
    func beforeCall() {
        guard !upgradeTried, !serving, core.calls.started >= 1, !core.closed, answered, core.isQuiescent else { return }
        upgradeTried = true
        moveOntoRings()
    }

    /// A channel's peer is a process, not the broker: its end is the channel's end.
    func brokerWentAway() -> Bool { false }
    var resumptions: UInt64 { 0 }
    func waitForResumption(after seen: UInt64) -> Bool { false }

    /// No broker translates object references on a direct channel.
    func sendingObjects(_ parcel: Parcel) throws(StatusCode) { throw .invalidOperation }

    /// A client end whose service has not answered yet: a hang-up may be a refusal still queued.
    var awaitsRefusal: Bool { !serving && !answered }

    /// Calls (and the client's one UPGRADE) at the serving end, replies (and, once, the service's
    /// WELCOME) at the client's. Anything else closes the channel.
    func accepts(_ command: Command) -> Bool {
        command == .welcome || command == (serving ? .transaction : .reply)
    }

    /// Takes what only a channel end receives besides calls and replies: at the client's end the
    /// service's answer to a channel opened without waiting (a WELCOME, once, or a refusal: a
    /// REPLY with transaction ID 0), and at the serving end the client's UPGRADE (WIRE.md §7.5.1).
    func take(_ frame: inout ReceivedFrame) -> FrameDisposition {
        let header = frame.header
        if serving {
            guard header.command == .welcome else { return .deliver }
            // The client's UPGRADE. Later frames come on the rings.
            guard let ring = adoptRings(frame) else { return .broken }
            watch(ring, asPoolThread: true)
            return .taken
        }
        if header.command == .welcome {
            // The service accepted (once, before any reply).
            return header.dataLength == 0 && markAnswered() ? .taken : .broken
        }
        if header.transactionID != 0 {
            if !answered { _ = markAnswered() }  // a reply answers too
            return .deliver
        }
        // The service refused: calls fail with its status.
        if header.status != .ok, markAnswered() { lock.withLock { core.refused(with: header.status) } }
        return .broken
    }

    /// The serving end makes the broker's checks of a routed call itself: no object references
    /// (nothing would translate them), fds only to an object that accepts them; the caller is the
    /// identity the broker stamped when it made the channel (never the frame's).
    func serve(_ frame: ReceivedFrame, on object: any BinderObject) -> (StatusCode, Parcel) {
        let header = frame.header
        if header.objectCount > 0 { return (.invalidOperation, Parcel()) }
        if header.fdCount > 0 && !object.acceptsFileDescriptors { return (.fdsNotAllowed, Parcel()) }
        let (status, reply) = invoke(object, code: header.code, data: frame.parcel, flags: header.flags, caller: peer, deadline: header.deadline)
        if !reply.fileDescriptors.isEmpty && !header.flags.contains(.acceptFDs) { return (.fdsNotAllowed, Parcel()) }
        return (status, reply)
    }

    func servePool() {
        if servesAlone { serveAlone() } else { _ = try? drive(until: nil) }
    }

    /// A channel's threads come from its broker connection's reusable ones: a channel may live for
    /// one call, and creating a thread costs more than the call.
    func startThread(index: Int, _ body: @escaping @Sendable () -> Void) { parent.channelThreads.run(body) }

    func didClose() { parent.untrack(self) }

    /// A closed serving end: its own threads were the last to use the socket (the broker
    /// connection forgot it when it closed), so it closes now, before its owner hears.
    func lastThreadExited() {
        if serving && lock.withLock({ core.closed }) { transport.socket.close() }
        onClosed?()
    }

    // MARK: Serving end

    /// The one object a serving end serves (bound before its first call runs), and its cookie.
    private var servedObject: (cookie: UInt64?, object: (any BinderObject)?) {
        lock.withLock { (core.objects.first?.cookie, core.objects.first?.entry.object) }
    }

    /// The serving end of a direct channel with one thread: receive, run, reply, with no queue,
    /// no hand-off and no reader election (nothing else reads this socket). One thread also keeps
    /// one-way calls in order.
    private func serveAlone() {
        let (cookie, object) = servedObject
        while let frame = receiveFrame() {
            guard frame.header.command == .transaction else { continue }  // nothing else means anything here
            run(frame, on: frame.header.target == cookie ? object : nil)
        }
        markClosed()
    }

    /// The serving end, before its pool starts: runs on the calling thread a call the client sent
    /// before it heard the answer (a channel opened without waiting), so that its reply is the
    /// answer and no thread hand-off delays it.
    /// - Returns: whether a reply went out (the client then needs no WELCOME); nil when the channel
    ///   ended, or its first frame is not a call.
    func serveQueuedCall() -> Bool? {
        let (cookie, object) = servedObject
        switch receiver.receive(accepting: { accepts($0) }, refusingObjectsInReplies: true, dontWait: true) {
        case .empty:
            return false
        case .ended, .broken, .timedOut:
            return nil
        case .frame(let frame):
            guard frame.header.command == .transaction else { return nil }  // an UPGRADE only follows the answer
            run(frame, on: frame.header.target == cookie ? object : nil)
            return !frame.header.flags.contains(.oneWay)
        }
    }

    // MARK: Shared rings (WIRE.md §7.5.1)

    /// Client end, lock held, nothing in flight and no reader: sends the UPGRADE and moves onto the
    /// rings. Stays on the socket if they cannot be made or announced.
    private func moveOntoRings() {
        guard let (memory, memfd) = try? SharedMemory.create(name: "binder-channel", size: ChannelRing.regionSize(maxFrameSize: limits.maxFrameSize))
        else { return }
        // The UPGRADE: a WELCOME whose one fd is the memfd (the parcel owns and closes it).
        let upgrade = Parcel(bytes: [], fileDescriptors: [ParcelFileDescriptor(adopting: memfd)])
        let ring = ChannelRing(memory: memory, socket: transport.socket.fd, serving: false, maxFrameSize: limits.maxFrameSize, maxFDs: limits.maxFDs)
        if transport.switchToRings(ring, announce: { socket in (try? socket.send(FrameHeader(command: .welcome), upgrade)) != nil }) {
            watch(ring, asPoolThread: false)
        }
    }

    /// Serving end: the client's UPGRADE, read on the socket (its one fd is the rings' memfd).
    /// nil when it is not a valid one; the caller closes the channel.
    private func adoptRings(_ upgrade: ReceivedFrame) -> ChannelRing? {
        guard upgrade.header.dataLength == 0, upgrade.parcel.fileDescriptors.count == 1,
            let memory = try? SharedMemory.adopt(fd: upgrade.parcel.fileDescriptors[0].fd, size: ChannelRing.regionSize(maxFrameSize: limits.maxFrameSize))
        else { return nil }
        let ring = ChannelRing(memory: memory, socket: transport.socket.fd, serving: true, maxFrameSize: limits.maxFrameSize, maxFDs: limits.maxFDs)
        return transport.switchToRings(ring) ? ring : nil
    }

    /// Runs the rings' hang-up watcher on a reusable thread. At a serving end it counts as a pool
    /// thread, so that the socket is closed only once the watcher no longer waits on it; at the
    /// client's it holds the end (and so the socket) until the hang-up.
    private func watch(_ ring: ChannelRing, asPoolThread: Bool) {
        if asPoolThread { lock.withLock { core.addWatcher() } }
        parent.channelThreads.run { [self] in
            ring.watchForHangUp()
            if asPoolThread { poolThreadExited() }
        }
    }
}
