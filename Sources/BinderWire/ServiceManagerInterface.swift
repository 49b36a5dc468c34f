/// The service manager (`Protocols/binder/IServiceManager.aidl`): the broker's object at handle 0.
/// Its descriptor, transaction codes and parcelables are generated from the AIDL into BinderWire
/// (Generated/: `IServiceManager.Code`, `ChannelEnd`, `BrokerStatus`, `ContainerInfo`), so the
/// broker, which links no runtime, and the clients share one definition. What AIDL cannot say is
/// here: the well-known handle and the name rules. Replies are AIDL-style: an exception header
/// (`writeNoException`), then the result.
public enum ServiceManagerInterface {
    /// The well-known handle of the service manager in every process.
    public static let handle: UInt32 = 0
    /// Service names: 1–127 characters of `[A-Za-z0-9_./-]`.
    public static let maxNameLength = 127

    public static func isValidName(_ name: String) -> Bool {
        let utf8 = name.utf8
        guard !utf8.isEmpty, utf8.count <= maxNameLength else { return false }
        return utf8.allSatisfy { c in isAlphanumeric(c) || c == 0x5F || c == 0x2E || c == 0x2F || c == 0x2D }
    }

    /// ASCII [A-Za-z0-9].
    static func isAlphanumeric(_ c: UInt8) -> Bool {
        (c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x5A) || (c >= 0x61 && c <= 0x7A)
    }
}

/// Notices the broker itself sends, one-way, to an exported root service's object (WIRE.md §7.7):
/// its per-container proxy was loaded (the container's first lookup) or unloaded (the container
/// left the foreground, stopped, or let go of its last reference). Parcel: u32 container ID. Codes
/// in `reserved` are the broker's alone: a process that sends one gets `PERMISSION_DENIED`. Not
/// AIDL: no interface declares them, every exported object receives them.
public enum BrokerNotice: UInt32, Sendable {
    /// '_BPL'
    case proxyLoaded = 0x5F42_504C
    /// '_BPU'
    case proxyUnloaded = 0x5F42_5055
    public static let reserved: ClosedRange<UInt32> = 0x5F42_0000...0x5F42_FFFF
}
