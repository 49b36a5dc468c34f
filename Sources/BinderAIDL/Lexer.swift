/// A token of AIDL source.
struct Token: Sendable, CustomStringConvertible {
    enum Kind: Equatable, Sendable {
        case identifier
        /// An integer literal as written, including `0x` and suffixes (`1L`, `0xFFu8`).
        case integer
        /// A floating-point literal as written (`1.5`, `2.0f`, `1e3`).
        case float
        /// A string literal; `text` holds the value with escapes resolved.
        case string
        /// A character literal; `text` holds the character.
        case character
        /// Punctuation and operators: `{`, `<<`, `&&`, …
        case symbol
        case end
    }
    var kind: Kind
    var text: String
    var location: SourceLocation
    /// Where the token ends (the column just past its last character).
    var endLocation: SourceLocation
    /// The `/** … */` comment right before this token, if any.
    var doc: String?

    var description: String {
        switch kind {
        case .end: "end of file"
        case .string: "string literal"
        case .character: "character literal"
        default: "'\(text)'"
        }
    }

    func `is`(_ symbol: String) -> Bool { (kind == .symbol || kind == .identifier) && text == symbol }
}

/// Splits AIDL source into tokens. Comments are skipped; a `/** … */` comment is kept as the
/// `doc` of the token after it.
struct Lexer {
    let file: SourceFile
    private let scalars: [Unicode.Scalar]
    private var i = 0
    private var line = 1
    private var column = 1

    init(_ file: SourceFile) {
        self.file = file
        self.scalars = Array(file.text.unicodeScalars)
    }

    private func peek(_ k: Int = 0) -> Unicode.Scalar? { i + k < scalars.count ? scalars[i + k] : nil }

    private mutating func advance() {
        if scalars[i] == "\n" {
            line += 1
            column = 1
        } else {
            column += 1
        }
        i += 1
    }

    private var here: SourceLocation { SourceLocation(path: file.path, line: line, column: column) }

    private func error(_ at: SourceLocation, _ message: String) -> Diagnostic {
        Diagnostic(at, message, sourceLine: file.line(at.line))
    }

    private static func isIdentStart(_ c: Unicode.Scalar) -> Bool {
        (c >= "a" && c <= "z") || (c >= "A" && c <= "Z") || c == "_"
    }
    private static func isDigit(_ c: Unicode.Scalar) -> Bool { c >= "0" && c <= "9" }
    private static func isIdent(_ c: Unicode.Scalar) -> Bool { isIdentStart(c) || isDigit(c) }

    private static let twoCharSymbols: Set<String> = ["<<", "<=", ">=", "==", "!=", "&&", "||"]
    private static let oneCharSymbols: Set<Unicode.Scalar> = [
        "{", "}", "(", ")", "[", "]", "<", ">", ";", ",", "=", ".", "@", "+", "-", "*", "/", "%", "&", "|", "^", "~", "!",
        "?", ":",
    ]

    /// All tokens, ending with `.end`.
    /// - Throws: a `Diagnostic` for a character AIDL does not use, or an unterminated string,
    ///   character literal or comment.
    mutating func tokenize() throws(Diagnostic) -> [Token] {
        var tokens: [Token] = []
        var doc: String?
        while true {
            // Whitespace and comments.
            while let c = peek() {
                if c == " " || c == "\t" || c == "\n" || c == "\r" {
                    advance()
                } else if c == "/" && peek(1) == "/" {
                    while let d = peek(), d != "\n" { advance() }
                } else if c == "/" && peek(1) == "*" {
                    let start = here
                    let from = i
                    advance()
                    advance()
                    var closed = false
                    while let d = peek() {
                        if d == "*" && peek(1) == "/" {
                            advance()
                            advance()
                            closed = true
                            break
                        }
                        advance()
                    }
                    guard closed else { throw error(start, "unterminated comment") }
                    var text = ""
                    text.unicodeScalars.append(contentsOf: scalars[from..<i])
                    if text.hasPrefix("/**") && text != "/**/" { doc = text }
                } else {
                    break
                }
            }
            let start = here
            guard let c = peek() else {
                tokens.append(Token(kind: .end, text: "", location: start, endLocation: start, doc: nil))
                return tokens
            }
            var kind: Token.Kind
            var text = ""
            if Self.isIdentStart(c) {
                kind = .identifier
                while let d = peek(), Self.isIdent(d) {
                    text.unicodeScalars.append(d)
                    advance()
                }
            } else if Self.isDigit(c) || (c == "." && peek(1).map(Self.isDigit) == true) {
                kind = .integer
                if c == "0" && (peek(1) == "x" || peek(1) == "X") {
                    text += "0x"
                    advance()
                    advance()
                    while let d = peek(), Self.isIdent(d) {
                        text.unicodeScalars.append(d)
                        advance()
                    }
                } else {
                    while let d = peek() {
                        if Self.isIdent(d) {
                            if d == "e" || d == "E" { kind = .float }
                            text.unicodeScalars.append(d)
                            advance()
                            if (d == "e" || d == "E"), let s = peek(), s == "+" || s == "-" {
                                text.unicodeScalars.append(s)
                                advance()
                            }
                        } else if d == "." && kind == .integer {
                            kind = .float
                            text.unicodeScalars.append(d)
                            advance()
                        } else {
                            break
                        }
                    }
                    if text.hasSuffix("f") || text.hasSuffix("F") || text.hasSuffix("d") || text.hasSuffix("D") {
                        if text.contains(".") || text.contains("e") || text.contains("E") { kind = .float }
                    }
                }
            } else if c == "\"" || c == "'" {
                kind = c == "\"" ? .string : .character
                advance()
                var closed = false
                while let d = peek(), d != "\n" {
                    advance()
                    if d == c {
                        closed = true
                        break
                    }
                    if d == "\\", let e = peek(), e != "\n" {
                        advance()
                        switch e {
                        case "n": text += "\n"
                        case "t": text += "\t"
                        case "r": text += "\r"
                        case "0": text += "\0"
                        default: text.unicodeScalars.append(e)
                        }
                    } else {
                        text.unicodeScalars.append(d)
                    }
                }
                guard closed else {
                    throw error(start, kind == .string ? "unterminated string literal" : "unterminated character literal")
                }
            } else {
                kind = .symbol
                var two = String(c)
                if let d = peek(1) { two.unicodeScalars.append(d) }
                if Self.twoCharSymbols.contains(two) {
                    text = two
                    advance()
                    advance()
                } else if Self.oneCharSymbols.contains(c) {
                    text = String(c)
                    advance()
                } else {
                    let shown = c.isASCII && c.value >= 0x20 ? "'\(c)'" : "U+\(String(c.value, radix: 16, uppercase: true))"
                    throw error(start, "unexpected character \(shown)")
                }
            }
            tokens.append(Token(kind: kind, text: text, location: start, endLocation: here, doc: doc))
            doc = nil
        }
    }
}
