import BinderWire
import Synchronization

/// Told when an object's process dies: its connection to the broker closed (it exited, crashed or
/// was killed, or closed the connection). Binder's `IBinder.DeathRecipient`.
public protocol DeathRecipient: AnyObject, Sendable {
    /// Called once, on a pool thread, with the proxy `linkToDeath` was called on.
    func binderDied(_ who: BinderProxy)
}

extension BinderProxy {
    /// Asks to be told when this proxy's object dies (WIRE.md §7.6). Each call adds a link, so a
    /// recipient linked twice hears twice. After the death, calls on the proxy fail with
    /// `DEAD_OBJECT`.
    /// - Throws: `DEAD_OBJECT` when the object is dead already; `INVALID_OPERATION` for a
    ///   proxy to this process's own object (it cannot die while this process lives).
    public func linkToDeath(_ recipient: any DeathRecipient) throws {
        guard let handle else { throw StatusCode.invalidOperation }
        let table = connection.deathLinks
        let cookie = try table.add(handle: handle, recipient: recipient, proxy: self)
        do {
            try connection.serviceManager.proxy.linkToDeath(target: self, recipient: table, cookie: cookie)
        } catch {
            table.remove(cookie: cookie)
            throw error
        }
    }

    /// Undoes one `linkToDeath` of `recipient` on this proxy's object.
    /// - Throws: `DEAD_OBJECT` when the object has died (the notification was or is being
    ///   delivered); `NAME_NOT_FOUND` when `recipient` is not linked to it.
    public func unlinkToDeath(_ recipient: any DeathRecipient) throws {
        guard let handle else { throw StatusCode.invalidOperation }
        let table = connection.deathLinks
        let cookie = try table.take(handle: handle, recipient: recipient)
        try connection.serviceManager.proxy.unlinkToDeath(target: self, recipient: table, cookie: cookie)
    }
}

/// A connection's death links, and the `IDeathRecipient` object the broker calls for all of them:
/// one published object per connection, the cookie says which link fired.
final class DeathLinkTable: IDeathRecipient.Interface {
    private struct Link {
        let handle: UInt32
        let recipient: any DeathRecipient
        let proxy: BinderProxy
    }
    private struct State {
        var links: [Int64: Link] = [:]
        var nextCookie: Int64 = 1
        /// Handles whose object's death was announced: they never come back to life.
        var dead: Set<UInt32> = []
    }
    private let state = Mutex(State())

    /// Files a link before the broker hears of it, so a death that races the reply still finds it.
    func add(handle: UInt32, recipient: any DeathRecipient, proxy: BinderProxy) throws(StatusCode) -> Int64 {
        try state.withLock { (s) throws(StatusCode) -> Int64 in
            if s.dead.contains(handle) { throw .deadObject }
            let cookie = s.nextCookie
            s.nextCookie += 1
            s.links[cookie] = Link(handle: handle, recipient: recipient, proxy: proxy)
            return cookie
        }
    }

    func remove(cookie: Int64) { _ = state.withLock { $0.links.removeValue(forKey: cookie) } }

    /// Removes one link of `recipient` on `handle` and returns its cookie.
    func take(handle: UInt32, recipient: any DeathRecipient) throws(StatusCode) -> Int64 {
        try state.withLock { (s) throws(StatusCode) -> Int64 in
            guard let (cookie, _) = s.links.first(where: { $0.value.handle == handle && $0.value.recipient === recipient }) else {
                throw s.dead.contains(handle) ? .deadObject : .nameNotFound
            }
            s.links.removeValue(forKey: cookie)
            return cookie
        }
    }

    func binderDied(cookie: Int64) throws {
        let link: Link? = state.withLock { s in
            guard let link = s.links.removeValue(forKey: cookie) else { return nil }
            s.dead.insert(link.handle)
            return link
        }
        guard let link else { return }  // unlinked meanwhile
        link.recipient.binderDied(link.proxy)
    }
}
