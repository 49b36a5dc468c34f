import ArgumentParser
import Binder
import BinderPlatform
import BinderWire

struct EchoCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "echo", abstract: "The built-in echo service.", subcommands: [Serve.self])

    struct Serve: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Register the echo service (code 1 echoes, 2 returns the caller's identity) and serve until killed.",
            discussion: "It accepts direct channels (`binder channel open`) unless --refuse-direct is given.")
        @Option(help: "Name to register.") var name: String = "echo"
        @Option(help: "Service threads.") var threads: Int = 1
        @Option(help: "Pin the service to this CPU.") var cpu: Int?
        @Flag(help: "Print nothing (no 'serving' line, no line per direct channel).") var quiet = false
        @Flag(help: "Refuse direct channels (clients get PERMISSION_DENIED).") var refuseDirect = false

        func validate() throws {
            try validateServiceName(name)
            guard (1...64).contains(threads) else { throw ValidationError("--threads must be between 1 and 64") }
        }

        func run() throws {
            if let cpu {
                do { try CPUAffinity.pin(cpu: cpu) } catch { throw CLIFailure("cannot pin to CPU \(cpu): \(error)") }
            }
            let c = try connectToBroker(threads: threads)
            let (refuse, quiet) = (refuseDirect, quiet)
            let accept: @Sendable (DirectChannelRequest) -> Bool = { request in
                if !quiet { printLine("direct channel from \(request.requester): \(refuse ? "refused" : "accepted")") }
                return !refuse
            }
            var onClosed: (@Sendable (DirectChannelRequest) -> Void)? = nil
            if !quiet { onClosed = { request in printLine("direct channel from \(request.requester): closed") } }
            try brokerCall("registerChannelListener") { try c.acceptDirectChannels(accept: accept, onClosed: onClosed) }
            try brokerCall("addService") { try c.serviceManager.addService(name, EchoService()) }
            if !quiet { printLine("serving \(name)") }
            c.waitUntilClosed()  // the pool (started by addService) serves; this thread only waits
            throw CLIFailure("the broker closed the connection")
        }
    }
}
