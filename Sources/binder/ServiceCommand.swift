import ArgumentParser
import Binder
import BinderPlatform
import BinderWire

struct ServiceCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "service", abstract: "List, check, wait for and call services.",
        subcommands: [List.self, Check.self, Wait.self, Call.self])

    struct List: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Print registered service names, one per line.")
        @Option(help: "List the names visible in this container (0: the root) instead of the caller's own.") var container: UInt32?
        func run() throws {
            let c = try connectToBroker()
            let names = try brokerCall("listServices") {
                try container.map { try c.serviceManager.listServices(inContainer: $0) } ?? c.serviceManager.listServices()
            }
            for name in names { print(name) }
        }
    }

    struct Check: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Exit 0 if NAME is registered, 1 if not.")
        @Argument(help: "Service name.") var name: String
        func validate() throws { try validateServiceName(name) }
        func run() throws {
            let c = try connectToBroker()
            if try brokerCall("checkService", { try c.serviceManager.checkService(name) }) != nil {
                print("\(name): found")
            } else {
                print("\(name): not found")
                throw ExitCode(1)
            }
        }
    }

    struct Wait: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Wait until NAME is registered; exit 1 on time-out.")
        @Argument(help: "Service name.") var name: String
        // Unconditional: `-1` is this option's value, not an option of its own.
        @Option(parsing: .unconditional, help: "Seconds to wait (fractions allowed); a negative number waits for as long as it takes.")
        var timeout: Double = 10
        func validate() throws {
            try validateServiceName(name)
            guard timeout.isFinite, timeout < 1e9 else { throw ValidationError("--timeout must be a number of seconds below 1e9") }
        }
        func run() throws {
            let c = try connectToBroker()
            let limit: Duration? = timeout < 0 ? nil : .milliseconds(Int64(timeout * 1000))
            let found = try brokerCall("waitForService") { try c.serviceManager.waitForService(name, timeout: limit) }
            guard found != nil else { throw CLIFailure("\(name): not registered within \(timeout) s") }
            print("\(name): found")
        }
    }

    struct Call: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Call a service with an untyped parcel, like Android's `service call`.",
            discussion: """
                Arguments after CODE build the parcel: i32 N | i64 N | f N | d N | s TEXT | b HEX \
                (negative numbers are values, not options). The options may come anywhere.
                """)
        @Option(help: "Call NAME as registered in this container (0: the root).") var container: UInt32?
        @Argument(help: "Service name.") var name: String
        @Argument(help: "Transaction code (1 or more).") var code: UInt32
        @Option(name: .customLong("reply"), help: "Decode the reply as these kinds, comma-separated: i32,i64,f,d,s,b,bool,binder.", transform: ValueKind.list)
        var replyKinds: [ValueKind] = []
        @Flag(help: "Send one-way: no reply is waited for.") var oneway = false
        @Option(help: "Give up with TIMED_OUT after SECONDS; the call carries the deadline, so the broker and the service do not start it late.")
        var timeout: Double?
        // Every argument the parser does not recognise is a value (so `i32 -5` works).
        @Argument(parsing: .allUnrecognized, help: "Values: i32 N | i64 N | f N | d N | s TEXT | b HEX.") var values: [String] = []

        func validate() throws {
            guard code >= 1 else { throw ValidationError("CODE must be 1 or more") }
            if let timeout, !(timeout > 0 && timeout <= 86_400 * 365) {
                throw ValidationError("--timeout must be a number of seconds above 0 (and at most a year)")
            }
        }

        func run() throws {
            let request = try CallRequest(tokens: values)
            let c = try connectToBroker()
            let service = try requireService(c, name, inContainer: container)
            let flags: TransactionFlags = oneway ? .oneWay : []
            let reply: Parcel
            do {
                reply = try service.transact(
                    code: code, data: request.parcel, flags: flags, timeout: timeout.map { .nanoseconds(Int64($0 * 1e9)) })
            } catch {
                print("status: \(error)")
                throw ExitCode(1)
            }
            if oneway {
                print("status: OK (one-way, no reply)")
                return
            }
            print("status: OK")
            print("reply: \(reply.count) bytes")
            if reply.count > 0 { print(hexDump(reply.bytes)) }
            var r = reply
            for kind in replyKinds {
                do {
                    print(try kind.decode(&r, connection: c))
                } catch {
                    throw CLIFailure("reply does not decode as \(kind.rawValue) at byte \(r.readPosition): \(error)")
                }
            }
        }
    }
}

/// The parcel `binder service call` builds from its values. Hand-parsed rather than with
/// argument-parser: each value is a pair (a type, then text read by that type), which the parser
/// has no notion of.
struct CallRequest {
    var parcel = Parcel()

    init(tokens: [String]) throws {
        var i = 0
        func number<T: LosslessStringConvertible>(_ text: String, as: T.Type, _ what: String) throws -> T {
            guard let n = T(text) else { throw CLIFailure("'\(text)' is not \(what)", code: 64) }
            return n
        }
        func next(_ what: String) throws -> String {
            i += 1
            guard i < tokens.count else { throw CLIFailure("'\(what)' needs a value", code: 64) }
            return tokens[i]
        }
        while i < tokens.count {
            let t = tokens[i]
            switch t {
            case "i32": parcel.write(try number(next(t), as: Int32.self, "a 32-bit integer"))
            case "i64": parcel.write(try number(next(t), as: Int64.self, "a 64-bit integer"))
            case "f": parcel.write(try number(next(t), as: Float.self, "a number"))
            case "d": parcel.write(try number(next(t), as: Double.self, "a number"))
            case "s":
                parcel.write(try next(t))
            case "b":
                let v = try next(t)
                guard let bytes = parseHex(v) else { throw CLIFailure("'\(v)' is not hex bytes (e.g. 0a1b2c)", code: 64) }
                parcel.write(bytes: bytes)
            default:
                throw CLIFailure("unknown value type '\(t)': use i32, i64, f, d, s or b", code: 64)
            }
            i += 1
        }
    }
}

enum ValueKind: String {
    case i32, i64, f, d, s, b, bool, binder

    @Sendable static func list(_ text: String) throws -> [ValueKind] {
        try text.split(separator: ",").map { part in
            guard let k = ValueKind(rawValue: String(part)) else {
                throw CLIFailure("unknown reply kind '\(part)': use i32, i64, f, d, s, b, bool or binder", code: 64)
            }
            return k
        }
    }

    func decode(_ p: inout Parcel, connection: BinderConnection) throws -> String {
        switch self {
        case .i32: return "\(try p.read(Int32.self))"
        case .i64: return "\(try p.read(Int64.self))"
        case .f: return "\(try p.readFloat())"
        case .d: return "\(try p.readDouble())"
        case .s: return try p.readString().map { "\"\($0)\"" } ?? "null"
        case .b: return try p.readBytes().map { $0.map(hex2).joined() } ?? "null"
        case .bool: return "\(try p.readBool())"
        case .binder:
            let ref = try p.readObject()
            switch ref.kind {
            case .null: return "null binder"
            case .handle: return "binder handle \(ref.id)"
            case .local: return "local binder \(ref.id)"
            }
        }
    }
}

func parseHex(_ text: String) -> [UInt8]? {
    let digits = Array(text.utf8)
    guard digits.count % 2 == 0 else { return nil }
    var out: [UInt8] = []
    var i = 0
    while i < digits.count {
        guard let b = UInt8(String(decoding: digits[i..<i + 2], as: UTF8.self), radix: 16) else { return nil }
        out.append(b)
        i += 2
    }
    return out
}
