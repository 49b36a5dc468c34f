import ArgumentParser
import Binder
import BinderPlatform
import BinderWire

struct ChannelCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "channel", abstract: "Direct channels to services (calls that skip the broker).",
        subcommands: [Open.self])

    struct Open: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Open a direct channel to service NAME and run one echo call (code 1) through it.",
            discussion: """
                Prints who is at the other end (as the broker stamped it), how long the hand-out took \
                (request → channel accepted) and the echo's round trip. NAME must accept direct \
                channels and answer code 1 with the request parcel, as `binder echo serve` does.
                """)
        @Argument(help: "Service name.") var name: String
        @Option(help: "Bytes to echo (0…65536).") var size: Int = 32
        @Flag(help: "Keep the channel open until this process is killed (prints 'open' first).") var hold = false

        func validate() throws {
            try validateServiceName(name)
            guard (0...65536).contains(size) else { throw ValidationError("--size must be between 0 and 65536") }
        }

        func run() throws {
            let c = try connectToBroker()
            guard let routed = try brokerCall("getService", { try c.serviceManager.getService(name) }) else {
                throw CLIFailure("\(name): no such service")
            }
            let t0 = monotonicNanos()
            // Waits for the service's answer, so that the hand-out time and a refusal show on their own.
            let direct = try brokerCall("opening a direct channel to \(name)") { try routed.openDirectChannel(waitForAnswer: true) }
            let t1 = monotonicNanos()
            var data = Parcel()
            [UInt8](repeating: 0x5A, count: size).withUnsafeBytes { data.writeRaw($0) }
            let reply = try brokerCall("echo through the channel") { try direct.transact(code: EchoService.Code.echo.rawValue, data: data) }
            let t2 = monotonicNanos()
            guard reply.bytes == data.bytes else {
                throw CLIFailure("\(name) answered \(reply.count) bytes that are not the \(data.count) sent: not an echo service")
            }
            let peer = direct.directPeer.map { "\($0)" } ?? "?"
            print("direct channel to \(name): peer \(peer)")
            print("  hand-out \(micros(t1 - t0)) µs, echo of \(data.count) B \(micros(t2 - t1)) µs")
            if hold {
                print("open")
                flushStandardOutput()
                c.waitUntilClosed()
                throw CLIFailure("the broker closed the connection")
            }
            direct.closeDirectChannel()
        }

        private func micros(_ nanos: UInt64) -> String {
            String(Double(nanos / 10) / 100)
        }
    }
}
