import BinderWire

/// What this process holds through the broker (WIRE.md §4.4): handles, and its own objects when a
/// reference to one came back to it in a frame. For each, the references the broker delivered and
/// what holds them here: the received parcels not yet gone and, for a handle, its proxies. When the
/// last holder goes, the delivered references are given back with RELEASE; a handle is then gone
/// for good. Pure bookkeeping: the connection guards it and sends what it returns.
struct HeldReferences {
    enum Key: Hashable {
        case handle(UInt32)
        /// A cookie of this process's own object.
        case own(UInt64)
    }
    struct Entry: Equatable {
        var delivered: UInt64 = 0
        var holders: Int = 0
    }
    private(set) var entries: [Key: Entry] = [:]

    /// A received parcel brought `count` references to `key`; the parcel holds it.
    mutating func delivered(_ key: Key, count: UInt64) {
        entries[key, default: Entry()].delivered += count
        entries[key]!.holders += 1
    }

    /// A proxy holds `key`.
    mutating func hold(_ key: Key) {
        entries[key, default: Entry()].holders += 1
    }

    /// A new broker replaced the one that delivered these references (WIRE.md §2.1): it delivered
    /// none of them, so none is given back to it. The holders stay.
    mutating func brokerRestarted() {
        for key in entries.keys { entries[key]!.delivered = 0 }
    }

    /// The highest handle held (0: none).
    var highestHandle: UInt32 {
        entries.keys.reduce(0) { top, key in
            if case .handle(let h) = key { return max(top, h) }
            return top
        }
    }

    /// One holder of `key` went. Returns the references to give back when it was the last one and
    /// the broker delivered any (a handle this process made up itself has none to give back).
    mutating func drop(_ key: Key) -> UInt64? {
        guard var entry = entries[key] else { return nil }
        entry.holders -= 1
        if entry.holders > 0 {
            entries[key] = entry
            return nil
        }
        entries.removeValue(forKey: key)
        return entry.delivered > 0 ? entry.delivered : nil
    }
}
