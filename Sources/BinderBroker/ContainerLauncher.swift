import BinderBrokerCore
import BinderPlatform
import BinderWire
import Logging

/// A listening socket for peers (the root's, or a container's), with the network namespace a peer
/// must be in to count as being in that container.
struct Endpoint {
    let fd: Int32
    let path: String
    let networkNamespace: UInt64
}

/// A container that runs: its PID 1 (a pidfd the event loop polls for its end) and its endpoint.
struct LaunchedContainer {
    let id: UInt32
    let name: String
    let process: ContainerProcess
    let endpoint: Endpoint
    /// What the core records.
    var started: StartedContainer {
        StartedContainer(initPID: process.pid, networkNamespace: process.netns, endpoint: endpoint.path)
    }
}

/// Starts, adopts and cleans up after containers: their endpoint socket, namespaces and PID 1, and
/// the state file from which a later broker run adopts them. This is I/O, so it stays out of the
/// core; and it is not the event loop's job either, which only moves bytes and fds: the loop asks
/// for a container (the core's `BrokerOutbox.startContainer`), watches the endpoint and pidfd it
/// gets back on its ring, and hands them back here once PID 1 has exited.
struct ContainerLauncher {
    let options: BrokerServer.Options
    let logger: Logger

    /// Starts container `id`: its endpoint first (so it is there when PID 1 runs), then the
    /// namespaces and PID 1, then the state file a later broker run adopts it from.
    func start(id: UInt32, name: String) -> Result<LaunchedContainer, ContainerStartFailure> {
        let directory = options.endpointDirectory(id)
        let path = options.endpointPath(id)
        let listenFD: Int32
        do {
            try FileSystem.makeDirectories(directory)
            listenFD = try SeqPacket.listen(path: path, mode: 0o666)
        } catch {
            return .failure(ContainerStartFailure("endpoint \(path): \(error)"))
        }
        let process: ContainerProcess
        do {
            process = try Namespaces.spawnContainer(hostname: name, endpointDirectory: directory, initPath: options.initPath)
        } catch {
            FileDescriptor.close(listenFD)
            FileSystem.removeTree(directory)
            return .failure(ContainerStartFailure("\(error)"))
        }
        do {
            try FileSystem.writeText(options.statePath(id), "name=\(name)\npid=\(process.pid)\nnetns=\(process.netns)\n")
        } catch {
            logger.warning("container state file not written: a restarted broker will not adopt this container", metadata: [
                "container": "\(id)", "error": "\(error)",
            ])
        }
        let launched = LaunchedContainer(
            id: id, name: name, process: process, endpoint: Endpoint(fd: listenFD, path: path, networkNamespace: process.netns))
        logger.info("container started", metadata: [
            "container": "\(id)", "name": "\(name)", "pid": "\(process.pid)", "netns": "\(process.netns)", "endpoint": "\(path)",
        ])
        return .success(launched)
    }

    /// SIGKILL to PID 1: the kernel then kills every process in the container's PID namespace, and
    /// the pidfd turns readable once they are all gone.
    func stop(_ id: UInt32, process: ContainerProcess) {
        logger.info("stopping container", metadata: ["container": "\(id)", "pid": "\(process.pid)"])
        Namespaces.kill(pidfd: process.pidfd)
    }

    /// PID 1 of container `id` exited: reaps it, closes its pidfd and endpoint, removes its files.
    /// The event loop has stopped watching both on its ring.
    func cleanUp(afterEnd id: UInt32, process: ContainerProcess, endpoint: Endpoint?) {
        Namespaces.reap(pidfd: process.pidfd)
        FileDescriptor.close(process.pidfd)
        if let endpoint { FileDescriptor.close(endpoint.fd) }
        removeFiles(ofContainer: id)
        logger.info("container ended", metadata: ["container": "\(id)", "pid": "\(process.pid)"])
    }

    /// The containers an earlier broker run left running (their state files), each listening
    /// again; the traces of those that have ended since are removed.
    func adoptRunning() -> [LaunchedContainer] {
        var adopted: [LaunchedContainer] = []
        for file in FileSystem.listDirectory(options.containersDirectory) ?? [] where file.hasSuffix(".state") {
            guard let id = UInt32(file.dropLast(6)), ContainerInfo.childIDs.contains(id) else { continue }
            let fields = Self.stateFields(FileSystem.readText(options.statePath(id)) ?? "")
            guard let name = fields["name"], let pid = fields["pid"].flatMap(Int32.init),
                  let netns = fields["netns"].flatMap(UInt64.init),
                  let process = Namespaces.adoptContainer(pid: pid, netns: netns)
            else {
                logger.info("removing the traces of an ended container", metadata: ["container": "\(id)"])
                removeFiles(ofContainer: id)
                continue
            }
            let path = options.endpointPath(id)
            do {
                let fd = try SeqPacket.listen(path: path, mode: 0o666)
                adopted.append(LaunchedContainer(
                    id: id, name: name, process: process, endpoint: Endpoint(fd: fd, path: path, networkNamespace: netns)))
                logger.info("container adopted", metadata: ["container": "\(id)", "name": "\(name)", "pid": "\(pid)"])
            } catch {
                logger.warning("cannot listen for an adopted container; stopping it", metadata: ["container": "\(id)", "error": "\(error)"])
                Namespaces.kill(pidfd: process.pidfd)
                FileDescriptor.close(process.pidfd)
            }
        }
        return adopted
    }

    /// The endpoint directory and the state file.
    private func removeFiles(ofContainer id: UInt32) {
        FileSystem.removeTree(options.endpointDirectory(id))
        FileSystem.remove(options.statePath(id))
    }

    private static func stateFields(_ text: String) -> [String: String] {
        var fields: [String: String] = [:]
        for line in text.split(separator: "\n") {
            guard let eq = line.firstIndex(of: "=") else { continue }
            fields[String(line[..<eq])] = String(line[line.index(after: eq)...])
        }
        return fields
    }
}
