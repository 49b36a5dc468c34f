import ArgumentParser
import Binder
import BinderPlatform
import BinderWire

/// `binder container`: containers are started, listed and stopped by the broker (it owns their
/// namespaces and endpoints); `run` and `exec` join one from here (setns in a forked child).
struct ContainerCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "container", abstract: "Create, run commands in, list and stop containers (real Linux namespaces).",
        subcommands: [Create.self, Run.self, Exec.self, List.self, Stop.self, Foreground.self])

    struct Create: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Start container ID: new mount, UTS, IPC, network and PID namespaces with the broker at /run/binder/binder.sock.")
        @Argument(help: "Container ID, 1…\(ContainerInfo.maxID).") var id: UInt32
        @Option(help: "Hostname (default: container-ID).") var name: String?
        func validate() throws { try validateContainer(id, name: name) }
        func run() throws {
            let c = try connectToBroker()
            let info = try createContainer(c, id, name)
            print("container \(info.id) (\(info.name)) started: pid \(info.initPID), network namespace \(info.networkNamespace)")
        }
    }

    struct Run: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Create container ID, run COMMAND in it, then stop it; exits with COMMAND's status.")
        @Argument(help: "Container ID, 1…\(ContainerInfo.maxID).") var id: UInt32
        @Option(help: "Hostname (default: container-ID).") var name: String?
        @Argument(parsing: .postTerminator, help: "The command and its arguments, after --.") var command: [String] = []
        func validate() throws {
            try validateContainer(id, name: name)
            guard !command.isEmpty else { throw ValidationError("give the command after --, e.g. binder container run 1 -- hostname") }
        }
        func run() throws {
            let c = try connectToBroker()
            let info = try createContainer(c, id, name)
            let result = Result { try runInside(info, command) }
            try brokerCall("stopContainer") { try c.serviceManager.stopContainer(id) }
            throw ExitCode(try result.get())
        }
    }

    struct Exec: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Run COMMAND inside running container ID (all its namespaces); exits with COMMAND's status.")
        @Argument(help: "Container ID.") var id: UInt32
        @Argument(parsing: .postTerminator, help: "The command and its arguments, after --.") var command: [String] = []
        func validate() throws {
            try validateContainer(id, name: nil)
            guard !command.isEmpty else { throw ValidationError("give the command after --, e.g. binder container exec 1 -- hostname") }
        }
        func run() throws {
            let c = try connectToBroker()
            let containers = try brokerCall("listContainers") { try c.serviceManager.listContainers() }
            guard let info = containers.first(where: { $0.id == id }) else { throw CLIFailure("no container \(id)") }
            c.close()
            throw ExitCode(try runInside(info, command))
        }
    }

    struct List: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Show running containers.")
        func run() throws {
            let c = try connectToBroker()
            let containers = try brokerCall("listContainers") { try c.serviceManager.listContainers() }
            print(containerTable(containers))
        }
    }

    struct Stop: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Kill every process of container ID; returns once its connections, services and endpoint are gone.")
        @Argument(help: "Container ID.") var id: UInt32
        func validate() throws { try validateContainer(id, name: nil) }
        func run() throws {
            let c = try connectToBroker()
            try brokerCall("stopContainer") { try c.serviceManager.stopContainer(id) }
            print("container \(id) stopped")
        }
    }

    struct Foreground: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Show, or set, the container in the foreground (0: the root).")
        @Argument(help: "Container ID to bring to the foreground.") var id: UInt32?
        func validate() throws {
            if let id, id > ContainerInfo.maxID { throw ValidationError("container IDs are 0…\(ContainerInfo.maxID)") }
        }
        func run() throws {
            let c = try connectToBroker()
            if let id {
                try brokerCall("setForegroundContainer") { try c.serviceManager.setForegroundContainer(id) }
            }
            print("foreground: \(try brokerCall("getForegroundContainer") { try c.serviceManager.foregroundContainer() })")
        }
    }
}

func validateContainer(_ id: UInt32, name: String?) throws {
    guard ContainerInfo.childIDs.contains(id) else {
        throw ValidationError("container IDs are 1…\(ContainerInfo.maxID) (0 is the root), not \(id)")
    }
    if let name, !ContainerInfo.isValidName(name) {
        throw ValidationError("invalid container name '\(name)': use 1–63 of [A-Za-z0-9-], not starting or ending with '-'")
    }
}

private func createContainer(_ c: BinderConnection, _ id: UInt32, _ name: String?) throws -> ContainerInfo {
    try brokerCall("createContainer") { try c.serviceManager.createContainer(id: id, name: name ?? "container-\(id)") }
}

/// Runs `command` inside the container and returns its exit code (128 + signal when killed).
/// Inside, clients find the broker at the default path, so BINDER_RUNTIME_DIR is not passed on.
func runInside(_ info: ContainerInfo, _ command: [String]) throws -> Int32 {
    flushStandardOutput()
    let environment = ProcessControl.environmentEntries.filter { !$0.hasPrefix("BINDER_RUNTIME_DIR=") }
    do {
        return try Namespaces.run(
            inContainerOf: info.initPID, arguments: command, environment: environment,
            directory: ProcessControl.currentDirectory)
    } catch let e where e.call == "exec" {
        throw CLIFailure("\(command[0]): \(e.errno == 2 ? "command not found" : e.description) in container \(info.id)", code: 127)
    } catch {
        throw CLIFailure("cannot enter container \(info.id): \(error)")
    }
}

func containerTable(_ containers: [ContainerInfo]) -> String {
    var rows = [["ID", "NAME", "PID", "NETNS", "CONNECTIONS", "SERVICES", "FOREGROUND"]]
    for x in containers {
        rows.append([
            "\(x.id)", x.name, "\(x.initPID)", "\(x.networkNamespace)", "\(x.connections)", "\(x.services)", x.foreground ? "yes" : "",
        ])
    }
    return table(rows)
}
