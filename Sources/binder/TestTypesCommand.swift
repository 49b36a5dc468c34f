import ArgumentParser
import Binder
import BinderPlatform
import BinderTestTypes
import BinderWire

/// `binder test-types serve`: serves the generated `ITestTypes` stub for the AIDL round-trip test
/// (Protocols/binder/test/ITestTypes.aidl). Hidden: it is a test fixture, not a user command.
struct TestTypesCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "test-types", abstract: "Serve the AIDL round-trip test interface.", shouldDisplay: false,
        subcommands: [Serve.self])

    struct Serve: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Register ITestTypes and serve until killed.")
        @Option(help: "Name to register.") var name: String = "test.types"
        @Flag(help: "Do not print the 'serving' line.") var quiet = false

        func run() throws {
            let c = try connectToBroker(threads: 2)
            try brokerCall("addService") { try c.serviceManager.addService(name, ITestTypes.Stub(TestTypesService())) }
            if !quiet {
                print("serving \(name)")
                flushStandardOutput()
            }
            c.waitUntilClosed()
            throw CLIFailure("the broker closed the connection")
        }
    }
}
