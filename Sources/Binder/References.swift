import BinderWire
import Synchronization

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
        guard handle != ServiceManagerInterface.handle else { return }
        heldReferences.withLock { $0.hold(.handle(handle)) }
    }

    /// RELEASE: this process no longer holds a handle (code 0), or a reference to its own object
    /// that came back to it (code 1).
    func sendRelease(_ key: HeldReferences.Key, references: UInt64) {
        let header = switch key {
        case .handle(let h): FrameHeader(command: .release, transactionID: references, target: UInt64(h), code: 0)
        case .own(let cookie): FrameHeader(command: .release, transactionID: references, target: cookie, code: 1)
        }
        try? transport.send(header, Parcel())
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
