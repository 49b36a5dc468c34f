/// What the generated `ContainerInfo` (Protocols/binder/ContainerInfo.aidl) cannot declare: the
/// range of container IDs and the hostname rule, which the broker enforces and the CLI checks
/// before it asks.
extension ContainerInfo {
    public static let maxID: UInt32 = 4096
    /// The IDs a child container may have (0 is the root).
    public static let childIDs: ClosedRange<UInt32> = 1...maxID

    /// Hostnames: 1–63 characters of [A-Za-z0-9-], not starting or ending with '-'.
    public static func isValidName(_ name: String) -> Bool {
        let utf8 = name.utf8
        guard (1...63).contains(utf8.count), utf8.first != 0x2D, utf8.last != 0x2D else { return false }
        return utf8.allSatisfy { c in ServiceManagerInterface.isAlphanumeric(c) || c == 0x2D }
    }
}
