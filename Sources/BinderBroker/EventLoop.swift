import BinderBrokerCore
import BinderPlatform
import BinderWire
import DequeModule
import Logging

/// binderd's event loop: one thread, one io_uring. Multishot accept on the listening socket,
/// multishot recvmsg with a provided buffer ring on every connection, sends through the ring.
/// All decisions are `BrokerCore`'s; this file only moves bytes and fds. Containers' processes,
/// namespaces and files are `ContainerLauncher`'s; the loop watches their endpoints and PID 1s.
///
/// A forwarded frame is rewritten in place in the receive buffer and sent from there, so routing a
/// transaction copies and allocates nothing; the buffer goes back to the kernel when the send completes.
public final class BrokerServer {
    private enum Op: UInt64 {
        case accept = 1, receive, send, signal, cancel, close, containerExit
    }

    private static func userData(_ op: Op, _ id: UInt32 = 0) -> UInt64 { op.rawValue << 56 | UInt64(id) }

    /// A frame queued for a peer: its bytes, and the `SCM_RIGHTS` message when it carries fds.
    private struct Outgoing {
        enum Storage {
            /// A receive buffer holding a forwarded frame.
            case received(UInt16)
            /// A frame the broker built, or a copy of a forwarded one (heap).
            case built(UnsafeMutableRawPointer)
        }
        let storage: Storage
        let bytes: UnsafeRawPointer
        let length: Int
        /// The fds that travel with the frame (the broker's copies, closed once it is sent).
        let fds: OutgoingMessage?
    }

    private final class Peer {
        let id: ConnectionID
        let fd: Int32
        let pidfd: Int32
        var queue: Deque<Outgoing> = []
        var sending = false
        var receiving = false
        /// Shut down by the broker or by the peer; no more frames are handled.
        var closing = false
        init(id: ConnectionID, fd: Int32, pidfd: Int32) {
            self.id = id
            self.fd = fd
            self.pidfd = pidfd
        }
    }

    private let options: Options
    private var logger: Logger
    private let ring: IOURing
    private let buffers: ProvidedBuffers
    private let template: ReceiveTemplate
    private let core: BrokerCore
    private var peers: [UInt32: Peer] = [:]
    private var nextConnection: UInt32 = 1
    /// Listening sockets by container ID (0: the root's), with the network namespace a peer must be in.
    private var endpoints: [UInt32: Endpoint] = [:]
    /// The first process of each running container.
    private var containerProcesses: [UInt32: ContainerProcess] = [:]
    private let launcher: ContainerLauncher
    private let signalFD: Int32
    private let signalBuffer = UnsafeMutableRawPointer.allocate(byteCount: 128, alignment: 8)
    private var needsRearm: [Peer] = []
    private var running = true

    private let fdScratch = UnsafeMutableBufferPointer<Int32>.allocate(capacity: 64)
    /// Reusable SCM_RIGHTS messages for forwarding frames that carry fds.
    private var freeMessages: [OutgoingMessage] = []

    /// Sets up the ring, the buffers and the listening socket. Call on the thread that will `run()`.
    /// - Throws: `SystemError` when the runtime directory, socket or ring cannot be set up.
    /// Whether channel socket pairs need a larger send buffer than the kernel's default.
    private let channelPairsNeedBuffers: Bool

    public init(options: Options, logger: Logger) throws(SystemError) {
        self.options = options
        self.logger = logger
        launcher = ContainerLauncher(options: options, logger: logger)
        // A channel's socket carries at most one whole frame at a time (its first call; the rest go
        // over shared memory, WIRE.md §7.5.1), so the kernel's default send buffer does unless it is
        // smaller than a frame: two system calls saved on every channel made.
        let defaultSendBuffer = FileSystem.readText("/proc/sys/net/core/wmem_default").flatMap { Int($0.filter(\.isNumber)) } ?? 0
        channelPairsNeedBuffers = defaultSendBuffer < Int(options.config.maxFrameSize) + 4096
        signalFD = try terminationSignalFD()
        ignoreSIGPIPE()
        ring = try IOURing(entries: 512)
        let maxFDs = Int(options.config.maxFDs)
        template = ReceiveTemplate(maxFDs: maxFDs)
        // Each buffer holds io_uring_recvmsg_out (16 bytes), the control area, then one whole frame.
        let bufferSize = template.overhead + Int(options.config.maxFrameSize)
        buffers = try ProvidedBuffers(ring: ring, group: 1, count: options.receiveBuffers, size: bufferSize)
        var config = options.config
        config.brokerPID = ProcessControl.currentPID
        config.brokerUID = ProcessControl.currentUID
        core = BrokerCore(config: config, now: monotonicNanos())
        try FileSystem.makeDirectories(options.runtimeDirectory)
        let listenFD = try SeqPacket.listen(path: options.socketPath, mode: 0o666)
        endpoints[0] = Endpoint(fd: listenFD, path: options.socketPath, networkNamespace: Namespaces.ownNetwork)
        adoptContainers()
    }

    deinit {
        signalBuffer.deallocate()
        fdScratch.deallocate()
    }

    /// Serves until SIGINT or SIGTERM, then closes every connection and removes the socket.
    public func run() throws(SystemError) {
        logger.info("listening", metadata: [
            "socket": "\(options.socketPath)", "max_frame": "\(options.config.maxFrameSize)", "pid": "\(ProcessControl.currentPID)",
        ])
        for (id, endpoint) in endpoints { ring.multishotAccept(fd: endpoint.fd, userData: Self.userData(.accept, id)) }
        for (id, process) in containerProcesses { ring.pollReadable(fd: process.pidfd, userData: Self.userData(.containerExit, id)) }
        ring.read(fd: signalFD, buffer: signalBuffer, length: signalInfoSize, userData: Self.userData(.signal))
        while running {
            // Deadlines made while handling this batch are later than now; the next turn waits for them.
            let deadline = core.nextDeadline
            var timeout: UInt64? = nil
            if let deadline {
                let now = monotonicNanos()
                timeout = deadline > now ? deadline - now : 0
            }
            // Waiting for more than one completion (to fold send completions into the next wait)
            // measured ~10 µs slower per round trip here: with DEFER_TASKRUN the wake-up waits for
            // the whole count. So: one completion at a time.
            try ring.submitAndWait(timeoutNanos: timeout)
            ring.drainCompletions { userData, result, flags in
                self.complete(userData: userData, result: result, flags: flags)
            }
            if let deadline {
                let now = monotonicNanos()
                if now >= deadline {
                    var out = Outbox(server: self)
                    core.expireTimers(now: now, out: &out)
                }
            }
            buffers.replenish()
            rearmStarved()
        }
        shutdown()
    }

    private func shutdown() {
        logger.info("shutting down", metadata: ["connections": "\(peers.count)", "containers": "\(containerProcesses.count)"])
        // Containers keep running; a broker started later adopts them from their state files.
        for endpoint in endpoints.values {
            FileDescriptor.close(endpoint.fd)
            FileSystem.remove(endpoint.path)
        }
        for process in containerProcesses.values { FileDescriptor.close(process.pidfd) }
        for peer in peers.values {
            SeqPacket.shutdown(peer.fd)
            FileDescriptor.close(peer.fd)
            if peer.pidfd >= 0 { FileDescriptor.close(peer.pidfd) }
        }
        peers.removeAll()
    }

    // MARK: Completions

    private func complete(userData: UInt64, result: Int32, flags: UInt32) {
        let id = UInt32(truncatingIfNeeded: userData)
        switch Op(rawValue: userData >> 56) {
        case .accept: accepted(result: result, flags: flags, container: id)
        case .containerExit: containerEnded(id)
        case .receive: received(id: id, result: result, flags: flags)
        case .send: sent(id: id, result: result)
        case .signal:
            let signo = result > 0 ? signalBuffer.load(as: UInt32.self) : 0
            logger.info("signal received", metadata: ["signal": "\(signo)"])
            running = false
        case .close:
            if result < 0 { logger.warning("close failed", metadata: ["error": "\(SystemError("close", -result))"]) }
        case .cancel, .none: break
        }
    }

    private func accepted(result: Int32, flags: UInt32, container: UInt32) {
        guard let endpoint = endpoints[container] else {
            if result >= 0 { FileDescriptor.close(result) }  // accepted just before the container ended
            return
        }
        if !IOURing.hasMore(flags: flags) && running {
            ring.multishotAccept(fd: endpoint.fd, userData: Self.userData(.accept, container))
        }
        guard result >= 0 else {
            logger.warning("accept failed", metadata: ["error": "\(SystemError("accept", -result))", "container": "\(container)"])
            return
        }
        let fd = result
        let credentials: PeerCredentials
        do { credentials = try SeqPacket.peerCredentials(fd) } catch {
            logger.warning("peer credentials unavailable; closing", metadata: ["error": "\(error)"])
            FileDescriptor.close(fd)
            return
        }
        let pidfd = (try? SeqPacket.peerPIDFD(fd)) ?? -1
        // The endpoint says which container the peer is in; its network namespace must agree, so a
        // process cannot pass for another container (or the root) by reaching its socket file.
        let peerNetwork = pidfd >= 0 ? Namespaces.network(ofPIDFD: pidfd) : nil
        guard peerNetwork == endpoint.networkNamespace else {
            logger.warning("peer's network namespace does not match the endpoint's container; closing", metadata: [
                "container": "\(container)", "pid": "\(credentials.pid)",
                "peer_netns": "\(peerNetwork.map(String.init) ?? "unknown")", "expected_netns": "\(endpoint.networkNamespace)",
            ])
            if pidfd >= 0 { FileDescriptor.close(pidfd) }
            FileDescriptor.close(fd)
            return
        }
        SeqPacket.setSendBufferSize(fd, bytes: Int32(options.config.maxFrameSize) * 2)
        let id = ConnectionID(nextConnection)
        nextConnection += 1
        let peer = Peer(id: id, fd: fd, pidfd: pidfd)
        peers[id.raw] = peer
        // Inside a container the process has another pid in its own PID namespace (fdinfo's NSpid).
        let namespacePID = container == 0 ? credentials.pid : Namespaces.innermostPID(ofPIDFD: pidfd) ?? 0
        core.connectionOpened(id, identity: PeerIdentity(
            pid: credentials.pid, uid: credentials.uid, gid: credentials.gid, container: container, namespacePID: namespacePID))
        logger.debug("connection opened", metadata: [
            "conn": "\(id)", "pid": "\(credentials.pid)", "uid": "\(credentials.uid)", "container": "\(container)",
        ])
        armReceive(peer)
    }

    private func armReceive(_ peer: Peer) {
        peer.receiving = true
        ring.multishotReceiveMessage(fd: peer.fd, template: template, group: buffers.group, userData: Self.userData(.receive, peer.id.raw))
    }

    private func received(id: UInt32, result: Int32, flags: UInt32) {
        let bufferID = IOURing.bufferID(flags: flags)
        if let bufferID { buffers.taken(bufferID) }
        guard let peer = peers[id] else {
            if let bufferID { recycle(bufferID) }
            return
        }
        let more = IOURing.hasMore(flags: flags)
        if !more { peer.receiving = false }
        if result == -SystemError.noBuffers && !peer.closing {
            // Every buffer is in use (frames waiting for slow receivers): re-arm once some come back.
            needsRearm.append(peer)
            return
        }
        guard result > 0, let bufferID else {
            if let bufferID { recycle(bufferID) }
            if !more { peerGone(peer, error: result < 0 ? SystemError("recvmsg", -result) : nil) }
            return
        }
        let base = buffers.buffer(bufferID)
        let message = ReceivedMessage(base: base, result: result, template: template)
        // On SEQPACKET a multishot recvmsg reports the peer's close as an empty message.
        guard !peer.closing, let message, message.fullLength > 0 else {
            recycle(bufferID)
            if !peer.closing {
                peer.closing = true
                SeqPacket.shutdown(peer.fd)  // ends the multishot if it is still armed
            }
            if !more { peerGone(peer, error: nil) }
            return
        }
        if !more { armReceive(peer) }
        // fds travel on with the frame when the core forwards it (the broker's copies are closed once
        // the send completes); otherwise they are closed here.
        let fdCount = message.takeFDs(into: fdScratch)
        var out = Outbox(server: self)
        core.handleFrame(
            from: peer.id, frame: message.payload, fdCount: message.controlTruncated ? -1 : fdCount,
            truncated: message.truncated, now: monotonicNanos(), out: &out)
        if let target = out.forwardTarget, let to = peers[target.raw], !to.closing {
            var frame = UnsafeRawPointer(message.payload.baseAddress!)
            let length = message.payload.count
            var storage = Outgoing.Storage.received(bufferID)
            if to.queue.count >= Self.zeroCopyQueueDepth {
                // A receiver that is not keeping up: its frames wait in copies, so that receive
                // buffers keep serving everyone else (the receiver's incoming-buffer limit, WIRE.md
                // §5.1, bounds what waits here).
                let copy = UnsafeMutableRawPointer.allocate(byteCount: length, alignment: 8)
                copy.copyMemory(from: frame, byteCount: length)
                recycle(bufferID)
                (frame, storage) = (UnsafeRawPointer(copy), .built(copy))
            }
            enqueue(Outgoing(
                storage: storage, bytes: frame, length: length,
                fds: fdMessage(frame, length, UnsafeBufferPointer(rebasing: fdScratch[0..<fdCount]))), to: to)
        } else {
            recycle(bufferID)
            for i in 0..<fdCount { FileDescriptor.close(fdScratch[i]) }
        }
    }

    /// Frames queued to one receiver (the one being sent included) that may stay in receive
    /// buffers; later ones are copied out.
    static let zeroCopyQueueDepth = 2

    private func rearmStarved() {
        guard !needsRearm.isEmpty, buffers.hasPosted else { return }
        for peer in needsRearm where peers[peer.id.raw] === peer && !peer.receiving && !peer.closing {
            armReceive(peer)
        }
        needsRearm.removeAll(keepingCapacity: true)
    }

    /// The receive side has ended (EOF, error, or after a shutdown): tell the core, then release the
    /// fd once sends drain.
    private func peerGone(_ peer: Peer, error: SystemError?) {
        peer.closing = true
        logger.debug("connection closed", metadata: ["conn": "\(peer.id)", "error": "\(error.map { "\($0)" } ?? "eof")"])
        var out = Outbox(server: self)
        core.connectionClosed(peer.id, out: &out)
        finishIfIdle(peer)
    }

    private func finishIfIdle(_ peer: Peer) {
        guard peer.closing, !peer.receiving, !peer.sending else { return }
        drainQueue(peer)
        peers.removeValue(forKey: peer.id.raw)
        FileDescriptor.close(peer.fd)
        if peer.pidfd >= 0 { FileDescriptor.close(peer.pidfd) }
    }

    // MARK: Sending

    private func enqueue(_ item: Outgoing, to peer: Peer) {
        peer.queue.append(item)
        if !peer.sending { startSend(peer) }
    }

    private func startSend(_ peer: Peer) {
        guard let item = peer.queue.first else { return }
        peer.sending = true
        if let message = item.fds {
            ring.send(fd: peer.fd, message: message, userData: Self.userData(.send, peer.id.raw))
        } else {
            ring.send(fd: peer.fd, buffer: item.bytes, length: item.length, userData: Self.userData(.send, peer.id.raw))
        }
    }

    private func sent(id: UInt32, result: Int32) {
        guard let peer = peers[id] else { return }
        peer.sending = false
        if let item = peer.queue.popFirst() { release(item) }
        if result < 0 && !peer.closing {
            // The peer cannot take frames any more; its receive side reports the close.
            disconnect(peer, reason: "send failed: \(SystemError("send", -result))")
        }
        if peer.closing {
            drainQueue(peer)
            finishIfIdle(peer)
        } else if !peer.queue.isEmpty {
            startSend(peer)
        }
    }

    /// Drops every queued frame of a closing connection.
    private func drainQueue(_ peer: Peer) {
        while let item = peer.queue.popFirst() { release(item) }
    }

    private func recycle(_ id: UInt16) { buffers.recycle(id) }

    private func release(_ item: Outgoing) {
        switch item.storage {
        case .received(let bufferID): recycle(bufferID)
        case .built(let p): p.deallocate()
        }
        if let message = item.fds {
            // The kernel holds its own references to the files once the send completed (or the
            // receiver got nothing): the broker's copies go, closed through the ring.
            message.takeFDs { ring.close(fd: $0, userData: Self.userData(.close)) }
            freeMessages.append(message)
        }
    }

    /// An `SCM_RIGHTS` message for a frame at `bytes` carrying `fds` (whose ownership it takes);
    /// nil when there are none.
    private func fdMessage(_ bytes: UnsafeRawPointer, _ length: Int, _ fds: UnsafeBufferPointer<Int32>) -> OutgoingMessage? {
        guard !fds.isEmpty else { return nil }
        let message = freeMessages.popLast() ?? OutgoingMessage(maxFDs: Int(options.config.maxFDs))
        message.prepare(buffer: bytes, length: length, fds: fds)
        return message
    }

    /// Queues a frame the broker built; its parcel's fds become the event loop's (see `BrokerOutbox.send`).
    fileprivate func sendBuilt(to id: ConnectionID, header: FrameHeader, parcel: Parcel) {
        let fds = parcel.fileDescriptors.map(\.fd)
        guard let peer = peers[id.raw], !peer.closing else { return fds.forEach(FileDescriptor.close) }
        let length = header.describing(parcel).frameLength
        let p = UnsafeMutableRawPointer.allocate(byteCount: length, alignment: 8)
        parcel.encodeFrame(header: header, into: p)
        let message = fds.withUnsafeBufferPointer { fdMessage(p, length, $0) }
        enqueue(Outgoing(storage: .built(p), bytes: p, length: length, fds: message), to: peer)
    }

    fileprivate func makeChannelPair() -> (Int32, Int32)? {
        do {
            let pair = try SeqPacket.pair()
            if channelPairsNeedBuffers {
                SeqPacket.setSendBufferSize(pair.0, bytes: Int32(options.config.maxFrameSize) * 2)
                SeqPacket.setSendBufferSize(pair.1, bytes: Int32(options.config.maxFrameSize) * 2)
            }
            return pair
        } catch {
            logger.warning("socketpair failed", metadata: ["error": "\(error)"])
            return nil
        }
    }

    fileprivate func disconnect(_ id: ConnectionID, reason: String) {
        guard let peer = peers[id.raw] else { return }
        disconnect(peer, reason: reason)
    }

    private func disconnect(_ peer: Peer, reason: String) {
        guard !peer.closing else { return }
        peer.closing = true
        logger.warning("disconnecting peer", metadata: ["conn": "\(peer.id)", "reason": "\(reason)"])
        // shutdown() ends the multishot receive (it completes with 0), which reports the close.
        SeqPacket.shutdown(peer.fd)
        if !peer.receiving {
            var out = Outbox(server: self)
            core.connectionClosed(peer.id, out: &out)
            finishIfIdle(peer)
        }
    }

    // MARK: Containers

    /// Starts container `id` (ContainerLauncher.swift), then watches its endpoint and PID 1.
    fileprivate func startContainer(id: UInt32, name: String) -> Result<StartedContainer, ContainerStartFailure> {
        launcher.start(id: id, name: name).map { launched in
            watch(launched)
            return launched.started
        }
    }

    private func watch(_ container: LaunchedContainer) {
        endpoints[container.id] = container.endpoint
        containerProcesses[container.id] = container.process
        ring.multishotAccept(fd: container.endpoint.fd, userData: Self.userData(.accept, container.id))
        ring.pollReadable(fd: container.process.pidfd, userData: Self.userData(.containerExit, container.id))
    }

    fileprivate func stopContainer(id: UInt32) {
        guard let process = containerProcesses[id] else { return }
        launcher.stop(id, process: process)
    }

    /// PID 1 of container `id` exited: the ring stops accepting on its endpoint, the launcher
    /// cleans up, then the core forgets the container.
    private func containerEnded(_ id: UInt32) {
        guard let process = containerProcesses.removeValue(forKey: id) else { return }
        let endpoint = endpoints.removeValue(forKey: id)
        if let endpoint { ring.cancel(fd: endpoint.fd, userData: Self.userData(.cancel)) }
        launcher.cleanUp(afterEnd: id, process: process, endpoint: endpoint)
        var out = Outbox(server: self)
        core.containerExited(id, out: &out)
    }

    /// Takes over the containers an earlier broker run left running. Called from `init`: `run()`
    /// starts watching them on the ring.
    private func adoptContainers() {
        for container in launcher.adoptRunning() {
            endpoints[container.id] = container.endpoint
            containerProcesses[container.id] = container.process
            core.containerAdopted(id: container.id, name: container.name, started: container.started)
        }
    }

    private struct Outbox: BrokerOutbox {
        unowned let server: BrokerServer
        var forwardTarget: ConnectionID? = nil
        init(server: BrokerServer) { self.server = server }
        mutating func forwardCurrentFrame(to id: ConnectionID) { forwardTarget = id }
        mutating func send(to id: ConnectionID, header: FrameHeader, parcel: Parcel) { server.sendBuilt(to: id, header: header, parcel: parcel) }
        mutating func disconnect(_ id: ConnectionID, reason: String) { server.disconnect(id, reason: reason) }
        mutating func makeChannelPair() -> (Int32, Int32)? { server.makeChannelPair() }
        mutating func close(fd: Int32) { FileDescriptor.close(fd) }
        mutating func startContainer(id: UInt32, name: String) -> Result<StartedContainer, ContainerStartFailure> {
            server.startContainer(id: id, name: name)
        }
        mutating func stopContainer(id: UInt32) { server.stopContainer(id: id) }
    }
}
