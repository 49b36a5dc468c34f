import ArgumentParser
import Binder
import BinderPlatform
import BinderWire

struct EchoCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "echo", abstract: "The built-in echo service.", subcommands: [Serve.self, WhoAmI.self, Count.self])

    /// The echo service a command calls: its name, and the container it is looked up in.
    struct Target: ParsableArguments {
        @Argument(help: "Service name.") var name: String = "echo"
        @Option(help: "Call NAME as registered in this container (0: the root).") var container: UInt32?
        func validate() throws { try validateServiceName(name) }
        /// A generated proxy to it, over a new connection.
        func proxy() throws -> IEcho.Proxy { IEcho.Proxy(try requireService(try connectToBroker(), name, inContainer: container)) }
    }

    struct WhoAmI: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "whoami", abstract: "Ask an echo service who is calling: prints the identity it saw (pid, uid, container).")
        @OptionGroup var target: Target
        func run() throws {
            let echo = try target.proxy()
            let seen = try brokerCall("whoAmI") { try echo.whoAmI() }
            let place = target.container.map { " in container \($0)" } ?? ""
            print("\(target.name)\(place) saw the caller as pid=\(seen.pid) uid=\(seen.uid) container=\(seen.container)")
        }
    }

    struct Count: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "count", abstract: "Print how many echo calls (code 1) an echo service has run, as one integer.")
        @OptionGroup var target: Target
        func run() throws {
            let echo = try target.proxy()
            print(try brokerCall("echoCount") { try echo.echoCount() })
        }
    }

    struct Serve: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Register the echo service (code 1 echoes, 2 returns the caller's identity, 6 counts the echoes) and serve until killed.",
            discussion: "It accepts direct channels (`binder channel open`) unless --refuse-direct is given.")
        @Option(help: "Name to register.") var name: String = "echo"
        @Option(help: "Service threads.") var threads: Int = 1
        @Option(help: "Pin the service to this CPU.") var cpu: Int?
        @Flag(help: "Print nothing (no 'serving' line, no line per direct channel).") var quiet = false
        @Flag(help: "Refuse direct channels (clients get PERMISSION_DENIED).") var refuseDirect = false
        @Option(help: "Register this many services, NAME.0 to NAME.<N-1> (1: NAME alone), all served by this process.")
        var instances: Int = 1

        func validate() throws {
            try validateServiceName(name)
            guard (1...64).contains(threads) else { throw ValidationError("--threads must be between 1 and 64") }
            guard (1...10_000).contains(instances) else { throw ValidationError("--instances must be between 1 and 10000") }
            if instances > 1 { try validateServiceName("\(name).\(instances - 1)") }
        }

        func run() throws {
            if let cpu {
                do { try CPUAffinity.pin(cpu: cpu) } catch { throw CLIFailure("cannot pin to CPU \(cpu): \(error)") }
            }
            let c = try connectToBroker(threads: threads, ridesRestarts: true)
            let (refuse, quiet) = (refuseDirect, quiet)
            let accept: @Sendable (DirectChannelRequest) -> Bool = { request in
                if !quiet { printLine("direct channel from \(request.requester): \(refuse ? "refused" : "accepted")") }
                return !refuse
            }
            var onClosed: (@Sendable (DirectChannelRequest) -> Void)? = nil
            if !quiet { onClosed = { request in printLine("direct channel from \(request.requester): closed") } }
            try brokerCall("registerChannelListener") { try c.acceptDirectChannels(accept: accept, onClosed: onClosed) }
            let names = instances == 1 ? [name] : (0..<instances).map { "\(name).\($0)" }
            for n in names { try brokerCall("addService") { try c.serviceManager.addService(n, EchoService()) } }
            if !quiet { printLine("serving \(instances == 1 ? name : "\(name).0 to \(names.last!)")") }
            c.waitUntilClosed()  // the pool (started by addService) serves; this thread only waits
            throw CLIFailure("the broker closed the connection")
        }
    }
}
