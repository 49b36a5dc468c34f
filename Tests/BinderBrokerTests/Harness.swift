import BinderWire

@testable import BinderBrokerCore

/// Records what the broker core asks the event loop to do.
struct RecordingOutbox: BrokerOutbox {
    struct Sent: Equatable {
        var to: ConnectionID
        var header: FrameHeader
        var parcel: Parcel
    }
    var sent: [Sent] = []
    var disconnects: [(ConnectionID, String)] = []
    /// The buffer the core is handling (and rewriting) right now.
    var currentFrame = UnsafeRawBufferPointer(start: nil, count: 0)

    mutating func forwardCurrentFrame(to id: ConnectionID) {
        var p = Parcel()
        let header = try! FrameHeader.decode(from: currentFrame, messageLength: currentFrame.count)
        let dataEnd = 64 + Int(header.dataLength)
        p.replace(with: UnsafeRawBufferPointer(rebasing: currentFrame[64..<dataEnd]), objectOffsets: UnsafeRawBufferPointer(rebasing: currentFrame[dataEnd...]))
        sent.append(Sent(to: id, header: header, parcel: p))
    }
    mutating func send(to id: ConnectionID, header: FrameHeader, parcel: Parcel) {
        sent.append(Sent(to: id, header: header.describing(parcel), parcel: parcel))
        passed += parcel.fileDescriptors.map { (id, $0.fd) }
    }
    mutating func disconnect(_ id: ConnectionID, reason: String) { disconnects.append((id, reason)) }

    /// Fake fd numbers handed out for channel pairs, those sent in built frames, and those closed.
    var nextFakeFD: Int32 = 1000
    var refusePairs = false
    var passed: [(ConnectionID, Int32)] = []
    var closed: [Int32] = []
    mutating func makeChannelPair() -> (Int32, Int32)? {
        if refusePairs { return nil }
        defer { nextFakeFD += 2 }
        return (nextFakeFD, nextFakeFD + 1)
    }
    mutating func close(fd: Int32) { closed.append(fd) }

    /// Containers "started" (fake pid 5000+ID, netns 9000+ID) and stopped; `failStart` refuses.
    var started: [UInt32] = []
    var stopped: [UInt32] = []
    var failStart: String? = nil
    mutating func startContainer(id: UInt32, name: String) -> Result<StartedContainer, ContainerStartFailure> {
        if let failStart { return .failure(ContainerStartFailure(failStart)) }
        started.append(id)
        return .success(StartedContainer(initPID: 5000 + Int32(id), networkNamespace: 9000 + UInt64(id), endpoint: "/fake/\(id)/binder.sock"))
    }
    mutating func stopContainer(id: UInt32) { stopped.append(id) }
}

/// A broker core plus helpers that speak to it as connected clients would.
final class CoreHarness {
    let core: BrokerCore
    var out = RecordingOutbox()
    var now: UInt64 = 1_000_000_000
    private var nextTx: UInt64 = 100

    init(
        maxFrameSize: UInt32 = Limits.defaultMaxFrameSize, channelTTLNanos: UInt64 = 10_000_000_000, policy: ContainerPolicy = ContainerPolicy(),
        incomingBuffer: UInt32 = 1 << 20, access: (any ServiceAccessPolicy)? = nil
    ) {
        var config = BrokerConfig()
        config.incomingBufferBytes = incomingBuffer
        config.policy = policy
        config.maxFrameSize = maxFrameSize
        config.channelTimeToLiveNanos = channelTTLNanos
        config.brokerPID = 1
        core = BrokerCore(config: config, now: now, access: access)
    }

    /// Opens and greets a connection.
    @discardableResult
    func connect(
        _ raw: UInt32, pid: Int32 = 0, uid: UInt32 = 0, container: UInt32 = 0, namespacePID: Int32? = nil, maxFrame: UInt32 = Limits.defaultMaxFrameSize,
        maxThreads: UInt32 = 0
    ) -> ConnectionID {
        let id = ConnectionID(raw)
        core.connectionOpened(id, identity: PeerIdentity(
            pid: pid == 0 ? Int32(raw) * 100 : pid, uid: uid, gid: uid, container: container, namespacePID: namespacePID))
        var hello = Parcel()
        Hello(maxFrameSize: maxFrame, maxThreads: maxThreads).write(to: &hello)
        deliver(from: id, FrameHeader(command: .hello), hello)
        let welcome = out.sent.removeLast()
        precondition(welcome.header.command == .welcome)
        return id
    }

    static func frame(_ header: FrameHeader, _ parcel: Parcel) -> [UInt8] { parcel.frameBytes(header: header) }

    /// Delivers a frame; `header.fdCount` is kept as given (the core only sees the count, never fds),
    /// and `fdCount` is how many fds "arrived" with it (-1: the control data was truncated).
    func deliver(from id: ConnectionID, _ header: FrameHeader, _ parcel: Parcel = Parcel(), fdCount: Int = 0) {
        var bytes = CoreHarness.frame(header, parcel)
        bytes[32] = UInt8(truncatingIfNeeded: header.fdCount)
        bytes[33] = UInt8(truncatingIfNeeded: header.fdCount >> 8)
        deliverRaw(from: id, bytes, fdCount: fdCount)
    }

    func deliverRaw(from id: ConnectionID, _ bytes: [UInt8], fdCount: Int = 0, truncated: Bool = false) {
        var bytes = bytes
        bytes.withUnsafeMutableBytes { raw in
            out.currentFrame = UnsafeRawBufferPointer(raw)
            core.handleFrame(from: id, frame: raw, fdCount: fdCount, truncated: truncated, now: now, out: &out)
            out.currentFrame = UnsafeRawBufferPointer(start: nil, count: 0)
        }
    }

    /// Calls the service manager and returns the reply frame sent back.
    func callServiceManager(from id: ConnectionID, _ code: IServiceManager.Code, flags: TransactionFlags = [], _ body: (inout Parcel) -> Void) -> RecordingOutbox.Sent? {
        nextTx += 1
        var p = Parcel()
        body(&p)
        let before = out.sent.count
        deliver(from: id, FrameHeader(command: .transaction, flags: flags, transactionID: nextTx, target: 0, code: code.rawValue), p)
        return out.sent[before...].first { $0.to == id && $0.header.command == .reply && $0.header.transactionID == nextTx }
    }

    func addService(_ name: String, from id: ConnectionID, cookie: UInt64, acceptsFDs: Bool = false) -> RecordingOutbox.Sent? {
        callServiceManager(from: id, .addService) { p in
            p.write(name)
            p.write(object: ObjectRef(kind: .local, id: cookie, flags: acceptsFDs ? ObjectRef.acceptsFDs : 0))
        }
    }

    /// Connection 1 registers `name`, connection 2 looks it up: (service, client, client's reference).
    func serviceAndClient(_ name: String = "svc", cookie: UInt64 = 1, acceptsFDs: Bool = false) throws -> (ConnectionID, ConnectionID, ObjectRef) {
        let service = connect(1)
        let client = connect(2)
        _ = addService(name, from: service, cookie: cookie, acceptsFDs: acceptsFDs)
        return (service, client, try getService(name, from: client))
    }

    /// Looks a service up and returns the handle the caller got (nil for a null binder).
    func getService(_ name: String, from id: ConnectionID) throws -> ObjectRef {
        var reply = callServiceManager(from: id, .getService) { $0.write(name) }!.parcel
        try reply.readException()
        return try reply.readObject()
    }
}
