/// One process's own objects that the broker knows, by the cookie the process names them by: the
/// node each became, and the counts that decide when the broker tells the owner it may drop one
/// (RELEASED, WIRE.md §4.4; the rules are in References.swift).
struct OwnedObjects {
    struct Counts {
        /// Handles in other processes, service-manager entries, and deliveries back to the owner
        /// (one while any is outstanding) that hold it.
        var holders: UInt32 = 0
        /// References to it read from the owner since the last RELEASED.
        var seen: UInt64 = 0
        /// References to it delivered back to the owner and not given back.
        var delivered: UInt64 = 0
    }

    /// What letting go of an object did.
    enum LetGo {
        /// It has no holders: dead, or its owner already heard.
        case notHeld
        case stillHeld
        /// That was the last holder: its counts are forgotten; `seen` goes in the RELEASED notice.
        case unheld(seen: UInt64)
    }

    /// The node of each of its objects that has appeared in a frame.
    var nodes: [UInt64: NodeID] = [:]
    private(set) var counts: [UInt64: Counts] = [:]

    /// One more holder.
    mutating func hold(_ cookie: UInt64) { counts[cookie, default: Counts()].holders += 1 }

    /// `count` holders fewer.
    mutating func letGo(_ cookie: UInt64, count: UInt32) -> LetGo {
        guard let c = counts[cookie], c.holders > 0 else { return .notHeld }
        if c.holders > count {
            counts[cookie]!.holders -= count
            return .stillHeld
        }
        counts.removeValue(forKey: cookie)
        return .unheld(seen: c.seen)
    }

    /// The owner wrote a reference to it into a frame.
    mutating func seen(_ cookie: UInt64) { counts[cookie, default: Counts()].seen += 1 }

    /// A reference to it was delivered back to the owner: the first outstanding one holds it.
    mutating func deliveredToOwner(_ cookie: UInt64) {
        counts[cookie, default: Counts()].delivered += 1
        if counts[cookie]!.delivered == 1 { counts[cookie]!.holders += 1 }
    }

    /// References delivered back to the owner and not given back.
    func delivered(_ cookie: UInt64) -> UInt64 { counts[cookie]?.delivered ?? 0 }

    /// RELEASE (code 1): the owner gives back `count` of them (checked against `delivered`).
    mutating func givenBack(_ cookie: UInt64, count: UInt64) { counts[cookie]!.delivered -= count }
}
