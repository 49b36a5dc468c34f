import BinderWire
import Synchronization

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

/// Hung on a received parcel (`Parcel.lifetime`): holds the references the parcel delivered until
/// the last copy of the parcel is gone.
final class ReferenceLease: Sendable {
    let connection: BinderConnection
    let keys: [HeldReferences.Key]
    init(connection: BinderConnection, keys: [HeldReferences.Key]) {
        self.connection = connection
        self.keys = keys
    }
    deinit { connection.dropReferences(keys) }
}

extension BinderConnection {
    func withHeldReferences<R>(_ body: (inout HeldReferences) -> R) -> R {
        heldReferences.withLock { body(&$0) }
    }

    /// A proxy for `handle` was made: it holds the handle until it goes.
    func holdHandle(_ handle: UInt32) {
        guard channel == nil, handle != ServiceManagerInterface.handle else { return }
        heldReferences.withLock { $0.hold(.handle(handle)) }
    }

    /// RELEASE: this process no longer holds a handle (code 0), or a reference to its own object
    /// that came back to it (code 1).
    func sendRelease(_ key: HeldReferences.Key, references: UInt64) {
        let header = switch key {
        case .handle(let h): FrameHeader(command: .release, transactionID: references, target: UInt64(h), code: 0)
        case .own(let cookie): FrameHeader(command: .release, transactionID: references, target: cookie, code: 1)
        }
        try? Self.sendFrame(fd: fd, header: header, parcel: Parcel())
    }

    /// Counts the references a frame from the broker delivered and hangs a lease on its parcel.
    func noteDeliveredReferences(in parcel: inout Parcel) {
        guard let refs = try? parcel.objectReferences() else { return }
        var counts: [HeldReferences.Key: UInt64] = [:]
        for ref in refs {
            switch ref.kind {
            case .handle where ref.id <= UInt64(UInt32.max): counts[.handle(UInt32(ref.id)), default: 0] += 1
            case .local: counts[.own(ref.id), default: 0] += 1
            default: break
            }
        }
        guard !counts.isEmpty else { return }
        withHeldReferences { table in
            for (key, count) in counts { table.delivered(key, count: count) }
        }
        parcel.lifetime = ReferenceLease(connection: self, keys: Array(counts.keys))
    }

    /// Holders of `keys` went: gives back the references of each left with none.
    func dropReferences(_ keys: [HeldReferences.Key]) {
        let releases = withHeldReferences { table in keys.compactMap { k in table.drop(k).map { (k, $0) } } }
        for (key, count) in releases { sendRelease(key, references: count) }
    }
}
