import ArgumentParser
import DaemonSupport
import BinderBroker
import BinderBrokerCore
import BinderPlatform
import Logging

/// binderd: the broker. Wires options, logging and the event loop together; nothing else.
struct BinderD: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "binderd",
        abstract: "The Binder broker: routes transactions between processes over an io_uring event loop.")

    @Option(help: "Directory for binder.sock (default: $BINDER_RUNTIME_DIR, else /run/binder).")
    var runtimeDir: String?

    @Option(help: "Largest frame in bytes, header included (4096…4194304).")
    var maxFrame: UInt32 = 128 * 1024

    @Option(help: "Receive buffers shared by all connections (a power of two, 8…4096).")
    var buffers: Int = 128

    @Option(help: "Each process's incoming buffer in bytes: routed calls delivered to it and not yet finished; one-way calls may fill half (default: the larger of 1 MiB and 2 × --max-frame; at least 2 × --max-frame).")
    var incomingBuffer: UInt32?

    @Option(help: "Seconds an unclaimed channel end stays in the named-fd registry before it is closed (0.001…3600).")
    var channelTTL: Double = 10

    @Option(help: "Container policy: which child containers may reach which others' services (format: README, WIRE.md §7.7).")
    var policy: String?

    @Option(help: "PID 1 of every container (default: binder-init next to binderd).")
    var initPath: String?

    @Option(help: "Write READY and a newline to this inherited fd once listening, then close it.")
    var readyFD: Int32?

    @Option(help: "The lowest level logged.")
    var logLevel: Logger.Level = .info

    func validate() throws {
        guard (4096...4 * 1024 * 1024).contains(maxFrame) else { throw ValidationError("--max-frame must be between 4096 and 4194304") }
        guard (8...4096).contains(buffers), buffers & (buffers - 1) == 0 else { throw ValidationError("--buffers must be a power of two between 8 and 4096") }
        if let incomingBuffer, incomingBuffer < 2 * maxFrame || incomingBuffer > 1 << 30 {
            throw ValidationError("--incoming-buffer must be between 2 × --max-frame (\(2 * maxFrame)) and 1073741824")
        }
        guard channelTTL >= 0.001, channelTTL <= 3600 else { throw ValidationError("--channel-ttl must be between 0.001 and 3600 seconds") }
    }

    func run() throws {
        bootstrapLogging(level: logLevel)
        let logger = Logger(label: "binderd")
        let dir = runtimeDir ?? ProcessControl.defaultRuntimeDirectory
        var options = BrokerServer.Options(runtimeDirectory: dir)
        options.config.maxFrameSize = maxFrame
        options.receiveBuffers = buffers
        options.config.incomingBufferBytes = incomingBuffer ?? max(1 << 20, 2 * maxFrame)
        options.config.channelTimeToLiveNanos = UInt64(channelTTL * 1e9)
        if let initPath { options.initPath = initPath }
        if let policy {
            guard let text = FileSystem.readText(policy) else {
                ProcessControl.printError("binderd: cannot read the policy file \(policy)")
                throw ExitCode(1)
            }
            do { options.config.policy = try ContainerPolicy.parse(text) } catch {
                ProcessControl.printError("binderd: policy \(policy): \(error)")
                throw ExitCode(1)
            }
        }
        do {
            let server = try BrokerServer(options: options, logger: logger)
            if let readyFD { ProcessControl.notifyReady(fd: readyFD) }
            try server.run()
        } catch {
            ProcessControl.printError("binderd: \(error)")
            throw ExitCode(1)
        }
    }
}

BinderD.main()
