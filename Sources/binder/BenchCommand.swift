import ArgumentParser
import Binder
import BinderPlatform
import BinderWire
import Synchronization

struct BenchCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench",
        abstract: "Measure echo-transaction latency through a running broker.",
        discussion: """
            Starts an echo service process (unless --service names one), then calls it in a loop and \
            reports round-trip percentiles. Placement: same = this process, the echo service and the \
            broker all on CPU 0; cross = this process and the echo service on CPU 0, the broker on CPU 1; \
            any = no pinning. The broker's affinity is restored afterwards.
            """)

    enum Mode: String, ExpressibleByArgument, CaseIterable { case routed, direct, handout }
    enum Pin: String, ExpressibleByArgument, CaseIterable { case same, cross, any }

    @Option(
        help: """
            Path to measure: routed (client → broker → service → broker → client); direct (over a direct \
            channel, client → service → client); handout (a new direct channel per sample: request, \
            accept, first echo reply, then close).
            """) var mode: Mode = .routed
    @Option(help: "Parcel size in bytes (4…65536).") var size: Int = 32
    @Option(help: "Seconds to measure, after a short warm-up.") var seconds: Double = 3
    @Option(help: "CPU placement: same, cross or any.") var pin: Pin = .same
    @Option(help: "File descriptors to carry in every request (0…16); the echo service closes them and replies without.") var fds: Int = 0
    @Option(help: "Call this already-registered echo service instead of starting one.") var service: String?
    @Option(help: "Look --service up in this container (0: the root), as getService(_:inContainer:) does.") var container: UInt32?
    @Flag(help: "Print one JSON line instead of a table.") var json = false
    @Option(help: """
        Calls kept in flight from this one process (1…256): that many async tasks, each making its next \
        call as soon as the last one is answered. Reports calls/s; the result is named <mode>_inflightN.
        """) var inflight: Int = 1

    func validate() throws {
        if let service { try validateServiceName(service) }
        guard (4...65536).contains(size) else { throw ValidationError("--size must be between 4 and 65536") }
        guard seconds > 0, seconds <= 3600 else { throw ValidationError("--seconds must be between 0 and 3600") }
        guard (0...16).contains(fds) else { throw ValidationError("--fds must be between 0 and 16") }
        guard fds == 0 || mode != .handout else { throw ValidationError("--fds cannot be combined with --mode handout") }
        guard (1...256).contains(inflight) else { throw ValidationError("--inflight must be between 1 and 256") }
        guard inflight == 1 || mode != .handout else { throw ValidationError("--inflight cannot be combined with --mode handout") }
        guard container == nil || service != nil else { throw ValidationError("--container needs --service (the echo service to call there)") }
        if pin != .any && CPUAffinity.cpuCount < 2 && pin == .cross {
            throw ValidationError("--pin cross needs two CPUs")
        }
    }

    func run() throws {
        let c = try connectToBroker(ridesRestarts: true)
        let sm = c.serviceManager
        // Inside a container the broker's pid means nothing (another PID namespace): place the
        // broker from outside (the side-by-side script pins it with taskset).
        let brokerVisible = c.welcome.container == 0
        let brokerPID = brokerVisible ? try brokerCall("getStatus") { try sm.status() }.brokerPID : -1
        let savedMask = brokerVisible ? CPUAffinity.mask(pid: brokerPID) : 0
        var echoPID: Int32? = nil
        defer {
            if let echoPID {
                ProcessControl.kill(echoPID)
                ProcessControl.wait(echoPID)
            }
            if pin != .any && savedMask != 0 { try? CPUAffinity.setMask(pid: brokerPID, savedMask) }
        }
        var serverCPU: [String] = []
        switch pin {
        case .same:
            try CPUAffinity.pin(cpu: 0)
            if brokerVisible { try? CPUAffinity.pin(pid: brokerPID, cpu: 0) }
            serverCPU = ["--cpu", "0"]
        case .cross:
            try CPUAffinity.pin(cpu: 0)
            if brokerVisible { try? CPUAffinity.pin(pid: brokerPID, cpu: 1) }
            serverCPU = ["--cpu", "0"]
        case .any: break
        }
        let serviceName = service ?? "bench.echo.\(ProcessControl.currentPID)"
        if service == nil {
            let exe = ProcessControl.executableDirectory() + "/binder"
            echoPID = try ProcessControl.spawn(exe, ["echo", "serve", "--name", serviceName, "--quiet"] + serverCPU)
        }
        // A service named with --service must be registered already; the one started here gets 10 s.
        let found =
            if service != nil { try lookUpService(c, serviceName, inContainer: container) } else {
                try brokerCall("waitForService", { try sm.waitForService(serviceName, timeout: .seconds(10)) })
            }
        guard let routed = found else {
            throw CLIFailure("echo service '\(serviceName)' is not registered\(container.map { " in container \($0)" } ?? (service == nil ? " (waited 10 s)" : ""))")
        }
        let echo = mode == .direct ? try brokerCall("opening a direct channel") { try routed.openDirectChannel() } : routed
        defer { echo.closeDirectChannel() }
        var data = Parcel()
        let payload = [UInt8](repeating: 0x5A, count: size)
        payload.withUnsafeBytes { data.writeRaw($0) }
        if fds > 0 {
            // Read ends of one pipe, duplicated: cheap fds whose round trip costs what any fd's does.
            let (r, w) = try ProcessControl.pipe()
            FileDescriptor.close(w)
            let first = ParcelFileDescriptor(adopting: r)
            data.write(fileDescriptor: first)
            for _ in 1..<fds { data.write(fileDescriptor: try ParcelFileDescriptor(duplicating: r)) }
        }
        // A service looked up by container ID is reported as "container" (routed) or "container_direct".
        let base = container == nil ? mode.rawValue : (mode == .routed ? "container" : "container_\(mode.rawValue)")
        let name = (fds == 0 ? base : "\(base)_\(fds)fd") + (inflight > 1 ? "_inflight\(inflight)" : "")
        let code = (fds == 0 ? EchoService.Code.echo : EchoService.Code.echoDroppingFDs).rawValue

        /// One sample's work. A hand-out opens a channel and makes its first call; the channel is
        /// closed after the sample's clock stops, by `finish`.
        let mode = mode, json = json  // property-wrapper reads are slow: not in the loop
        var opened: BinderProxy? = nil
        func call() throws -> Parcel {
            guard mode == .handout else { return try echo.transact(code: code, data: data) }
            let channel = try brokerCall("opening a direct channel") { try routed.openDirectChannel() }
            opened = channel
            return try channel.transact(code: code, data: data)
        }
        func finish() {
            opened?.closeDirectChannel()
            opened = nil
        }

        // Calls that failed (a refusal, a time-out, a call lost with a broker that restarted) are
        // counted and the run goes on; a dead service ends it (DEAD_OBJECT while the session is not
        // resuming). Failures during the warm-up count too.
        var errors = 0

        // Warm-up: fault in buffers, settle caches and the scheduler.
        let warmEnd = monotonicNanos() + 250_000_000
        while monotonicNanos() < warmEnd {
            let resumed = c.sessionResumptions
            do {
                _ = try call()
            } catch let status as StatusCode where Self.goesOn(after: status, on: c, resumedBefore: resumed) {
                errors += 1
            }
            finish()
        }

        var samples: [UInt64] = []
        samples.reserveCapacity(1 << 20)
        let start = monotonicNanos()
        let end = start + UInt64(seconds * 1e9)
        var nextProgress = start + 1_000_000_000
        var now = start
        if inflight > 1 {
            var pipelinedErrors = 0
            (samples, pipelinedErrors) = try Self.pipelined(echo, on: c, code: code, data: data, tasks: inflight, until: end)
            errors += pipelinedErrors
            now = monotonicNanos()
        }
        while inflight == 1 && now < end {
            let t0 = now
            let reply: Parcel
            let resumed = c.sessionResumptions
            do {
                reply = try call()
            } catch let status as StatusCode where Self.goesOn(after: status, on: c, resumedBefore: resumed) {
                errors += 1
                finish()
                now = monotonicNanos()
                continue
            }
            now = monotonicNanos()
            samples.append(now - t0)
            if mode == .handout {
                finish()
                now = monotonicNanos()
            }
            if reply.count != data.count { throw CLIFailure("echo returned \(reply.count) bytes for \(data.count)") }
            if !json && now >= nextProgress {
                ProcessControl.printError("  \(name) \(size) B: \(samples.count) calls…")
                nextProgress += 1_000_000_000
            }
        }
        let elapsed = Double(now - start) / 1e9
        samples.sort()
        if samples.isEmpty { throw CLIFailure("no call succeeded in \(seconds) s (\(errors) failed)") }
        func pct(_ q: Double) -> Double {
            Double(samples[min(samples.count - 1, Int(Double(samples.count) * q))]) / 1000
        }
        func r2(_ x: Double) -> Double { (x * 100).rounded() / 100 }
        let opsPerSecond = (Double(samples.count) / elapsed).rounded()
        if json {
            print(
                "{\"name\":\"\(name)\",\"size\":\(size),\"p50_us\":\(r2(pct(0.5))),\"p99_us\":\(r2(pct(0.99))),"
                    + "\"p999_us\":\(r2(pct(0.999))),\"ops_per_s\":\(Int(opsPerSecond)),\"placement\":\"\(pin.rawValue)\","
                    + "\"calls\":\(samples.count),\"errors\":\(errors)}")
        } else {
            print("\(name), \(size) B parcels, placement \(pin.rawValue), \(samples.count) calls in \(r2(elapsed)) s")
            print("  p50 \(r2(pct(0.5))) µs   p99 \(r2(pct(0.99))) µs   p99.9 \(r2(pct(0.999))) µs   \(Int(opsPerSecond)) calls/s"
                + (errors > 0 ? "   \(errors) failed" : ""))
        }
    }

    /// Whether the run goes on after a call failed with `status`: yes, counting it, unless it is
    /// DEAD_OBJECT from a dead service. DEAD_OBJECT is the broker's loss when the connection resumes
    /// its session (or does so within a second: a reader may not have met the end of the socket yet).
    private static func goesOn(after status: StatusCode, on c: BinderConnection, resumedBefore: UInt64) -> Bool {
        status != .deadObject || c.isResumingSession || c.waitForSessionResumption(after: resumedBefore, timeout: .seconds(1))
    }

    /// `tasks` async tasks on this process's one connection, each calling `echo` again as soon as
    /// its last call is answered, until `end`: the round-trip time of every call, in nanoseconds.
    /// The replies come back on the connection's pool thread, which resumes each task. Also
    /// returns how many calls failed (as in the one-call loop: a dead service ends the run).
    private static func pipelined(
        _ echo: BinderProxy, on c: BinderConnection, code: UInt32, data: Parcel, tasks: Int, until end: UInt64
    ) throws -> (samples: [UInt64], errors: Int) {
        let done = Latch()
        let result = Mutex<Result<([UInt64], Int), any Error>>(.success(([], 0)))
        Task {
            do {
                let all = try await withThrowingTaskGroup(of: ([UInt64], Int).self) { group in
                    for _ in 0..<tasks {
                        group.addTask {
                            var mine: [UInt64] = []
                            mine.reserveCapacity(1 << 16)
                            var errors = 0
                            var now = monotonicNanos()
                            while now < end {
                                let t0 = now
                                let reply: Parcel
                                let resumed = c.sessionResumptions
                                do {
                                    reply = try await echo.transact(code: code, data: data)
                                } catch let status as StatusCode where Self.goesOn(after: status, on: c, resumedBefore: resumed) {
                                    errors += 1
                                    now = monotonicNanos()
                                    continue
                                }
                                now = monotonicNanos()
                                if reply.count != data.count { throw CLIFailure("echo returned \(reply.count) bytes for \(data.count)") }
                                mine.append(now - t0)
                            }
                            return (mine, errors)
                        }
                    }
                    var all: ([UInt64], Int) = ([], 0)
                    for try await (mine, errors) in group {
                        all.0 += mine
                        all.1 += errors
                    }
                    return all
                }
                result.withLock { $0 = .success(all) }
            } catch {
                result.withLock { $0 = .failure(error) }
            }
            done.signal()
        }
        _ = done.wait(seconds: .infinity)
        return try result.withLock { $0 }.get()
    }
}
