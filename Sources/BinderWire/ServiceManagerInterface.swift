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
        return utf8.allSatisfy { c in
            (c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x5A) || (c >= 0x61 && c <= 0x7A)
                || c == 0x5F || c == 0x2E || c == 0x2F || c == 0x2D
        }
    }
}

/// `IServiceCallback` (`Protocols/binder/IServiceCallback.aidl`), which the broker calls one-way.
public enum ServiceCallbackCode: UInt32, Sendable {
    /// `oneway void onRegistration(String name, IBinder binder)`
    case onRegistration = 1
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
        public init(name: String, connection: UInt32, pid: Int32, uid: UInt32, container: UInt32) {
            self.name = name
            self.connection = connection
            self.pid = pid
            self.uid = uid
            self.container = container
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

    public init(brokerPID: Int32, uptimeMillis: UInt64, transactions: UInt64, oneWay: UInt64, replies: UInt64, deadObjectReplies: UInt64, malformedDisconnects: UInt64, pendingTransactions: UInt32, connections: [Connection], services: [Service]) {
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
                }
            }
            p.write(array: services) { p, s in
                p.writeParcelable { p in
                    p.write(s.name)
                    p.write(s.connection)
                    p.write(s.pid)
                    p.write(s.uid)
                    p.write(s.container)
                }
            }
        }
    }

    public static func read(from p: inout Parcel) throws(StatusCode) -> BrokerStatus {
        try p.readParcelable { p throws(StatusCode) in
            BrokerStatus(
                brokerPID: try p.read(), uptimeMillis: try p.read(), transactions: try p.read(), oneWay: try p.read(),
                replies: try p.read(), deadObjectReplies: try p.read(), malformedDisconnects: try p.read(),
                pendingTransactions: try p.read(),
                connections: try p.readArray { p throws(StatusCode) in
                    try p.readParcelable { p throws(StatusCode) in
                        Connection(
                            id: try p.read(), pid: try p.read(), uid: try p.read(), gid: try p.read(), container: try p.read(),
                            handles: try p.read(), objects: try p.read(), transactionsSent: try p.read(),
                            transactionsReceived: try p.read())
                    }
                } ?? [],
                services: try p.readArray { p throws(StatusCode) in
                    try p.readParcelable { p throws(StatusCode) in
                        Service(name: try p.readNonNullString(), connection: try p.read(), pid: try p.read(), uid: try p.read(), container: try p.read())
                    }
                } ?? [])
        }
    }
}
