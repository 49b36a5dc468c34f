import ArgumentParser
import DaemonSupport
import Binder
import BinderNet
import BinderPlatform
import Logging

/// netd: the network system service. Wires options and logging to `Netd` (BinderNet); nothing else.
struct NetdCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "netd",
        abstract: "The network system service: serves the host's real network to every container through binderd (INetd).")

    @Option(help: "The broker's socket (default: $BINDER_RUNTIME_DIR/binder.sock, else /run/binder/binder.sock).")
    var socket: String?

    @Option(name: .customLong("inbound-port"), help: "A UDP port to receive inbound datagrams on, for the containers (repeatable).")
    var inboundPorts: [Int] = []

    @Option(name: .customLong("allow-changes"), help: "A child container that may change the network configuration (repeatable; the root always may).")
    var allowChanges: [Int] = []

    @Option(help: "Service threads (the most).") var threads: Int = 4

    @Option(help: "The lowest level logged.")
    var logLevel: Logger.Level = .info

    func validate() throws {
        for p in inboundPorts where !(1...65535).contains(p) { throw ValidationError("--inbound-port must be between 1 and 65535") }
        for c in allowChanges where !(1...65535).contains(c) { throw ValidationError("--allow-changes takes a child container ID (1…65535)") }
        guard (1...64).contains(threads) else { throw ValidationError("--threads must be between 1 and 64") }
    }

    func run() throws {
        bootstrapLogging(level: logLevel)
        let logger = Logger(label: "netd")
        var options = NetdOptions()
        options.inboundPorts = inboundPorts.map { UInt16($0) }
        options.changesAllowed = Set(allowChanges.map { UInt32($0) })
        let connection: BinderConnection
        do { connection = try BinderConnection(path: socket, threadPoolSize: threads) } catch {
            ProcessControl.printError("netd: cannot reach binderd at \(socket ?? BinderConnection.defaultSocketPath): \(error)")
            throw ExitCode(1)
        }
        let netd: Netd
        do {
            netd = try Netd(options: options, connection: connection, logger: logger)
            let bound = try netd.startReceiving()
            try connection.serviceManager.addExportedService("netd", netd)
            logger.info("serving", metadata: ["inbound": "\(bound.map(\.description).joined(separator: ","))"])
        } catch {
            ProcessControl.printError("netd: \(error)")
            throw ExitCode(1)
        }
        connection.waitUntilClosed()
        netd.stop()
        ProcessControl.printError("netd: the broker closed the connection")
        throw ExitCode(1)
    }
}

NetdCommand.main()
