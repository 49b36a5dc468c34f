/// AOSP's rules on the names of method parameters: generated Java and C++ use the names as they
/// are, and every backend names its own locals `_aidl…`.
extension Resolver {
    /// Java's keywords and literals, as AOSP's `IsJavaKeyword`. The ones AIDL itself reserves
    /// (`interface`, `package`, …) are already refused by the parser.
    static let javaKeywords: Set<String> = [
        "abstract", "assert", "boolean", "break", "byte", "case", "catch", "char", "class", "const", "continue", "default",
        "do", "double", "else", "enum", "extends", "final", "finally", "float", "for", "goto", "if", "implements", "import",
        "instanceof", "int", "interface", "long", "native", "new", "package", "private", "protected", "public", "return",
        "short", "static", "strictfp", "super", "switch", "synchronized", "this", "throw", "throws", "transient", "try",
        "void", "volatile", "while", "true", "false", "null",
    ]

    func checkParameterName(_ p: Parameter) {
        if Self.javaKeywords.contains(p.name) {
            report(error(p.location, "parameter name '\(p.name)' is a Java keyword"))
        } else if p.name.hasPrefix("_aidl") {
            report(error(p.location, "parameter name '\(p.name)' starts with '_aidl', which is reserved for generated code"))
        }
    }
}
