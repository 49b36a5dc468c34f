import BinderPlatform
import BinderWire
import Synchronization

/// How a broker connection rides a restart of the broker (WIRE.md §2.1): when the broker's socket
/// ends without this process closing it, the runtime reconnects to the same path, retrying with a
/// growing delay, and resumes its session. `never` turns that off: the connection then closes, as
/// it always did before sessions.
public struct ReconnectPolicy: Sendable, Equatable {
    /// How long to keep trying to reach a new broker before the connection closes.
    public var giveUpAfter: Duration
    /// The delay before the second attempt (the first is at once); it doubles up to `maxDelay`.
    public var firstDelay: Duration
    public var maxDelay: Duration

    public init(giveUpAfter: Duration = .seconds(10), firstDelay: Duration = .milliseconds(2), maxDelay: Duration = .milliseconds(100)) {
        self.giveUpAfter = giveUpAfter
        self.firstDelay = firstDelay
        self.maxDelay = maxDelay
    }

    /// Reconnect for up to 10 s, first at once, then every 2 ms growing to every 100 ms.
    public static let `default` = ReconnectPolicy()
    /// Never reconnect: the connection closes with its broker.
    public static let never = ReconnectPolicy(giveUpAfter: .zero)

    var reconnects: Bool { giveUpAfter > .zero }
}

/// What a resumed session replays into a new broker (WIRE.md §2.1): the service-manager calls that
/// registered this process's objects (replayed byte for byte: the objects keep their cookies), and
/// the handles it got by name (asked for again with `resumeService`, at the same handle numbers, so
/// that proxies keep working). Filled by `BinderConnection.transact(handle: 0, …)` as calls succeed.
struct SessionRecord {
    /// addService, addExportedService, registerChannelListener, registerChannelReceiver and
    /// registerForNotifications calls, in the order they were made.
    private(set) var registrations: [(code: UInt32, data: Parcel)] = []
    /// Handles got from getService, checkService and waitForService, with the name looked up.
    private(set) var byName: [UInt32: String] = [:]

    private static let replayed: Set<UInt32> = [
        IServiceManager.Code.addService.rawValue, IServiceManager.Code.addExportedService.rawValue,
        IServiceManager.Code.registerChannelListener.rawValue, IServiceManager.Code.registerChannelReceiver.rawValue,
        IServiceManager.Code.registerForNotifications.rawValue,
    ]
    private static let lookUps: Set<UInt32> = [
        IServiceManager.Code.getService.rawValue, IServiceManager.Code.checkService.rawValue,
        IServiceManager.Code.waitForService.rawValue,
    ]

    /// A call to the service manager succeeded (transport status OK) with `reply`.
    mutating func note(code: UInt32, request: Parcel, reply: Parcel) {
        guard Self.replayed.contains(code) || Self.lookUps.contains(code) || code == IServiceManager.Code.unregisterForNotifications.rawValue
        else { return }
        var r = reply
        guard (try? r.readException()) != nil else { return }  // the service manager refused it
        if Self.replayed.contains(code) {
            registrations.append((code, Parcel(bytes: request.bytes, objectOffsets: request.objectOffsets)))
        } else if code == IServiceManager.Code.unregisterForNotifications.rawValue {
            let register = IServiceManager.Code.registerForNotifications.rawValue
            if let i = registrations.firstIndex(where: { $0.code == register && $0.data.bytes == request.bytes }) { registrations.remove(at: i) }
        } else {
            var q = request
            guard let name = try? q.readNonNullString(), let ref = try? r.readObject(), ref.kind == .handle, ref.id <= UInt64(UInt32.max) else { return }
            byName[UInt32(ref.id)] = name
        }
    }

    /// A handle the new broker could not give back (the service did not return in time).
    mutating func lost(_ handle: UInt32) { byName.removeValue(forKey: handle) }
}

/// Where a resuming connection's calls wait (WIRE.md §2.1): closed while the runtime reconnects
/// and replays its session, open otherwise. A lock and condition of its own, so that a waiting
/// call never takes a wake-up meant for the connection's readers.
final class ResumeGate: @unchecked Sendable {
    // @unchecked: the state is guarded by `lock`; `closedFlag` and `resumedCount` mirror it for
    // the calls' fast path (an atomic load each, no lock).
    private let lock = ConditionLock()
    private let closedFlag = Atomic<Bool>(false)
    private let resumedCount = Atomic<UInt64>(0)
    private var resuming = false
    /// The thread that replays the session: its calls pass.
    private var replayThread: UInt = 0
    /// Sessions resumed so far; `gaveUp` once the runtime stopped trying.
    private var resumptions: UInt64 = 0
    private var gaveUp = false

    /// Whether a call may have to wait (then `pass()` decides); false almost always.
    @inline(__always)
    var mayBeClosed: Bool { closedFlag.load(ordering: .acquiring) }
    /// Sessions resumed so far.
    @inline(__always)
    var count: UInt64 { resumedCount.load(ordering: .acquiring) }

    func close() {
        lock.withLock {
            resuming = true
            closedFlag.store(true, ordering: .releasing)
        }
    }

    func replaying() { lock.withLock { replayThread = currentThreadID() } }

    /// The session resumed (or `failed`: the connection closes): waiting calls go on.
    func open(failed: Bool = false) {
        lock.withLock {
            resuming = false
            replayThread = 0
            if failed { gaveUp = true } else { resumptions += 1 }
            resumedCount.store(resumptions, ordering: .releasing)
            closedFlag.store(false, ordering: .releasing)
            lock.broadcast()
        }
    }

    /// Waits while the session resumes, unless this thread replays it.
    func pass() {
        lock.withLock {
            while resuming && replayThread != currentThreadID() { lock.wait() }
        }
    }

    /// Waits until a session resumption after the `seen`th one completes. False when the runtime
    /// gave up, or never tries.
    func waitForResumption(after seen: UInt64, until deadline: UInt64 = 0) -> Bool {
        lock.withLock {
            while resumptions <= seen && !gaveUp {
                if deadline == 0 {
                    lock.wait()
                } else if !lock.wait(untilNanos: deadline) {
                    break
                }
            }
            return resumptions > seen
        }
    }
}

extension BinderConnection {
    /// Lock held: a call waits here while the session resumes (its unlocks the lock meanwhile).
    @inline(__always)
    func beforeCall() {
        guard gate.mayBeClosed else { return }
        lock.unlock()
        gate.pass()
        lock.lock()
    }

    var resumptions: UInt64 { gate.count }

    /// Whether the connection is resuming its session right now (the broker went away and the
    /// runtime reconnects): a `DEAD_OBJECT` met now is the broker's loss, not the service's.
    public var isResumingSession: Bool { gate.mayBeClosed }

    /// How many times this connection has resumed its session on a new broker (WIRE.md §2.1).
    public var sessionResumptions: UInt64 { gate.count }

    /// Waits until the session has resumed more than `count` times (a broker restart noticed and
    /// ridden), or `timeout` passes. False on time-out, or when the connection gave up and closed.
    /// A process with no thread reading its connection notices a restart at its next call.
    public func waitForSessionResumption(after count: UInt64, timeout: Duration = .seconds(10)) -> Bool {
        gate.waitForResumption(after: count, until: monotonicNanos() &+ CallDeadline.nanoseconds(timeout))
    }

    /// A call's send failed because the broker went away: true once the session resumed after the
    /// `seen`th resumption (the call was never delivered, so it may be sent again).
    func waitForResumption(after seen: UInt64) -> Bool {
        guard reconnect.reconnects else { return false }
        // With no reader, nobody would meet the end of the socket: this send did. A reader, if
        // there is one, meets it itself and starts the resumption.
        var effects = Effects()
        lock.withLock {
            if !core.readerBusy && !core.suspended && brokerWentAway() {
                core.brokerLost(effects: &effects)
                wake(effects.wake)
            }
        }
        carryOut(effects)
        return gate.waitForResumption(after: seen)
    }

    /// Records a successful call to the service manager for a later resumption.
    @inline(__always)
    func noteServiceManagerCall(handle: UInt32, code: UInt32, data: Parcel, reply: Parcel) {
        guard handle == ServiceManagerInterface.handle, reconnect.reconnects else { return }
        session.withLock { $0.note(code: code, request: data, reply: reply) }
    }

    /// Lock held: the reader met the end of the broker's socket. Starts resuming the session on a
    /// thread of its own unless this process closed the connection or never reconnects.
    func brokerWentAway() -> Bool {
        guard reconnect.reconnects, !closing, !core.closed else { return false }
        if !core.suspended {
            gate.close()
            BinderPlatform.startThread(name: "binder-resume") { [self] in resumeSession() }
        }
        return true
    }

    /// Reconnects to a new broker on the same path, moves the connection onto it, and replays the
    /// session; closes the connection if no broker answers within the policy's time.
    private func resumeSession() {
        let deadline = monotonicNanos() &+ CallDeadline.nanoseconds(reconnect.giveUpAfter)
        var delay = CallDeadline.nanoseconds(reconnect.firstDelay)
        // New handles start above every handle this process may still hold.
        let firstHandle = max(withHeldReferences { $0.highestHandle }, session.withLock { $0.byName.keys.max() ?? 0 }) &+ 1
        while !lock.withLock({ closing }) {
            if let fd = try? handshake(firstHandle: firstHandle) {
                // The socket's number stays the connection's: every thread that uses it meets the new broker.
                let moved = (try? FileDescriptor.replace(transport.fd, with: fd)) != nil
                FileDescriptor.close(fd)
                if moved { return replay(until: deadline) }
            }
            let now = monotonicNanos()
            if now >= deadline { break }
            ThreadSleep.nanoseconds(min(delay, deadline - now))
            delay = min(delay * 2, CallDeadline.nanoseconds(reconnect.maxDelay))
        }
        gate.open(failed: true)
        markClosed()
    }

    /// A new socket to the broker, greeted with this session.
    private func handshake(firstHandle: UInt32) throws -> Int32 {
        let fd = try SeqPacket.connect(path: path)
        SeqPacket.setSendBufferSize(fd, bytes: Int32(welcome.maxFrameSize) * 2)
        var hello = Parcel()
        Hello(maxFrameSize: welcome.maxFrameSize, maxFDs: welcome.maxFDs, maxThreads: UInt32(max(1, threadPoolSize)), session: sessionID, firstHandle: firstHandle)
            .write(to: &hello)
        do {
            try SocketTransport.send(on: fd, FrameHeader(command: .hello), hello)
            var body = [UInt8](repeating: 0, count: 256)
            let header = try body.withUnsafeMutableBytes { body in try ControlFrames.receive(fd: fd, body: body) }
            guard let header, header.command == .welcome else { throw StatusCode.badType }
        } catch {
            FileDescriptor.close(fd)
            throw error
        }
        return fd
    }

    /// On the new broker: reading starts again; the registrations are made again and the handles got
    /// by name asked for again, while other calls wait at the gate.
    private func replay(until deadline: UInt64) {
        withHeldReferences { $0.brokerRestarted() }
        // Services looked up by container ID are looked up again on their next call.
        serviceCache.forgetAll()
        gate.replaying()
        var effects = Effects()
        lock.withLock {
            core.resumed(effects: &effects)
            wake(effects.wake)
        }
        let record = session.withLock { $0 }
        for registration in record.registrations {
            _ = try? transactBlocking(target: UInt64(ServiceManagerInterface.handle), code: registration.code, data: registration.data, flags: [])
        }
        for (handle, name) in record.byName.sorted(by: { $0.key < $1.key }) {
            var request = Parcel()
            request.write(name)
            request.write(Int32(bitPattern: handle))
            let now = monotonicNanos()
            request.write(Int64(deadline > now ? (deadline - now) / 1_000_000 : 0))
            var reply = try? transactBlocking(target: UInt64(ServiceManagerInterface.handle), code: IServiceManager.Code.resumeService.rawValue, data: request, flags: [])
            let back = (try? reply?.readException()) != nil ? (try? reply?.readObject()) : nil
            if back?.kind != .handle || back?.id != UInt64(handle) { session.withLock { $0.lost(handle) } }
        }
        gate.open()
    }
}
