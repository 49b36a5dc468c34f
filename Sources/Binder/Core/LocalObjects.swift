import BinderWire
import DequeModule

/// This process's published objects, by cookie, with what reference counting needs to know of
/// each (WIRE.md §4.3, §4.4). A value the connection keeps and uses with its lock held.
struct LocalObjectTable {
    final class Entry {
        let object: any BinderObject
        /// One-way calls to one object run one at a time, in order: whether one runs, and the rest.
        var oneWayBusy = false
        var oneWayQueue: Deque<ReceivedFrame> = []
        /// References to it sent to the broker and not yet counted by a RELEASED notice; `publish`
        /// calls not yet followed by a send. Either keeps it in the table.
        var outstanding: UInt64 = 0
        var unsent: UInt32 = 0
        init(_ object: any BinderObject) { self.object = object }
    }

    private var byCookie: [UInt64: Entry] = [:]
    private var cookies: [ObjectIdentifier: UInt64] = [:]
    private var nextCookie: UInt64 = 1

    subscript(cookie: UInt64) -> Entry? { byCookie[cookie] }

    /// Any one entry (a direct channel's serving end has exactly one).
    var first: (cookie: UInt64, entry: Entry)? { byCookie.first.map { ($0.key, $0.value) } }

    /// The cookie of `object`, published on first use; counts a reference not yet sent.
    mutating func publish(_ object: any BinderObject) -> UInt64 {
        if let c = cookies[ObjectIdentifier(object)] {
            byCookie[c]!.unsent += 1
            return c
        }
        let c = nextCookie
        nextCookie += 1
        cookies[ObjectIdentifier(object)] = c
        let entry = Entry(object)
        entry.unsent = 1
        byCookie[c] = entry
        return c
    }

    /// Serves `object` as `cookie` (a direct channel's serving end).
    mutating func bind(_ object: any BinderObject, cookie: UInt64) { byCookie[cookie] = Entry(object) }

    /// The parcel about to go to the broker carries these references.
    func sending(_ refs: [ObjectRef]) {
        for ref in refs where ref.kind == .local {
            guard let entry = byCookie[ref.id] else { continue }
            entry.outstanding += 1
            if entry.unsent > 0 { entry.unsent -= 1 }
        }
    }

    /// RELEASED for `cookie`, after `seen` references: the object it drops, if no reference to it
    /// is still on its way (sent after the broker's count, or published and not yet sent).
    mutating func released(_ cookie: UInt64, seen: UInt64) -> (any BinderObject)? {
        guard let entry = byCookie[cookie] else { return nil }
        entry.outstanding -= min(entry.outstanding, seen)
        guard entry.outstanding == 0, entry.unsent == 0 else { return nil }
        byCookie.removeValue(forKey: cookie)
        cookies.removeValue(forKey: ObjectIdentifier(entry.object))
        return entry.object
    }
}
