import ArgumentParser
import BinderPlatform

/// The `binder` command-line tool. Every failure prints one line on stderr and exits non-zero.
struct BinderCLI: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "binder",
        abstract: "Inspect and use a running binderd broker (socket: $BINDER_RUNTIME_DIR/binder.sock, default /run/binder).",
        subcommands: [
            ServiceCommand.self, EchoCommand.self, StatusCommand.self, ChannelCommand.self, ContainerCommand.self, BenchCommand.self,
            TestTypesCommand.self, NetCommand.self,
        ])
}

/// Runs the CLI, turning argument errors into a single line (ArgumentParser would add the usage text).
func runCLI() -> Never {
    do {
        var command = try BinderCLI.parseAsRoot()
        try command.run()
        BinderCLI.exit()
    } catch let exit as ExitCode {
        BinderCLI.exit(withError: exit)
    } catch let failure as CLIFailure {
        ProcessControl.printError("binder: \(failure.message)")
        BinderCLI.exit(withError: ExitCode(failure.code))
    } catch {
        let code = BinderCLI.exitCode(for: error)
        if code == .success {
            BinderCLI.exit(withError: error)  // --help, --version: ArgumentParser prints them
        }
        let message = BinderCLI.message(for: error).split(separator: "\n").first.map(String.init) ?? "\(error)"
        ProcessControl.printError("binder: \(message.hasPrefix("Error: ") ? String(message.dropFirst(7)) : message)")
        BinderCLI.exit(withError: code)
    }
}

runCLI()
