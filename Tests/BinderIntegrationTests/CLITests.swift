import Binder
import BinderPlatform
import Testing

@Suite("binder CLI against a real binderd")
struct CLITests {
    @Test("list, check, call with decoded reply, status")
    func serviceCommands() throws {
        let broker = try TestBroker()
        let echoPID = try ProcessControl.spawn(binDir + "/binder", ["echo", "serve", "--name", "cli.echo", "--quiet"], environment: broker.environment)
        defer {
            ProcessControl.kill(echoPID)
            ProcessControl.wait(echoPID)
        }
        let wait = try broker.cli("service", "wait", "cli.echo", "--timeout", "10")
        #expect(wait.status == 0 && wait.stdout == "cli.echo: found\n")
        #expect(try broker.cli("service", "list").stdout == "cli.echo\n")
        #expect(try broker.cli("service", "check", "cli.echo").status == 0)
        let missing = try broker.cli("service", "check", "nope")
        #expect(missing.status == 1 && missing.stdout == "nope: not found\n")

        let call = try broker.cli("service", "call", "cli.echo", "1", "i32", "-42", "s", "hi", "i64", "5", "--reply", "i32,s,i64")
        #expect(call.status == 0)
        #expect(call.stdout == """
            status: OK
            reply: 20 bytes
            0000: d6 ff ff ff 02 00 00 00 68 69 00 00 05 00 00 00 |........hi......|
            0010: 00 00 00 00                                     |....|
            -42
            "hi"
            5

            """)
        // The options may come anywhere after CODE, before or between the values.
        let oneWay = try broker.cli("service", "call", "cli.echo", "1", "--oneway", "i32", "-1")
        #expect(oneWay.status == 0 && oneWay.stdout == "status: OK (one-way, no reply)\n")
        let early = try broker.cli("service", "call", "cli.echo", "1", "--reply", "i32", "i32", "-9")
        #expect(early.status == 0 && early.stdout.hasSuffix("\n-9\n"))

        let failing = try broker.cli("service", "call", "cli.echo", "3", "i32", "-32")
        #expect(failing.status == 1 && failing.stdout == "status: DEAD_OBJECT\n")

        let status = try broker.cli("status")
        #expect(status.status == 0)
        #expect(status.stdout.contains("SERVICES (1)"))
        #expect(status.stdout.contains("cli.echo"))
        #expect(status.stdout.contains("CONNECTIONS (2)"))
    }

    @Test("errors are one line on stderr with a non-zero exit", arguments: [
        (["service", "call", "nope", "1"], "binder: service 'nope' is not registered\n", Int32(1)),
        (["service", "call", "x", "1", "q", "1"], "binder: unknown value type 'q': use i32, i64, f, d, s or b\n", 64),
        (["service", "call", "x", "1", "i32", "abc"], "binder: 'abc' is not a 32-bit integer\n", 64),
        (["service", "call", "x", "0"], "binder: CODE must be 1 or more\n", 64),
        (["service", "call", "x", "1", "--timeout", "0"], "binder: --timeout must be a number of seconds above 0 (and at most a year)\n", 64),
        (["echo", "count", "nosuch"], "binder: service 'nosuch' is not registered\n", 1),
        (["echo", "serve", "--instances", "0"], "binder: --instances must be between 1 and 10000\n", 64),
        (["service", "call", "x", "1", "--reply", "i33"], "binder: The value 'i33' is invalid for '--reply <reply>': unknown reply kind 'i33': use i32, i64, f, d, s, b, bool or binder\n", 64),
        (["service", "wait", "nothing", "--timeout", "0.2"], "binder: nothing: not registered within 0.2 s\n", 1),
        (["bogus"], "binder: Unexpected argument 'bogus'\n", 64),
        (["echo", "serve", "--name", "bad name"], "binder: invalid service name 'bad name': use 1–127 characters of [A-Za-z0-9_./-]\n", 64),
        (["bench", "--size", "1"], "binder: --size must be between 4 and 65536\n", 64),
        (["bench", "--inflight", "0"], "binder: --inflight must be between 1 and 256\n", 64),
        (["bench", "--inflight", "2", "--mode", "handout"], "binder: --inflight cannot be combined with --mode handout\n", 64),
        (["service", "check", "bad$name"], "binder: invalid service name 'bad$name': use 1–127 characters of [A-Za-z0-9_./-]\n", 64),
        (["service", "wait", "bad$name"], "binder: invalid service name 'bad$name': use 1–127 characters of [A-Za-z0-9_./-]\n", 64),
        (["service", "wait", "x", "--timeout", "nan"], "binder: --timeout must be a number of seconds below 1e9\n", 64),
        // A service named with --service is looked up, not waited for.
        (["bench", "--service", "nosuch"], "binder: echo service 'nosuch' is not registered\n", 1),
    ])
    func oneLineErrors(_ arguments: [String], _ message: String, _ code: Int32) throws {
        let broker = try TestBroker()
        let out = try ProcessControl.run(binDir + "/binder", arguments, environment: broker.environment)
        #expect(out.stderr == message)
        #expect(out.status == code)
    }

    @Test("no broker: one line naming the socket it tried")
    func noBroker() throws {
        let out = try ProcessControl.run(binDir + "/binder", ["service", "list"], environment: ["BINDER_RUNTIME_DIR": "/nonexistent/binder"])
        #expect(out.status == 1)
        #expect(out.stderr == "binder: cannot reach the broker at /nonexistent/binder/binder.sock: No such file or directory\n")
    }

    @Test("bench prints one JSON line with the documented keys")
    func benchJSON() throws {
        let broker = try TestBroker()
        let out = try broker.cli("bench", "--mode", "routed", "--size", "64", "--seconds", "0.3", "--pin", "any", "--json")
        #expect(out.status == 0, "\(out.stderr)")
        let line = out.stdout
        #expect(line.hasPrefix("{\"name\":\"routed\",\"size\":64,\"p50_us\":"))
        for key in ["p99_us", "p999_us", "ops_per_s", "placement"] { #expect(line.contains("\"\(key)\":")) }
        #expect(line.hasSuffix("}\n"))
        // Completed and failed calls: here every call completes.
        let calls = line.firstMatch(of: /"calls":(\d+)/).flatMap { Int($0.1) } ?? 0
        #expect(calls > 0)
        #expect(line.contains("\"errors\":0}"))
    }

    @Test("service call --timeout fails with TIMED_OUT while the service still runs; echo count prints the echo calls a service ran")
    func timeoutAndEchoCount() throws {
        let broker = try TestBroker()
        let server = try broker.connect()
        let slow = BlockingService()
        try server.serviceManager.addService("cli.slow", slow)
        let timedOut = try broker.cli("service", "call", "cli.slow", "1", "--timeout", "0.3")
        #expect(slow.entered.wait(seconds: 0), "the call was running when the CLI gave up")
        slow.release.signal()
        #expect(timedOut.status == 1 && timedOut.stdout == "status: TIMED_OUT\n")

        let echoPID = try ProcessControl.spawn(binDir + "/binder", ["echo", "serve", "--name", "cli.count", "--quiet"], environment: broker.environment)
        defer {
            ProcessControl.kill(echoPID)
            ProcessControl.wait(echoPID)
        }
        #expect(try broker.cli("service", "wait", "cli.count", "--timeout", "10").status == 0)
        #expect(try broker.cli("echo", "count", "cli.count").stdout == "0\n")
        for i in 0..<3 { #expect(try broker.cli("service", "call", "cli.count", "1", "i32", "\(i)", "--timeout", "10").status == 0) }
        // Only echo calls (code 1) count.
        _ = try broker.cli("echo", "whoami", "cli.count")
        #expect(try broker.cli("echo", "count", "cli.count").stdout == "3\n")
    }

    @Test("echo serve --instances N registers NAME.0 to NAME.<N-1> from one process")
    func echoInstances() throws {
        let broker = try TestBroker()
        let pid = try ProcessControl.spawn(binDir + "/binder", ["echo", "serve", "--name", "many", "--instances", "3", "--quiet"], environment: broker.environment)
        defer {
            ProcessControl.kill(pid)
            ProcessControl.wait(pid)
        }
        #expect(try broker.cli("service", "wait", "many.2", "--timeout", "10").status == 0)
        #expect(try broker.cli("service", "list").stdout == "many.0\nmany.1\nmany.2\n")
        #expect(try broker.cli("service", "call", "many.0", "1", "i32", "1").status == 0)
    }

    @Test("bench --inflight keeps several calls in flight from one process and names its result for it")
    func benchPipelined() throws {
        let broker = try TestBroker()
        let out = try broker.cli("bench", "--mode", "routed", "--inflight", "8", "--seconds", "0.3", "--pin", "any", "--json")
        #expect(out.status == 0, "\(out.stderr)")
        #expect(out.stdout.hasPrefix("{\"name\":\"routed_inflight8\",\"size\":32,\"p50_us\":"))
        #expect(!out.stdout.contains("\"ops_per_s\":0,"), "the tasks made calls")
    }

    @Test("binderd rejects bad arguments with one line")
    func binderdArguments() throws {
        let out = try ProcessControl.run(binDir + "/binderd", ["--buffers", "3"])
        #expect(out.status == 64)
        #expect(out.stderr.hasPrefix("Error: --buffers must be a power of two"))
    }

    @Test("service wait --timeout -1 waits for as long as it takes, and answers when the service registers")
    func waitWithoutLimit() throws {
        let broker = try TestBroker()
        let waiter = try spawnCLI(broker, ["service", "wait", "cli.later", "--timeout", "-1"])
        defer { FileDescriptor.close(waiter.stdout) }
        // The service registers only once the broker has handled the waiter's call: its connection's
        // first transaction is the waitForService (each status query is a round trip to the broker).
        let c = try broker.connect()
        let deadline = monotonicNanos() + 10_000_000_000
        while try !c.serviceManager.status().connections.contains(where: { $0.pid == waiter.pid && $0.transactionsSent >= 1 }) {
            try #require(monotonicNanos() < deadline, "the waiter never asked the broker")
        }
        try c.serviceManager.addService("cli.later", EchoService())
        #expect(readLine(waiter.stdout) == "cli.later: found")
        #expect(ProcessControl.wait(waiter.pid) == 0)
    }

    @Test("channel open --hold, which publishes nothing, exits with status 1 when the broker dies")
    func holdSeesTheBrokerGo() throws {
        let broker = try TestBroker()
        let server = try broker.connect()
        try server.serviceManager.addService("cli.hold", EchoService())
        try server.acceptDirectChannels()
        let holder = try spawnCLI(broker, ["channel", "open", "cli.hold", "--hold"])
        defer { FileDescriptor.close(holder.stdout) }
        var lines: [String] = []
        while let line = readLine(holder.stdout), line != "open" { lines.append(line) }
        broker.crash()
        // Its stdout reaches end-of-file when it exits; if it never does, it is killed after 10 s.
        let exited = waitReadable(holder.stdout) && readLine(holder.stdout) == nil
        if !exited { ProcessControl.kill(holder.pid) }
        #expect(exited, "the holder did not notice the broker go")
        #expect(ProcessControl.wait(holder.pid) == 1, "\(lines)")
    }

}
