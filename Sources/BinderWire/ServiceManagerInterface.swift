/// The service manager's interface (`Protocols/binder/IServiceManager.aidl`): the broker's object
/// at handle 0. Replies are AIDL-style: an exception header (`writeNoException`), then the result.
public enum ServiceManagerCode: UInt32, Sendable, CaseIterable {
    case getService = 1
    case checkService = 2
    case addService = 3
    case listServices = 4
    case registerForNotifications = 5
    case unregisterForNotifications = 6
    case waitForService = 7
    case getStatus = 8
    /// `String requestChannel(IBinder target)`: makes a channel to the process that owns `target`;
    /// returns the name of the caller's end (the target's listener is told the name of its end).
    case requestChannel = 9
    /// `ChannelEnd claimChannel(String name)`: the end's fd plus who is at the other end.
    case claimChannel = 10
    /// `void registerChannelListener(IChannelListener listener)`: where this process hears of
    /// channels other processes request to its objects (one per connection; a new one replaces it).
    case registerChannelListener = 11
    /// `void linkToDeath(IBinder target, IDeathRecipient recipient, long cookie)`: the broker calls
    /// `recipient.binderDied(cookie)` once when `target`'s owner goes (WIRE.md §7.6).
    case linkToDeath = 12
    /// `void unlinkToDeath(IBinder target, IDeathRecipient recipient, long cookie)`.
    case unlinkToDeath = 13
    // Containers (WIRE.md §7.7). Management calls (14–18, 21) are for root-container callers of the
    // broker's uid or uid 0; others get EX_SECURITY.
    /// `ContainerInfo createContainer(int id, String name)`: new namespaces, an endpoint, PID 1.
    case createContainer = 14
    /// `void stopContainer(int id)`: kills its processes; replies once they are gone and cleaned up.
    case stopContainer = 15
    /// `ContainerInfo[] listContainers()`
    case listContainers = 16
    /// `void setForegroundContainer(int id)` (0: the root)
    case setForegroundContainer = 17
    /// `int getForegroundContainer()`
    case getForegroundContainer = 18
    /// `IBinder getServiceInContainer(String name, int container)`: look-up in another container's
    /// names, subject to the policy (PERMISSION_DENIED when it forbids).
    case getServiceInContainer = 19
    /// `String[] listServicesInContainer(int container)`
    case listServicesInContainer = 20
    /// `void addExportedService(String name, IBinder service)`: a root service every container sees.
    case addExportedService = 21
    /// `requestChannel` and the claim of the caller's own end in one call (WIRE.md §7.4).
    case openChannel = 22
    /// `void registerChannelReceiver(IChannelListener listener)`: `registerChannelListener`, but
    /// the broker claims this process's ends on its behalf and delivers them (`onChannelOpened`).
    case registerChannelReceiver = 23
}

/// `IDeathRecipient` (`Protocols/binder/IDeathRecipient.aidl`), which the broker calls one-way.
public enum DeathRecipientCode: UInt32, Sendable {
    /// `oneway void binderDied(long cookie)`
    case binderDied = 1
}

public enum ServiceManagerInterface {
    /// The well-known handle of the service manager in every process.
    public static let handle: UInt32 = 0
    public static let descriptor = "binder.IServiceManager"
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
/// in `reserved` are the broker's alone: a process that sends one gets `PERMISSION_DENIED`.
public enum BrokerNotice: UInt32, Sendable {
    /// '_BPL'
    case proxyLoaded = 0x5F42_504C
    /// '_BPU'
    case proxyUnloaded = 0x5F42_5055
    public static let reserved: ClosedRange<UInt32> = 0x5F42_0000...0x5F42_FFFF
}

/// `IServiceCallback` (`Protocols/binder/IServiceCallback.aidl`), which the broker calls one-way.
public enum ServiceCallbackCode: UInt32, Sendable {
    /// `oneway void onRegistration(String name, IBinder binder)`
    case onRegistration = 1
}

/// `IChannelListener` (`Protocols/binder/IChannelListener.aidl`), which the broker calls one-way.
public enum ChannelListenerCode: UInt32, Sendable {
    /// `oneway void onChannelRequested(String endName, int pid, int uid, int container, long cookie)`:
    /// a process (identity as the broker stamped it) wants a channel to the object `cookie`.
    case onChannelRequested = 1
    /// `oneway void onChannelOpened(String endName, ParcelFileDescriptor end, ChannelEnd info)`:
    /// the same, to a receiver (`registerChannelReceiver`): its end, claimed on its behalf.
    case onChannelOpened = 2
}

/// The reply of `claimChannel`: the claimed end and who is at the other end.
public struct ChannelEnd: Sendable, Equatable {
    /// The peer's identity, as the broker recorded it at accept.
    public var peerPID: Int32
    public var peerUID: UInt32
    public var peerContainer: UInt32
    /// The owner's cookie of the target object (the `target` of frames sent on the channel).
    public var cookie: UInt64
    /// The largest frame the peer accepts, and the most fds.
    public var peerMaxFrameSize: UInt32
    public var peerMaxFDs: UInt32
    public init(peerPID: Int32 = 0, peerUID: UInt32 = 0, peerContainer: UInt32 = 0, cookie: UInt64 = 0, peerMaxFrameSize: UInt32 = 0, peerMaxFDs: UInt32 = 0) {
        self.peerPID = peerPID
        self.peerUID = peerUID
        self.peerContainer = peerContainer
        self.cookie = cookie
        self.peerMaxFrameSize = peerMaxFrameSize
        self.peerMaxFDs = peerMaxFDs
    }

    /// After the fd slot: the fields in declaration order, as a parcelable.
    public func write(to p: inout Parcel) {
        p.writeParcelable { p in
            p.write(peerPID)
            p.write(peerUID)
            p.write(peerContainer)
            p.write(cookie)
            p.write(peerMaxFrameSize)
            p.write(peerMaxFDs)
        }
    }

    public static func read(from p: inout Parcel) throws(StatusCode) -> ChannelEnd {
        try p.readParcelable { p throws(StatusCode) in
            ChannelEnd(
                peerPID: try p.read(), peerUID: try p.read(), peerContainer: try p.read(), cookie: try p.read(),
                peerMaxFrameSize: try p.read(), peerMaxFDs: try p.read())
        }
    }
}

/// What `binder status` shows: the `BrokerStatus` parcelable of `getStatus`.
public struct BrokerStatus: Equatable, Sendable {
    public struct Connection: Equatable, Sendable {
        public var id: UInt32
        public var pid: Int32
        public var uid: UInt32
        public var gid: UInt32
        public var container: UInt32
        public var handles: UInt32
        public var objects: UInt32
        public var transactionsSent: UInt64
        public var transactionsReceived: UInt64
        /// Pool threads the process runs (as it reported) and the most it will start.
        public var threads: UInt32 = 0
        public var maxThreads: UInt32 = 0
        /// Routed two-way calls it is serving (nested ones not counted).
        public var busy: UInt32 = 0
        /// Bytes of its incoming buffer in use, and the one-way part (WIRE.md §5.1).
        public var bufferUsed: UInt32 = 0
        public var oneWayBufferUsed: UInt32 = 0
        public init(id: UInt32, pid: Int32, uid: UInt32, gid: UInt32, container: UInt32, handles: UInt32, objects: UInt32, transactionsSent: UInt64, transactionsReceived: UInt64) {
            self.id = id
            self.pid = pid
            self.uid = uid
            self.gid = gid
            self.container = container
            self.handles = handles
            self.objects = objects
            self.transactionsSent = transactionsSent
            self.transactionsReceived = transactionsReceived
        }
    }
    public struct Service: Equatable, Sendable {
        public var name: String
        public var connection: UInt32
        public var pid: Int32
        public var uid: UInt32
        public var container: UInt32
        /// A root service visible in every container.
        public var exported: Bool
        public init(name: String, connection: UInt32, pid: Int32, uid: UInt32, container: UInt32, exported: Bool = false) {
            self.name = name
            self.connection = connection
            self.pid = pid
            self.uid = uid
            self.container = container
            self.exported = exported
        }
    }
    public var brokerPID: Int32
    public var uptimeMillis: UInt64
    public var transactions: UInt64
    public var oneWay: UInt64
    public var replies: UInt64
    public var deadObjectReplies: UInt64
    public var malformedDisconnects: UInt64
    public var pendingTransactions: UInt32
    public var connections: [Connection]
    public var services: [Service]
    /// Unclaimed entries of the named-fd registry.
    public var channelEnds: [RegistryEntry]
    public var channelsCreated: UInt64
    public var channelEndsClaimed: UInt64
    public var channelEndsExpired: UInt64
    /// Running containers, and which one is in the foreground (0: the root).
    public var containers: [ContainerInfo]
    public var foregroundContainer: UInt32
    /// Transactions refused because the receiver's incoming buffer was full (WIRE.md §5.1).
    public var bufferRefusals: UInt64 = 0
    /// RELEASED notices sent: objects whose last remote reference went (WIRE.md §4.4).
    public var objectsReleased: UInt64 = 0
    /// Containers' proxies of exported root services that are loaded now (WIRE.md §7.7).
    public var proxies: [LoadedProxy] = []

    public struct LoadedProxy: Equatable, Sendable {
        public var container: UInt32
        public var service: String
        /// Handles to the proxy (in the container's processes).
        public var holders: UInt32
        public init(container: UInt32, service: String, holders: UInt32) {
            self.container = container
            self.service = service
            self.holders = holders
        }
    }

    /// One unclaimed channel end.
    public struct RegistryEntry: Equatable, Sendable {
        public var name: String
        /// The connection (and its pid) the end was made for: only it may claim the end.
        public var connection: UInt32
        public var pid: Int32
        /// The pid at the other end.
        public var peerPID: Int32
        public var expiresInMillis: UInt64
        public init(name: String, connection: UInt32, pid: Int32, peerPID: Int32, expiresInMillis: UInt64) {
            self.name = name
            self.connection = connection
            self.pid = pid
            self.peerPID = peerPID
            self.expiresInMillis = expiresInMillis
        }
    }

    public init(brokerPID: Int32, uptimeMillis: UInt64, transactions: UInt64, oneWay: UInt64, replies: UInt64, deadObjectReplies: UInt64, malformedDisconnects: UInt64, pendingTransactions: UInt32, connections: [Connection], services: [Service], channelEnds: [RegistryEntry] = [], channelsCreated: UInt64 = 0, channelEndsClaimed: UInt64 = 0, channelEndsExpired: UInt64 = 0, containers: [ContainerInfo] = [], foregroundContainer: UInt32 = 0, bufferRefusals: UInt64 = 0, objectsReleased: UInt64 = 0, proxies: [LoadedProxy] = []) {
        self.proxies = proxies
        self.objectsReleased = objectsReleased
        self.containers = containers
        self.foregroundContainer = foregroundContainer
        self.bufferRefusals = bufferRefusals
        self.channelEnds = channelEnds
        self.channelsCreated = channelsCreated
        self.channelEndsClaimed = channelEndsClaimed
        self.channelEndsExpired = channelEndsExpired
        self.brokerPID = brokerPID
        self.uptimeMillis = uptimeMillis
        self.transactions = transactions
        self.oneWay = oneWay
        self.replies = replies
        self.deadObjectReplies = deadObjectReplies
        self.malformedDisconnects = malformedDisconnects
        self.pendingTransactions = pendingTransactions
        self.connections = connections
        self.services = services
    }

    public func write(to p: inout Parcel) {
        p.writeParcelable { p in
            p.write(brokerPID)
            p.write(uptimeMillis)
            p.write(transactions)
            p.write(oneWay)
            p.write(replies)
            p.write(deadObjectReplies)
            p.write(malformedDisconnects)
            p.write(pendingTransactions)
            p.write(array: connections) { p, c in
                p.writeParcelable { p in
                    p.write(c.id)
                    p.write(c.pid)
                    p.write(c.uid)
                    p.write(c.gid)
                    p.write(c.container)
                    p.write(c.handles)
                    p.write(c.objects)
                    p.write(c.transactionsSent)
                    p.write(c.transactionsReceived)
                    p.write(c.threads)
                    p.write(c.maxThreads)
                    p.write(c.busy)
                    p.write(c.bufferUsed)
                    p.write(c.oneWayBufferUsed)
                }
            }
            p.write(array: services) { p, s in
                p.writeParcelable { p in
                    p.write(s.name)
                    p.write(s.connection)
                    p.write(s.pid)
                    p.write(s.uid)
                    p.write(s.container)
                    p.write(s.exported)
                }
            }
            p.write(array: channelEnds) { p, e in
                p.writeParcelable { p in
                    p.write(e.name)
                    p.write(e.connection)
                    p.write(e.pid)
                    p.write(e.peerPID)
                    p.write(e.expiresInMillis)
                }
            }
            p.write(channelsCreated)
            p.write(channelEndsClaimed)
            p.write(channelEndsExpired)
            p.write(array: containers) { p, c in c.write(to: &p) }
            p.write(foregroundContainer)
            p.write(bufferRefusals)
            p.write(objectsReleased)
            p.write(array: proxies) { p, x in
                p.writeParcelable { p in
                    p.write(x.container)
                    p.write(x.service)
                    p.write(x.holders)
                }
            }
        }
    }

    public static func read(from p: inout Parcel) throws(StatusCode) -> BrokerStatus {
        try p.readParcelable { p throws(StatusCode) in
            var status = BrokerStatus(
                brokerPID: try p.read(), uptimeMillis: try p.read(), transactions: try p.read(), oneWay: try p.read(),
                replies: try p.read(), deadObjectReplies: try p.read(), malformedDisconnects: try p.read(),
                pendingTransactions: try p.read(),
                connections: try p.readArray { p throws(StatusCode) in
                    try p.readParcelable { p throws(StatusCode) in
                        var c = Connection(
                            id: try p.read(), pid: try p.read(), uid: try p.read(), gid: try p.read(), container: try p.read(),
                            handles: try p.read(), objects: try p.read(), transactionsSent: try p.read(),
                            transactionsReceived: try p.read())
                        (c.threads, c.maxThreads, c.busy) = (try p.read(), try p.read(), try p.read())
                        (c.bufferUsed, c.oneWayBufferUsed) = (try p.read(), try p.read())
                        return c
                    }
                } ?? [],
                services: try p.readArray { p throws(StatusCode) in
                    try p.readParcelable { p throws(StatusCode) in
                        Service(
                            name: try p.readNonNullString(), connection: try p.read(), pid: try p.read(), uid: try p.read(),
                            container: try p.read(), exported: try p.readBool())
                    }
                } ?? [],
                channelEnds: try p.readArray { p throws(StatusCode) in
                    try p.readParcelable { p throws(StatusCode) in
                        RegistryEntry(name: try p.readNonNullString(), connection: try p.read(), pid: try p.read(), peerPID: try p.read(), expiresInMillis: try p.read())
                    }
                } ?? [],
                channelsCreated: try p.read(), channelEndsClaimed: try p.read(), channelEndsExpired: try p.read())
            status.containers = try p.readArray { p throws(StatusCode) in try ContainerInfo.read(from: &p) } ?? []
            status.foregroundContainer = try p.read()
            status.bufferRefusals = try p.read()
            status.objectsReleased = try p.read()
            status.proxies = try p.readArray { p throws(StatusCode) in
                try p.readParcelable { p throws(StatusCode) in
                    LoadedProxy(container: try p.read(), service: try p.readNonNullString(), holders: try p.read())
                }
            } ?? []
            return status
        }
    }
}

/// A container as the broker sees it (`listContainers`, `createContainer`, `binder status`).
public struct ContainerInfo: Sendable, Equatable {
    /// The container ID: 1…`maxID` (0 is the root, which is not listed).
    public var id: UInt32
    /// Its hostname.
    public var name: String
    /// PID 1 of the container, in the broker's PID namespace.
    public var initPID: Int32
    /// The inode of its network namespace (as `ls -iL /proc/PID/ns/net` shows).
    public var networkNamespace: UInt64
    /// Its endpoint (binder.sock) on the host; inside the container it is /run/binder/binder.sock.
    public var endpoint: String
    public var foreground: Bool
    /// Connections from inside it, and services registered in it.
    public var connections: UInt32
    public var services: UInt32

    public static let maxID: UInt32 = 4096
    /// The IDs a child container may have (0 is the root).
    public static let childIDs: ClosedRange<UInt32> = 1...maxID
    /// Hostnames: 1–63 characters of [A-Za-z0-9-], not starting or ending with '-'.
    public static func isValidName(_ name: String) -> Bool {
        let utf8 = name.utf8
        guard (1...63).contains(utf8.count), utf8.first != 0x2D, utf8.last != 0x2D else { return false }
        return utf8.allSatisfy { c in ServiceManagerInterface.isAlphanumeric(c) || c == 0x2D }
    }

    public init(id: UInt32, name: String, initPID: Int32, networkNamespace: UInt64, endpoint: String, foreground: Bool = false, connections: UInt32 = 0, services: UInt32 = 0) {
        self.id = id
        self.name = name
        self.initPID = initPID
        self.networkNamespace = networkNamespace
        self.endpoint = endpoint
        self.foreground = foreground
        self.connections = connections
        self.services = services
    }

    public func write(to p: inout Parcel) {
        p.writeParcelable { p in
            p.write(id)
            p.write(name)
            p.write(initPID)
            p.write(networkNamespace)
            p.write(endpoint)
            p.write(foreground)
            p.write(connections)
            p.write(services)
        }
    }

    public static func read(from p: inout Parcel) throws(StatusCode) -> ContainerInfo {
        try p.readParcelable { p throws(StatusCode) in
            ContainerInfo(
                id: try p.read(), name: try p.readNonNullString(), initPID: try p.read(), networkNamespace: try p.read(),
                endpoint: try p.readNonNullString(), foreground: try p.readBool(), connections: try p.read(), services: try p.read())
        }
    }
}
