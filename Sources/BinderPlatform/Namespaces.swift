#if canImport(Glibc)
import Glibc
#endif
import CBinderShims

/// A running container's first process, as binderd started (or re-adopted) it.
public struct ContainerProcess: Sendable, Equatable {
    /// PID 1 of the container, as seen from the broker's PID namespace.
    public var pid: Int32
    /// A pidfd for it (the broker polls it to learn when the container ends).
    public var pidfd: Int32
    /// The inode of the container's network namespace: what identifies a connection's container.
    public var netns: UInt64
}

/// Linux namespaces: starting containers, joining them, and telling which network namespace a
/// process is in. The namespace work runs in C between fork and exec (CBinderShims).
public enum Namespaces {
    /// The network namespace of this process.
    public static var ownNetwork: UInt64 { cbinder_inode("/proc/self/ns/net") }

    /// The network namespace of the process behind `pidfd`, or nil when it has exited.
    public static func network(ofPIDFD pidfd: Int32) -> UInt64? {
        let inode = cbinder_pidfd_netns_inode(pidfd)
        return inode == 0 ? nil : inode
    }

    /// The pid of the process behind `pidfd` in its own (innermost) PID namespace: the last
    /// number of the `NSpid:` line of the pidfd's fdinfo. nil when it cannot be read.
    public static func innermostPID(ofPIDFD pidfd: Int32) -> Int32? {
        guard let info = FileSystem.readText("/proc/self/fdinfo/\(pidfd)"),
              let line = info.split(separator: "\n").first(where: { $0.hasPrefix("NSpid:") })
        else { return nil }
        return line.split(whereSeparator: { $0 == "\t" || $0 == " " }).last.flatMap { Int32($0) }
    }

    /// Whether a network namespace with this inode still exists in any process (a leak check:
    /// scans /proc/*/ns/net).
    public static func networkNamespaceInUse(_ inode: UInt64) -> Bool {
        for name in FileSystem.listDirectory("/proc") ?? [] where name.first?.isNumber == true {
            if cbinder_inode("/proc/\(name)/ns/net") == inode { return true }
        }
        return false
    }

    static func stepName(_ step: Int32) -> String {
        switch Int(step) {
        case Int(CBINDER_STEP_CLONE): "clone3 (new namespaces)"
        case Int(CBINDER_STEP_MOUNT_PRIVATE): "mount / private"
        case Int(CBINDER_STEP_MOUNT_PROC): "mount /proc"
        case Int(CBINDER_STEP_MOUNT_SYS): "mount /sys"
        case Int(CBINDER_STEP_MKDIR_RUN): "mkdir /run/binder"
        case Int(CBINDER_STEP_BIND_ENDPOINT): "bind the endpoint on /run/binder"
        case Int(CBINDER_STEP_HOSTNAME): "sethostname"
        case Int(CBINDER_STEP_LOOPBACK): "bring up lo"
        case Int(CBINDER_STEP_STDIO): "stdio on /dev/null"
        case Int(CBINDER_STEP_EXEC): "exec"
        case Int(CBINDER_STEP_SETNS): "setns (join the container)"
        case Int(CBINDER_STEP_FORK): "fork"
        default: "step \(step)"
        }
    }

    /// Starts a container whose PID 1 is `initPath`, with `endpointDirectory` (holding its
    /// binder.sock) bound onto /run/binder inside it. Blocks until the child has exec'd (a few ms).
    public static func spawnContainer(hostname: String, endpointDirectory: String, initPath: String) throws(SystemError) -> ContainerProcess {
        var pidfd: Int32 = -1
        var step: Int32 = 0
        let r = cbinder_container_spawn(hostname, endpointDirectory, initPath, &pidfd, &step)
        if r < 0 {
            let target = step == Int32(CBINDER_STEP_EXEC) ? " \(initPath)" : ""
            throw SystemError("container set-up: \(stepName(step))\(target)", -r)
        }
        guard let netns = network(ofPIDFD: pidfd) else {
            let e = errno
            kill(pidfd: pidfd)
            reap(pidfd: pidfd)
            close(pidfd)
            throw SystemError("PIDFD_GET_NET_NAMESPACE", e)
        }
        return ContainerProcess(pid: r, pidfd: pidfd, netns: netns)
    }

    /// Finds a container left by an earlier broker run: `pid` must still run in network namespace `netns`.
    public static func adoptContainer(pid: Int32, netns: UInt64) -> ContainerProcess? {
        let pidfd = cbinder_pidfd_open(pid)
        guard pidfd >= 0 else { return nil }
        guard network(ofPIDFD: pidfd) == netns else {
            close(pidfd)
            return nil
        }
        return ContainerProcess(pid: pid, pidfd: pidfd, netns: netns)
    }

    /// SIGKILL to the process behind `pidfd`.
    public static func kill(pidfd: Int32) { _ = cbinder_pidfd_signal(pidfd, SIGKILL) }

    /// Reaps the process behind `pidfd` if it was this process's child and has exited.
    public static func reap(pidfd: Int32) { cbinder_pidfd_reap(pidfd) }

    /// Runs `arguments` (PATH searched) in the namespaces of the container whose PID 1 is `pid`,
    /// in `directory` (or / when it does not exist there), with `environment`; waits for it and
    /// returns its exit code (128 + the signal when a signal ended it).
    /// - Throws: `SystemError` naming the failed step: "exec" with ENOENT when the command is not
    ///   found, "setns" when the container has gone.
    public static func run(
        inContainerOf pid: Int32, arguments: [String], environment: [String], directory: String
    ) throws(SystemError) -> Int32 {
        let pidfd = cbinder_pidfd_open(pid)
        if pidfd < 0 { throw SystemError("pidfd_open \(pid)", -pidfd) }
        defer { close(pidfd) }
        let argv = arguments.map { strdup($0) } + [nil]
        let envp = environment.map { strdup($0) } + [nil]
        defer {
            argv.forEach { free($0) }
            envp.forEach { free($0) }
        }
        var step: Int32 = 0
        let r = cbinder_container_exec(pidfd, argv, envp, directory, &step)
        if r < 0 { throw SystemError(stepName(step), -r) }
        return ProcessControl.exitCode(waitStatus: r)
    }
}
