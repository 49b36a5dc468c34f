/// The handles one process holds to other processes' objects (WIRE.md §4.4): handle → node and
/// the references the broker delivered, and node → handle, so the same object always gets the same
/// handle. Handles count up from 1 (0 is the service manager) and are never reused, so a handle
/// used after it was released is `BAD_VALUE`, never another object.
struct HandleTable {
    struct Ref {
        let node: NodeID
        /// References delivered and not yet given back.
        var references: UInt64
    }

    /// What giving references back did.
    enum GiveBack {
        /// More than the handle holds, or no such handle: the process is malformed.
        case refused(held: UInt64)
        /// The handle still holds some.
        case kept
        /// The last one: the handle is gone for good.
        case gone(NodeID)
    }

    private var refs: [UInt32: Ref] = [:]
    private var byNode: [NodeID: UInt32] = [:]
    private var nextHandle: UInt32 = 1

    @inline(__always)
    subscript(handle: UInt32) -> Ref? { refs[handle] }

    var count: Int { refs.count }
    var isEmpty: Bool { refs.isEmpty }
    /// Every handle's reference (a closing connection lets go of them all).
    var all: Dictionary<UInt32, Ref>.Values { refs.values }

    /// One more reference to `node` delivered to this process: its handle, and whether the handle
    /// is new (then the object has one more holder).
    mutating func deliver(_ node: NodeID) -> (handle: UInt32, isNew: Bool) {
        if let h = byNode[node] {
            refs[h]!.references += 1
            return (h, false)
        }
        let h = nextHandle
        nextHandle += 1
        refs[h] = Ref(node: node, references: 1)
        byNode[node] = h
        return (h, true)
    }

    /// New handles start at `first` (a resumed session's runtime holds the ones below, WIRE.md
    /// §2.1); 0 and 1 change nothing. Before any handle is given.
    mutating func startAt(_ first: UInt32) {
        if refs.isEmpty && first > nextHandle { nextHandle = first }
    }

    /// A resumed session asks for `node` at the handle it held before the broker restarted
    /// (WIRE.md §7.1 `resumeService`): one reference delivered there. nil when the handle is taken
    /// by another object, is not below `first` handle of the session, or the node has another
    /// handle already.
    mutating func deliver(_ node: NodeID, at handle: UInt32) -> (handle: UInt32, isNew: Bool)? {
        if let h = byNode[node] {
            guard h == handle else { return nil }
            refs[h]!.references += 1
            return (h, false)
        }
        guard isResumable(handle) else { return nil }
        refs[handle] = Ref(node: node, references: 1)
        byNode[node] = handle
        return (handle, true)
    }

    /// Whether a resumed session may ask for `handle` (WIRE.md §2.1): one it kept (below the
    /// first new handle), and free.
    func isResumable(_ handle: UInt32) -> Bool { handle != 0 && handle < nextHandle && refs[handle] == nil }

    /// RELEASE: the process gives back `count` references to `handle`.
    mutating func giveBack(_ handle: UInt64, count: UInt64) -> GiveBack {
        guard handle <= UInt64(UInt32.max), let ref = refs[UInt32(handle)] else { return .refused(held: 0) }
        guard count > 0, count <= ref.references else { return .refused(held: ref.references) }
        let h = UInt32(handle)
        if count < ref.references {
            refs[h]!.references -= count
            return .kept
        }
        refs.removeValue(forKey: h)
        byNode.removeValue(forKey: ref.node)
        return .gone(ref.node)
    }
}
