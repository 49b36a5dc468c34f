import Binder
import BinderPlatform
import BinderWire
import Synchronization
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// Where `swift build` put binderd and binder: next to the test bundle.
let binDir = ProcessControl.executableDirectory()

struct TestFailure: Error, CustomStringConvertible {
    var description: String
    init(_ d: String) { description = d }
}

/// A real binderd process in its own temporary runtime directory.
final class TestBroker: @unchecked Sendable {
    let dir: String
    let pid: Int32
    private var stopped = false
    var socketPath: String { dir + "/binder.sock" }
    var environment: [String: String] { ["BINDER_RUNTIME_DIR": dir] }

    /// The network namespace binderd and the CLI run in (a test's own "host"), else the test's.
    let networkNamespace: String?

    /// Starts binderd and returns once it reports READY on its readiness fd.
    /// - Parameters:
    ///   - reusing: the runtime directory of an earlier broker (a restart), else a new one.
    ///   - networkNamespace: a namespace path (`/run/netns/NAME`) to run binderd and the CLI in.
    init(extraArguments: [String] = [], reusing: String? = nil, networkNamespace: String? = nil) throws {
        self.networkNamespace = networkNamespace
        if let reusing {
            dir = reusing
        } else {
            dir = try FileSystem.makeTemporaryDirectory(prefix: "binder-test")
            chmod(dir, 0o755)
        }
        let ready = try ProcessControl.pipe()
        let arguments = ["--runtime-dir", dir, "--ready-fd", "3", "--log-level", "error"] + extraArguments
        pid = try inNamespace(networkNamespace) { () throws(SystemError) in
            try ProcessControl.spawn(binDir + "/binderd", arguments, passing: [(ready.write, 3)])
        }
        FileDescriptor.close(ready.write)
        let line = ProcessControl.read(ready.read, count: 6)
        FileDescriptor.close(ready.read)
        guard line == Array("READY\n".utf8) else {
            ProcessControl.kill(pid, signal: SIGKILL)
            ProcessControl.wait(pid)
            throw TestFailure("binderd did not become ready")
        }
    }

    func connect(threads: Int = 2, reconnect: ReconnectPolicy = .default) throws -> BinderConnection {
        try BinderConnection(path: socketPath, threadPoolSize: threads, reconnect: reconnect)
    }

    /// A service connection serving `EchoService` as "echo", and a client connection holding a proxy to it.
    func echoPair() throws -> (server: BinderConnection, client: BinderConnection, echo: BinderProxy) {
        let server = try connect()
        try server.serviceManager.addService("echo", EchoService())
        let client = try connect()
        guard let echo = try client.serviceManager.getService("echo") else { throw TestFailure("echo did not register") }
        return (server, client, echo)
    }

    /// SIGTERM, then the exit status.
    @discardableResult
    func stop() -> Int32 {
        guard !stopped else { return 0 }
        stopped = true
        ProcessControl.kill(pid, signal: SIGTERM)
        return ProcessControl.wait(pid)
    }

    /// SIGKILL (no clean-up at all), then wait; the runtime directory stays for a restart.
    func crash() {
        guard !stopped else { return }
        stopped = true
        ProcessControl.kill(pid, signal: SIGKILL)
        ProcessControl.wait(pid)
    }

    /// Runs the `binder` CLI against this broker (in its network namespace).
    func cli(_ arguments: String...) throws -> ProcessControl.Output {
        try cli(arguments)
    }

    func cli(_ arguments: [String]) throws -> ProcessControl.Output {
        let environment = environment
        return try inNamespace(networkNamespace) { () throws(SystemError) in
            try ProcessControl.run(binDir + "/binder", arguments, environment: environment)
        }
    }

    /// Starts a program beside the broker (in its namespace, with its environment); `passing` as
    /// for `ProcessControl.spawn`.
    func spawn(_ path: String, _ arguments: [String], passing: [(Int32, Int32)] = []) throws -> Int32 {
        let environment = environment
        return try inNamespace(networkNamespace) { () throws(SystemError) in
            try ProcessControl.spawn(path, arguments, environment: environment, passing: passing)
        }
    }

    /// Set by a broker handed to a restarted one: the directory is the new broker's to remove.
    var keepDirectory = false

    deinit {
        if !stopped {
            ProcessControl.kill(pid, signal: SIGKILL)
            ProcessControl.wait(pid)
        }
        guard !keepDirectory else { return }
        // Containers outlive their broker by design; a test that failed half-way may leave some.
        for file in FileSystem.listDirectory(dir + "/containers") ?? [] where file.hasSuffix(".state") {
            let text = FileSystem.readText(dir + "/containers/" + file) ?? ""
            if let line = text.split(separator: "\n").first(where: { $0.hasPrefix("pid=") }), let pid = Int32(line.dropFirst(4)) {
                ProcessControl.kill(pid, signal: SIGKILL)
            }
        }
        FileSystem.removeTree(dir)
    }
}

/// Runs `body` in the network namespace at `path` (on a thread there: a process it starts is
/// born in it), or here when `path` is nil.
func inNamespace<R: Sendable>(_ path: String?, _ body: @escaping @Sendable () throws(SystemError) -> R) throws(SystemError) -> R {
    guard let path else { return try body() }
    return try NetworkNamespace.run(path: path, body)
}

/// Records the deaths it hears of.
final class Obituaries: DeathRecipient {
    private let seen = Mutex<[BinderProxy]>([])
    let heard: Latch
    init(expect: Int = 1) { heard = Latch(expect) }
    func binderDied(_ who: BinderProxy) {
        seen.withLock { $0.append(who) }
        heard.signal()
    }
    var deaths: [BinderProxy] { seen.withLock { $0 } }
}

/// Waits (poll, not sleep) up to `seconds` for `fd` to become readable or hang up.
func waitReadable(_ fd: Int32, seconds: Int32 = 10) -> Bool {
    SeqPacket.waitReadable(fd, timeoutMillis: seconds * 1000)
}

/// A pipe whose ends close when it goes.
final class Pipe {
    let read: ParcelFileDescriptor
    let write: ParcelFileDescriptor
    init() throws {
        let (r, w) = try ProcessControl.pipe()
        read = ParcelFileDescriptor(adopting: r)
        write = ParcelFileDescriptor(adopting: w)
    }

    /// Reads exactly `count` bytes, or fewer if every write end closes; fails after 10 s.
    func readBytes(_ count: Int) throws -> [UInt8] {
        var out: [UInt8] = []
        while out.count < count {
            guard waitReadable(read.fd) else { throw TestFailure("pipe read timed out") }
            var chunk = [UInt8](repeating: 0, count: count - out.count)
            let n = chunk.withUnsafeMutableBytes { Glibc.read(read.fd, $0.baseAddress, $0.count) }
            if n <= 0 { break }
            out += chunk[0..<n]
        }
        return out
    }

    /// True once the read end reports end of file: every copy of the write end, in every
    /// process, is closed. Waits (poll, not sleep) up to 10 s.
    func seesEndOfFile() -> Bool {
        guard waitReadable(read.fd) else { return false }
        var b: UInt8 = 0
        return Glibc.read(read.fd, &b, 1) == 0
    }
}



/// A client that speaks the wire protocol byte by byte, to send what the library never would.
final class RawClient: @unchecked Sendable {  // @unchecked: each test uses one from one thread at a time
    let fd: Int32
    private var buffer = [UInt8](repeating: 0, count: 256 * 1024)

    /// Whether `deinit` closes `fd`.
    private var owned = true

    /// Speaks on an fd the test already holds (a direct channel's end), with no handshake.
    init(adopting fd: Int32) {
        self.fd = fd
    }

    /// Speaks on an fd that stays its owner's (not closed by this client).
    init(borrowing fd: Int32) {
        self.fd = fd
        owned = false
    }

    /// The broker's ID for this connection (from the welcome; 0 without a handshake).
    private(set) var connectionID: UInt32 = 0

    init(path: String, handshake: Bool = true) throws {
        fd = try SeqPacket.connect(path: path)
        SeqPacket.setSendBufferSize(fd, bytes: 1 << 20)
        if handshake {
            var hello = Parcel()
            Hello().write(to: &hello)
            try send(FrameHeader(command: .hello), hello)
            guard var (header, welcome) = try receive(), header.command == .welcome else { throw TestFailure("no welcome") }
            connectionID = try Welcome.read(from: &welcome).connectionID
        }
    }
    deinit { if owned { FileDescriptor.close(fd) } }

    func send(_ header: FrameHeader, _ parcel: Parcel = Parcel(), fds: [Int32] = []) throws {
        var bytes = parcel.frameBytes(header: header)
        bytes[32] = UInt8(fds.count)  // the header announces the fds that travel alongside
        try sendRaw(bytes, fds: fds)
    }

    func sendRaw(_ bytes: [UInt8], fds: [Int32] = []) throws {
        let empty = UnsafeRawBufferPointer(start: nil, count: 0)
        let n = bytes.withUnsafeBytes { b in fds.withUnsafeBufferPointer { SeqPacket.sendReturningErrno(fd, b, empty, empty, fds: $0) } }
        if n < 0 { throw SystemError("sendmsg", Int32(-n)) }
    }

    /// The next frame, or nil when the broker closed the connection.
    func receive() throws -> (FrameHeader, Parcel)? {
        guard let (header, parcel, fds) = try receiveWithFDs() else { return nil }
        for fd in fds { FileDescriptor.close(fd) }
        return (header, parcel)
    }

    /// The next frame and the fds that came with it (the caller's to close), or nil at the end.
    func receiveWithFDs() throws -> (FrameHeader, Parcel, [Int32])? {
        var fds = [Int32](repeating: -1, count: 4)
        let r = try buffer.withUnsafeMutableBytes { b in
            try fds.withUnsafeMutableBufferPointer { f in try SeqPacket.receive(fd, into: b, fds: f) }
        }
        if r.length == 0 { return nil }
        let header = try buffer.withUnsafeBytes { try FrameHeader.decode(from: $0, messageLength: r.length) }
        return (header, Parcel(bytes: Array(buffer[64..<64 + Int(header.dataLength)])), Array(fds[0..<r.fdCount]))
    }
}

/// A service whose calls block until released, to hold a transaction in flight.
final class BlockingService: BinderObject {
    /// Signalled by each call as it starts (reaches zero after `calls` calls).
    let entered: Latch
    let release = Latch()
    init(calls: Int = 1) { entered = Latch(calls) }
    func onTransact(code: UInt32, data: inout Parcel, reply: inout Parcel, context: TransactionContext) throws {
        entered.signal()
        _ = release.wait(seconds: 30)
    }
}

/// Records one-way calls in arrival order.
final class RecordingService: BinderObject, @unchecked Sendable {
    private let lock = ConditionLock()
    private var seen: [Int32] = []
    let done: Latch
    init(expect: Int) { done = Latch(expect) }
    var received: [Int32] { lock.withLock { seen } }
    func onTransact(code: UInt32, data: inout Parcel, reply: inout Parcel, context: TransactionContext) throws {
        let n = try data.read(Int32.self)
        lock.withLock { seen.append(n) }
        done.signal()
    }
}

/// Collects the channel requests a listener hears, with one latch per expected arrival.
final class RequestBox: @unchecked Sendable {
    private let lock = ConditionLock()
    private var requests: [ChannelRequest] = []
    /// `arrivals[n]` opens when request n (from 0) has arrived.
    let arrivals: [Latch]
    var arrived: Latch { arrivals[0] }
    /// Registers a channel listener on `connection` that files requests here.
    init(listeningOn connection: BinderConnection, expect: Int = 1) throws {
        arrivals = (0..<expect).map { _ in Latch() }
        try connection.serviceManager.registerChannelListener(ChannelListener { [unowned self] in self.add($0) })
    }
    private func add(_ r: ChannelRequest) {
        let n = lock.withLock {
            requests.append(r)
            return requests.count
        }
        if n <= arrivals.count { arrivals[n - 1].signal() }
    }
    var first: ChannelRequest? { request(0) }
    func request(_ n: Int) -> ChannelRequest? { lock.withLock { requests.count > n ? requests[n] : nil } }
}
