#if canImport(Glibc)
import Glibc
#endif

/// Process helpers: spawning children, signalling and reaping them, the environment.
public enum ProcessControl {
    /// Starts `path` with `arguments` (argv[0] excluded) and extra environment entries; returns its pid.
    public static func spawn(_ path: String, _ arguments: [String], environment extra: [String: String] = [:]) throws(SystemError) -> Int32 {
        var env: [String] = []
        var i = 0
        while let entry = environ[i] {
            let s = String(cString: entry)
            if let eq = s.firstIndex(of: "="), extra[String(s[..<eq])] != nil {} else { env.append(s) }
            i += 1
        }
        for (k, v) in extra { env.append("\(k)=\(v)") }
        let argv = ([path] + arguments).map { strdup($0) } + [nil]
        let envp = env.map { strdup($0) } + [nil]
        defer {
            argv.forEach { free($0) }
            envp.forEach { free($0) }
        }
        var pid: pid_t = 0
        let r = posix_spawn(&pid, path, nil, nil, argv, envp)
        if r != 0 { throw SystemError("posix_spawn \(path)", r) }
        return pid
    }

    public static func kill(_ pid: Int32, signal: Int32 = SIGTERM) { _ = Glibc.kill(pid, signal) }

    /// Waits for `pid` to exit; returns its exit status (128+signal if killed).
    @discardableResult
    public static func wait(_ pid: Int32) -> Int32 {
        var status: Int32 = 0
        while waitpid(pid, &status, 0) == -1 && errno == EINTR {}
        if status & 0x7f == 0 { return (status >> 8) & 0xff }
        return 128 + (status & 0x7f)
    }

    public static var currentPID: Int32 { getpid() }
    public static var currentUID: UInt32 { getuid() }

    public static func environment(_ name: String) -> String? {
        guard let v = getenv(name) else { return nil }
        return String(cString: v)
    }

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
    public static func exists(_ path: String) -> Bool { access(path, F_OK) == 0 }
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
    /// Counts the open fds of a process (entries of /proc/PID/fd).
    public static func openFDCount(pid: Int32) -> Int {
        guard let dir = opendir("/proc/\(pid)/fd") else { return -1 }
        var n = 0
        while readdir(dir) != nil { n += 1 }
        closedir(dir)
        return n - 2
    }
}
