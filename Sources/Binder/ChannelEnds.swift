import BinderPlatform
import BinderWire

// What a `BinderConnection` does as one end of a direct channel (WIRE.md §7.5), and what a broker
// connection does for the channels made through it. Opening and accepting channels is in
// DirectChannel.swift; the calls, the receive loop and the pool are the connection's own
// (BinderConnection.swift).

extension BinderConnection {
    // MARK: Channels made through a broker connection

    /// Shuts down every direct channel made through this connection (lock held). Only a system
    /// call on each, never a channel's lock (a closing channel takes this lock in `untrack`).
    func shutDownChannels() {
        for (_, c) in channels { SeqPacket.shutdown(c.fd) }
        channels.removeAll()
    }

    /// Remembers a direct channel so that closing this connection closes it.
    /// - Returns: false when this connection is already closed (the channel is then shut down).
    func track(channel c: BinderConnection) -> Bool {
        let open: Bool = lock.withLock {
            if core.closed { return false }
            channels[ObjectIdentifier(c)] = c
            return true
        }
        if !open { c.close() }
        return open
    }

    /// Forgets a channel that closed (its own lock may be held: this takes only this one).
    func untrack(_ c: BinderConnection) {
        lock.withLock { _ = channels.removeValue(forKey: ObjectIdentifier(c)) }
    }

    /// Direct channels made through this connection that are still open.
    public var openChannelCount: Int { lock.withLock { channels.count } }

    // MARK: The channel's frames

    /// What the reader does with a frame that arrived on a channel end.
    enum ChannelFrame {
        /// A call (serving end) or a reply (client end): the receive loop routes it.
        case deliver
        /// The service's answer or the client's UPGRADE, taken here; read on.
        case taken
        /// Not part of the protocol here: the channel closes.
        case broken
    }

    /// Takes what only a channel end receives besides calls and replies: at the client's end the
    /// service's answer to a channel opened without waiting (a WELCOME, once, or a refusal: a
    /// REPLY with transaction ID 0), and at the serving end the client's UPGRADE (WIRE.md §7.5.1).
    func takeChannelFrame(_ frame: ReceivedFrame) -> ChannelFrame {
        guard let channel else { return .deliver }
        let header = frame.header
        if channel.serving {
            guard header.command == .welcome else { return .deliver }
            // The client's UPGRADE. Later frames come on the rings.
            guard receiver.ring == nil, let ring = adoptRings(frame, limits: welcome) else { return .broken }
            receiver.ring = ring
            watch(ring, asPoolThread: true)
            return .taken
        }
        if header.command == .welcome {
            // The service accepted (once, before any reply).
            return header.dataLength == 0 && channel.markAnswered() ? .taken : .broken
        }
        if header.transactionID != 0 {
            if !channel.answered { _ = channel.markAnswered() }  // a reply answers too
            return .deliver
        }
        // The service refused: calls fail with its status.
        if header.status != .ok, channel.markAnswered() { lock.withLock { core.refused(with: header.status) } }
        return .broken
    }

    /// A direct channel's client end whose service has not answered yet: a hang-up may be a
    /// refusal still queued for this end.
    var awaitsRefusal: Bool {
        guard let channel else { return false }
        return !channel.serving && !channel.answered
    }

    // MARK: Serving end

    /// The one object a serving end serves (bound before its first call runs), and its cookie.
    private var servedObject: (cookie: UInt64?, object: (any BinderObject)?) {
        lock.withLock { (core.objects.first?.cookie, core.objects.first?.entry.object) }
    }

    /// The serving end of a direct channel with one thread: receive, run, reply, with no queue,
    /// no hand-off and no reader election (nothing else reads this socket). One thread also keeps
    /// one-way calls in order.
    func serveAlone() {
        let (cookie, object) = servedObject
        while let frame = receiveFrame() {
            guard frame.header.command == .transaction else { continue }  // nothing else means anything here
            run(frame, on: frame.header.target == cookie ? object : nil)
        }
        markClosed()
    }

    /// The serving end of a direct channel, before its pool starts: runs on the calling thread a
    /// call the client sent before it heard the answer (a channel opened without waiting), so that
    /// its reply is the answer and no thread hand-off delays it.
    /// - Returns: whether a reply went out (the client then needs no WELCOME); nil when the channel
    ///   ended, or its first frame is not a call.
    func serveQueuedCall() -> Bool? {
        let (cookie, object) = servedObject
        switch receiver.receive(accepting: { channel?.accepts($0) ?? true }, refusingObjectsInReplies: true, dontWait: true) {
        case .empty:
            return false
        case .ended, .broken:
            return nil
        case .frame(let frame):
            guard frame.header.command == .transaction else { return nil }  // an UPGRADE only follows the answer
            run(frame, on: frame.header.target == cookie ? object : nil)
            return !frame.header.flags.contains(.oneWay)
        }
    }

    // MARK: Shared rings (WIRE.md §7.5.1)

    /// Client end of a direct channel, lock held, nothing in flight and no reader: sends the
    /// UPGRADE and reads from the rings from now on. Stays on the socket if they cannot be made.
    func moveOntoRings() {
        guard let ring = makeRings(limits: welcome) else { return }
        receiver.ring = ring
        watch(ring, asPoolThread: false)
    }

    /// Client end: the rings' memory, announced to the service on the socket.
    /// nil when it cannot be made or sent; the channel then stays on its socket.
    private func makeRings(limits: Welcome) -> ChannelRing? {
        guard let (memory, memfd) = try? SharedMemory.create(name: "binder-channel", size: ChannelRing.regionSize(maxFrameSize: limits.maxFrameSize))
        else { return nil }
        // The UPGRADE: a WELCOME whose one fd is the memfd (the parcel owns and closes it).
        let upgrade = Parcel(bytes: [], fileDescriptors: [ParcelFileDescriptor(adopting: memfd)])
        let ring = ChannelRing(memory: memory, socket: fd, serving: false, maxFrameSize: limits.maxFrameSize, maxFDs: limits.maxFDs)
        let installed = channel?.install(ring) {
            (try? Self.sendFrame(fd: fd, header: FrameHeader(command: .welcome), parcel: upgrade)) != nil
        }
        return installed == true ? ring : nil
    }

    /// Serving end: the client's UPGRADE, read on the socket (its one fd is the rings' memfd).
    /// nil when it is not a valid one; the caller closes the channel.
    private func adoptRings(_ upgrade: ReceivedFrame, limits: Welcome) -> ChannelRing? {
        guard upgrade.header.dataLength == 0, upgrade.parcel.fileDescriptors.count == 1,
            let memory = try? SharedMemory.adopt(fd: upgrade.parcel.fileDescriptors[0].fd, size: ChannelRing.regionSize(maxFrameSize: limits.maxFrameSize))
        else { return nil }
        let ring = ChannelRing(memory: memory, socket: fd, serving: true, maxFrameSize: limits.maxFrameSize, maxFDs: limits.maxFDs)
        return channel?.install(ring) == true ? ring : nil
    }

    /// Runs the rings' hang-up watcher on a reusable thread. At a serving end it counts as a pool
    /// thread, so that the socket is closed only once the watcher no longer waits on it; at the
    /// client's it holds the connection (and so the socket) until the hang-up.
    private func watch(_ ring: ChannelRing, asPoolThread: Bool) {
        if asPoolThread { lock.withLock { core.addWatcher() } }
        channel?.parent.channelThreads?.run { [self] in
            ring.watchForHangUp()
            if asPoolThread { poolThreadExited() }
        }
    }
}
