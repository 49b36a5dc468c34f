import ArgumentParser
import Binder
import BinderPlatform
import BinderWire

/// A failure the CLI reports as one line and an exit code.
struct CLIFailure: Error, CustomStringConvertible {
    var message: String
    /// What argument-parser prints when a value's transform throws this.
    var description: String { message }
    var code: Int32 = 1
    init(_ message: String, code: Int32 = 1) {
        self.message = message
        self.code = code
    }
}

/// Connects to the broker, or fails with one line saying where it looked.
/// - Parameter ridesRestarts: reconnect and resume the session when the broker restarts (the
///   commands that serve or run for long: `echo serve`, `bench`); a one-shot command fails at once
///   instead.
func connectToBroker(threads: Int = 1, ridesRestarts: Bool = false) throws -> BinderConnection {
    let path = BinderConnection.defaultSocketPath
    do {
        return try BinderConnection(path: path, threadPoolSize: threads, reconnect: ridesRestarts ? .default : .never)
    } catch let e as SystemError {
        throw CLIFailure("cannot reach the broker at \(path): \(String(e.description.split(separator: ": ").last ?? ""))")
    } catch {
        throw CLIFailure("handshake with the broker at \(path) failed: \(error)")
    }
}

/// The ArgumentParser check for a service-name argument.
func validateServiceName(_ name: String) throws {
    guard ServiceManagerInterface.isValidName(name) else {
        throw ValidationError("invalid service name '\(name)': use 1–127 characters of [A-Za-z0-9_./-]")
    }
}

/// `name` as the caller sees it, or as registered in `container` when one is given.
func lookUpService(_ c: BinderConnection, _ name: String, inContainer container: UInt32?) throws -> BinderProxy? {
    guard let container else { return try brokerCall("getService") { try c.serviceManager.getService(name) } }
    return try brokerCall("getServiceInContainer") { try c.serviceManager.getService(name, inContainer: container) }
}

/// `lookUpService`, failing with one line when the name is not registered there.
func requireService(_ c: BinderConnection, _ name: String, inContainer container: UInt32?) throws -> BinderProxy {
    guard let service = try lookUpService(c, name, inContainer: container) else {
        throw CLIFailure("service '\(name)' is not registered\(container.map { " in container \($0)" } ?? "")")
    }
    return service
}

/// Runs a broker call, turning its errors into one-line failures: "WHAT failed: STATUS", and
/// "WHAT REFUSED: MESSAGE" for a service error.
func brokerCall<T>(_ what: String, refused: String = "failed", _ body: () throws -> T) throws -> T {
    do {
        return try body()
    } catch let s as StatusCode {
        throw CLIFailure("\(what) failed: \(s)")
    } catch let e as ServiceError {
        throw CLIFailure("\(what) \(refused): \(e.message)")
    }
}

/// Prints one line and flushes it at once (for a reader on a pipe).
func printLine(_ line: String) {
    print(line)
    flushStandardOutput()
}

/// `0000: 01 02 … |..|` lines, 16 bytes each.
func hexDump(_ bytes: [UInt8]) -> String {
    var lines: [String] = []
    var offset = 0
    while offset < bytes.count {
        let chunk = bytes[offset..<min(offset + 16, bytes.count)]
        let hex = chunk.map { hex2($0) }.joined(separator: " ")
        let ascii = String(chunk.map { $0 >= 0x20 && $0 < 0x7F ? Character(UnicodeScalar($0)) : "." })
        let pad = String(repeating: " ", count: (16 - chunk.count) * 3)
        lines.append("\(hex4(offset)): \(hex)\(pad) |\(ascii)|")
        offset += 16
    }
    return lines.joined(separator: "\n")
}

func hex2(_ b: UInt8) -> String {
    let s = String(b, radix: 16)
    return s.count == 1 ? "0" + s : s
}

func hex4(_ n: Int) -> String {
    let s = String(n, radix: 16)
    return String(repeating: "0", count: max(0, 4 - s.count)) + s
}

/// Left-aligned columns.
func table(_ rows: [[String]]) -> String {
    guard let first = rows.first else { return "" }
    var widths = [Int](repeating: 0, count: first.count)
    for row in rows { for (i, cell) in row.enumerated() { widths[i] = max(widths[i], cell.count) } }
    return rows.map { row in
        row.enumerated().map { i, cell in i == row.count - 1 ? cell : cell + String(repeating: " ", count: widths[i] - cell.count) }
            .joined(separator: "  ")
    }.joined(separator: "\n")
}
