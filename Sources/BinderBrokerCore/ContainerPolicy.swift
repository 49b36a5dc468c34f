import BinderWire

/// Which child containers may look up which other containers' services (`binderd --policy FILE`).
///
/// Format (documented in README and WIRE.md §7.7): one rule per line, `#` starts a comment.
///
///     allow FROM -> TO [SERVICE]...
///
/// FROM and TO are container IDs or `*` (any child). With no SERVICE the rule covers every name in
/// TO; otherwise only the names listed. Without a rule, a child reaches its own names and the
/// root's exported ones; the root reaches everything.
public struct ContainerPolicy: Sendable, Equatable {
    public struct Rule: Sendable, Equatable {
        /// nil: any container.
        public var from: UInt32?
        public var to: UInt32?
        /// Empty: every service.
        public var services: [String]
        public init(from: UInt32?, to: UInt32?, services: [String] = []) {
            self.from = from
            self.to = to
            self.services = services
        }
        func covers(from f: UInt32, to t: UInt32) -> Bool { (from == nil || from == f) && (to == nil || to == t) }
    }

    public var rules: [Rule]
    public init(rules: [Rule] = []) { self.rules = rules }

    public struct ParseError: Error, Sendable, CustomStringConvertible, Equatable {
        public var line: Int
        public var message: String
        public var description: String { "line \(line): \(message)" }
    }

    public static func parse(_ text: String) throws(ParseError) -> ContainerPolicy {
        var rules: [Rule] = []
        for (index, raw) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let line = raw.split(separator: "#", maxSplits: 1, omittingEmptySubsequences: false).first ?? ""
            let words = line.split(whereSeparator: { $0 == " " || $0 == "\t" || $0 == "\r" }).map(String.init)
            if words.isEmpty { continue }
            func fail(_ message: String) -> ParseError { ParseError(line: index + 1, message: message) }
            guard words.count >= 4, words[0] == "allow", words[2] == "->" else {
                throw fail("expected 'allow FROM -> TO [SERVICE]...', got '\(words.joined(separator: " "))'")
            }
            func container(_ word: String) throws(ParseError) -> UInt32? {
                if word == "*" { return nil }
                guard let id = UInt32(word), id <= ContainerInfo.maxID else {
                    throw fail("'\(word)' is not a container ID (0…\(ContainerInfo.maxID)) or *")
                }
                return id
            }
            let services = Array(words.dropFirst(4))
            if let bad = services.first(where: { !ServiceManagerInterface.isValidName($0) }) {
                throw fail("'\(bad)' is not a valid service name")
            }
            rules.append(Rule(from: try container(words[1]), to: try container(words[3]), services: services))
        }
        return ContainerPolicy(rules: rules)
    }

    /// Whether container `from` may reach `service` (nil: any of them) registered in container `to`.
    public func allows(from: UInt32, to: UInt32, service: String?) -> Bool {
        if from == 0 || from == to { return true }
        return rules.contains { r in
            r.covers(from: from, to: to) && (r.services.isEmpty || service.map(r.services.contains) ?? true)
        }
    }

    /// Whether some rule lets `from` reach anything in `to`.
    func reachesAny(from: UInt32, to: UInt32) -> Bool {
        from == 0 || from == to || rules.contains { $0.covers(from: from, to: to) }
    }
}
