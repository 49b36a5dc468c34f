/// One `.aidl` file's text, split into lines for diagnostics.
public struct SourceFile: Sendable {
    /// The path as given on the command line (or an import root + package path); diagnostics show it.
    public var path: String
    public var text: String

    public init(path: String, text: String) {
        self.path = path
        self.text = text
    }

    /// The 1-based line `n`, without its newline.
    func line(_ n: Int) -> String {
        var current = 1
        var start = text.startIndex
        for i in text.indices where text[i] == "\n" {
            if current == n { return String(text[start..<i]) }
            current += 1
            start = text.index(after: i)
        }
        return current == n ? String(text[start...]) : ""
    }
}

/// A position in a source file: 1-based line and column (columns count Unicode scalars).
public struct SourceLocation: Sendable, Equatable, CustomStringConvertible {
    public var path: String
    public var line: Int
    public var column: Int
    public init(path: String, line: Int, column: Int) {
        self.path = path
        self.line = line
        self.column = column
    }
    public var description: String { "\(path):\(line):\(column)" }
}

/// A compile error at a source position.
public struct Diagnostic: Error, Sendable, Equatable, CustomStringConvertible {
    public var location: SourceLocation
    public var message: String
    /// The offending source line, kept so the diagnostic renders without the file.
    public var sourceLine: String

    public init(_ location: SourceLocation, _ message: String, sourceLine: String = "") {
        self.location = location
        self.message = message
        self.sourceLine = sourceLine
    }

    /// `file:line:column: error: message`.
    public var description: String { "\(location): error: \(message)" }

    /// The header line, the source line and a caret under the column, as compilers print them.
    public var rendered: String {
        guard !sourceLine.isEmpty else { return description + "\n" }
        // Keep tabs so the caret lines up under the same characters.
        var caret = ""
        for (i, c) in sourceLine.unicodeScalars.enumerated() where i < location.column - 1 {
            caret.append(c == "\t" ? "\t" : " ")
        }
        let pad = max(0, location.column - 1 - sourceLine.unicodeScalars.count)
        caret += String(repeating: " ", count: pad) + "^"
        return "\(description)\n\(sourceLine)\n\(caret)\n"
    }
}

/// All the diagnostics of a failed compilation, in source order of discovery.
public struct CompileErrors: Error, Sendable, CustomStringConvertible {
    public var diagnostics: [Diagnostic]
    public init(_ diagnostics: [Diagnostic]) { self.diagnostics = diagnostics }
    public var description: String { diagnostics.map(\.rendered).joined() }
}
