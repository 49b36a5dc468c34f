#if canImport(Glibc)
import Glibc
#endif
import CBinderShims

/// Process helpers: spawning children, signalling and reaping them, the environment.
public enum ProcessControl {
    /// Starts `path` with `arguments` (argv[0] excluded) and extra environment entries; returns its pid.
    /// - Parameter passing: fds to hand to the child, as (fd here, fd number in the child). All other
    ///   fds this library opens are close-on-exec and do not leak into children.
    public static func spawn(
        _ path: String, _ arguments: [String], environment extra: [String: String] = [:], passing: [(Int32, Int32)] = []
    ) throws(SystemError) -> Int32 {
        guard !passing.isEmpty else { return try spawn(path, arguments, environment: extra, actions: nil) }
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        for (from, to) in passing { posix_spawn_file_actions_adddup2(&actions, from, to) }
        return try spawn(path, arguments, environment: extra, actions: &actions)
    }

    static func spawn(
        _ path: String, _ arguments: [String], environment extra: [String: String], actions: UnsafeMutablePointer<posix_spawn_file_actions_t>?
    ) throws(SystemError) -> Int32 {
        var env = environmentEntries.filter { s in
            guard let eq = s.firstIndex(of: "=") else { return true }
            return extra[String(s[..<eq])] == nil
        }
        for (k, v) in extra { env.append("\(k)=\(v)") }
        let argv = ([path] + arguments).map { strdup($0) } + [nil]
        let envp = env.map { strdup($0) } + [nil]
        defer {
            argv.forEach { free($0) }
            envp.forEach { free($0) }
        }
        var attr = posix_spawnattr_t()
        let a = cbinder_spawnattr_init_clean(&attr)
        if a != 0 { throw SystemError("posix_spawnattr", a) }
        defer { posix_spawnattr_destroy(&attr) }
        var pid: pid_t = 0
        let r = posix_spawn(&pid, path, actions, &attr, argv, envp)
        if r != 0 { throw SystemError("posix_spawn \(path)", r) }
        return pid
    }

    /// The result of `run`.
    public struct Output: Sendable {
        public var status: Int32
        public var stdout: String
        public var stderr: String
    }

    /// Runs a program to completion with stdin closed, capturing stdout and stderr.
    public static func run(_ path: String, _ arguments: [String], environment extra: [String: String] = [:]) throws(SystemError) -> Output {
        let out = try pipe()
        let err = try pipe()
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_adddup2(&actions, out.write, 1)
        posix_spawn_file_actions_adddup2(&actions, err.write, 2)
        let pid = try spawn(path, arguments, environment: extra, actions: &actions)
        Glibc.close(out.write)
        Glibc.close(err.write)
        let stdout = readAll(out.read)
        let stderr = readAll(err.read)
        Glibc.close(out.read)
        Glibc.close(err.read)
        return Output(status: wait(pid), stdout: stdout, stderr: stderr)
    }

    /// A close-on-exec pipe (hand an end to a child with `spawn(passing:)`).
    public static func pipe() throws(SystemError) -> (read: Int32, write: Int32) {
        var fds: [Int32] = [-1, -1]
        _ = try checkNegErrno("pipe2", cbinder_pipe_cloexec(&fds))
        return (fds[0], fds[1])
    }

    /// Reads until `count` bytes or end of file.
    public static func read(_ fd: Int32, count: Int) -> [UInt8] {
        var data: [UInt8] = []
        var byte: UInt8 = 0
        while data.count < count {
            let n = Glibc.read(fd, &byte, 1)
            if n < 0 && errno == EINTR { continue }
            if n <= 0 { break }
            data.append(byte)
        }
        return data
    }

    /// Reads until end of file.
    public static func readAll(_ fd: Int32) -> String {
        var data: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 4096)
        while true {
            let n = chunk.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress, 4096) }
            if n < 0 && errno == EINTR { continue }
            if n <= 0 { break }
            data.append(contentsOf: chunk[0..<n])
        }
        return String(decoding: data, as: UTF8.self)
    }

    /// Writes "READY\n" to `fd` and closes it (a readiness notification a parent can block on).
    public static func notifyReady(fd: Int32) {
        _ = "READY\n".withCString { Glibc.write(fd, $0, 6) }
        Glibc.close(fd)
    }

    public static func kill(_ pid: Int32, signal: Int32 = SIGTERM) { _ = Glibc.kill(pid, signal) }

    /// Waits for `pid` to exit; returns its exit status (128+signal if killed).
    @discardableResult
    public static func wait(_ pid: Int32) -> Int32 {
        var status: Int32 = 0
        while waitpid(pid, &status, 0) == -1 && errno == EINTR {}
        return exitCode(waitStatus: status)
    }

    /// A wait status as a shell-style exit code: the status, or 128 + the signal.
    static func exitCode(waitStatus status: Int32) -> Int32 {
        status & 0x7f == 0 ? (status >> 8) & 0xff : 128 + (status & 0x7f)
    }

    public static var currentPID: Int32 { getpid() }
    public static var currentUID: UInt32 { getuid() }

    public static func environment(_ name: String) -> String? {
        guard let v = getenv(name) else { return nil }
        return String(cString: v)
    }

    /// This process's environment as `NAME=value` entries.
    public static var environmentEntries: [String] {
        var entries: [String] = []
        var i = 0
        while let entry = environ[i] {
            entries.append(String(cString: entry))
            i += 1
        }
        return entries
    }

    /// The current working directory ("/" when it cannot be read).
    public static var currentDirectory: String {
        var buf = [CChar](repeating: 0, count: 4096)
        guard getcwd(&buf, buf.count) != nil else { return "/" }
        return String(cString: buf)
    }

    /// Where binderd keeps binder.sock: `$BINDER_RUNTIME_DIR`, else /run/binder.
    public static var defaultRuntimeDirectory: String { environment("BINDER_RUNTIME_DIR") ?? "/run/binder" }

    /// The directory holding the running executable (from /proc/self/exe).
    public static func executableDirectory() -> String {
        var buf = [CChar](repeating: 0, count: 4096)
        let n = readlink("/proc/self/exe", &buf, buf.count - 1)
        guard n > 0 else { return "." }
        let path = String(decoding: buf[0..<n].map { UInt8(bitPattern: $0) }, as: UTF8.self)
        return String(path[..<(path.lastIndex(of: "/") ?? path.endIndex)])
    }

    /// Writes a line to fd 2 (Swift 6 cannot use the `stderr` global).
    public static func printError(_ line: String) {
        var s = line
        if !s.hasSuffix("\n") { s += "\n" }
        s.withUTF8 { _ = Glibc.write(2, $0.baseAddress, $0.count) }
    }
}

/// Flushes buffered standard output (Swift 6 cannot name the `stdout` global).
public func flushStandardOutput() { fflush(nil) }

/// Filesystem helpers the runtime directory needs.
public enum FileSystem {
    /// Creates `path` and its parents (mode 0755) if missing.
    public static func makeDirectories(_ path: String) throws(SystemError) {
        var current = path.hasPrefix("/") ? "" : "."
        for part in path.split(separator: "/") {
            current += "/" + part
            if mkdir(current, 0o755) != 0 && errno != EEXIST { throw SystemError("mkdir \(current)", errno) }
        }
    }
    public static func remove(_ path: String) { _ = unlink(path) }
    public static func setMode(_ path: String, _ mode: UInt32) { _ = chmod(path, mode_t(mode)) }
    public static func exists(_ path: String) -> Bool { access(path, F_OK) == 0 }

    /// The whole file as text; nil when it cannot be read or is not UTF-8.
    public static func readText(_ path: String) -> String? {
        guard let f = fopen(path, "rb") else { return nil }
        defer { fclose(f) }
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 65536)
        while true {
            let n = fread(&chunk, 1, chunk.count, f)
            bytes.append(contentsOf: chunk[0..<n])
            if n < chunk.count { break }
        }
        guard ferror(f) == 0 else { return nil }
        return String(validating: bytes, as: UTF8.self)
    }

    /// Writes `text` to `path`, creating or truncating it.
    public static func writeText(_ path: String, _ text: String) throws(SystemError) {
        guard let f = fopen(path, "wb") else { throw SystemError("open \(path)", errno) }
        let bytes = Array(text.utf8)
        let n = fwrite(bytes, 1, bytes.count, f)
        let e = errno
        if fclose(f) != 0 || n != bytes.count { throw SystemError("write \(path)", e) }
    }

    /// The names in a directory, sorted, without `.` and `..`; nil when it cannot be opened.
    public static func listDirectory(_ path: String) -> [String]? {
        guard let dir = opendir(path) else { return nil }
        defer { closedir(dir) }
        var names: [String] = []
        while let entry = readdir(dir) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
            if name != "." && name != ".." { names.append(name) }
        }
        return names.sorted()
    }
    /// A fresh private directory under /tmp.
    public static func makeTemporaryDirectory(prefix: String) throws(SystemError) -> String {
        var template = Array("/tmp/\(prefix).XXXXXX".utf8CString)
        guard let p = mkdtemp(&template) else { throw SystemError("mkdtemp", errno) }
        return String(cString: p)
    }
    public static func removeTree(_ path: String) {
        guard let dir = opendir(path) else { _ = unlink(path); return }
        while let entry = readdir(dir) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { String(cString: $0.bindMemory(to: CChar.self).baseAddress!) }
            if name == "." || name == ".." { continue }
            let child = path + "/" + name
            if entry.pointee.d_type == UInt8(DT_DIR) { removeTree(child) } else { _ = unlink(child) }
        }
        closedir(dir)
        _ = rmdir(path)
    }
}
