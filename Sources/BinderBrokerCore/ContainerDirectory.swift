import BinderWire

/// A running container, as the core tracks it (the event loop owns its endpoint and pidfd).
struct ContainerRecord {
    let id: UInt32
    let name: String
    let started: StartedContainer
    var stopping = false
    /// `stopContainer` callers, answered once the container has ended and is cleaned up.
    var stopWaiters: [(connection: ConnectionID, transactionID: UInt64)] = []
}

/// A container the event loop started: what the core records.
public struct StartedContainer: Sendable, Equatable {
    public var initPID: Int32
    public var networkNamespace: UInt64
    /// binder.sock on the host.
    public var endpoint: String
    public init(initPID: Int32, networkNamespace: UInt64, endpoint: String) {
        self.initPID = initPID
        self.networkNamespace = networkNamespace
        self.endpoint = endpoint
    }
}

/// Why a container could not be started, in one line.
public struct ContainerStartFailure: Error, Sendable, CustomStringConvertible {
    public var description: String
    public init(_ description: String) { self.description = description }
}

/// The containers the broker knows are running (started by it, or adopted from an earlier run)
/// and which one is in the foreground. Their endpoints and PID 1s are the event loop's; here is
/// what the service manager answers about them.
struct ContainerDirectory {
    private(set) var records: [UInt32: ContainerRecord] = [:]
    /// The container in the foreground (0: the root).
    var foreground: UInt32 = 0

    subscript(id: UInt32) -> ContainerRecord? { records[id] }

    /// By ID.
    var sorted: [ContainerRecord] { records.values.sorted { $0.id < $1.id } }

    mutating func add(_ record: ContainerRecord) { records[record.id] = record }

    /// Forgets an ended container; the foreground returns to the root if it was there.
    mutating func remove(_ id: UInt32) -> ContainerRecord? {
        guard let record = records.removeValue(forKey: id) else { return nil }
        if foreground == id { foreground = 0 }
        return record
    }

    /// `stopContainer`: `stopper` (nil for a one-way call) is answered once the container has
    /// ended. True for the first request, when the container is to be told to stop.
    mutating func stopRequested(_ id: UInt32, by stopper: (connection: ConnectionID, transactionID: UInt64)?) -> Bool {
        if let stopper { records[id]!.stopWaiters.append(stopper) }
        if records[id]!.stopping { return false }
        records[id]!.stopping = true
        return true
    }

    /// The container `raw` names, if it is 0 or a running container.
    func existing(_ raw: Int32) -> Result<UInt32, Refusal> {
        guard raw >= 0, UInt32(raw) <= ContainerInfo.maxID else {
            return .failure(.exception(ServiceError(.illegalArgument, "\(raw) is not a container ID (0…\(ContainerInfo.maxID))")))
        }
        let id = UInt32(raw)
        guard id == 0 || records[id] != nil else {
            return .failure(.exception(ServiceError(.illegalArgument, "no container \(id)")))
        }
        return .success(id)
    }

    /// The child container `raw` names, if it is running.
    func running(_ raw: Int32) -> UInt32? {
        guard raw >= 0, ContainerInfo.childIDs.contains(UInt32(raw)), records[UInt32(raw)] != nil else { return nil }
        return UInt32(raw)
    }
}
