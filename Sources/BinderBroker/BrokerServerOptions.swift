import BinderBrokerCore
import BinderPlatform

extension BrokerServer {
    /// What binderd configures: where the broker's sockets and container files live, the core's
    /// settings, the receive buffers, and the PID 1 every container runs.
    public struct Options: Sendable {
        public var runtimeDirectory: String
        public var config = BrokerConfig()
        /// Receive buffers shared by all connections (a power of two).
        public var receiveBuffers = 128
        /// PID 1 of every container (the `binder-init` built next to binderd).
        public var initPath: String
        public init(runtimeDirectory: String) {
            self.runtimeDirectory = runtimeDirectory
            initPath = ProcessControl.executableDirectory() + "/binder-init"
        }
        public var socketPath: String { runtimeDirectory + "/binder.sock" }
        /// Per container: `containers/ID/binder.sock` (the directory is bound onto /run/binder
        /// inside), and `containers/ID.state` (what a restarted broker needs to adopt it).
        public var containersDirectory: String { runtimeDirectory + "/containers" }
        public func endpointDirectory(_ id: UInt32) -> String { containersDirectory + "/\(id)" }
        public func endpointPath(_ id: UInt32) -> String { endpointDirectory(id) + "/binder.sock" }
        public func statePath(_ id: UInt32) -> String { containersDirectory + "/\(id).state" }
    }
}
