import BinderWire

/// Settings of the state machine.
public struct BrokerConfig: Sendable {
    /// Largest frame the broker accepts and sends (header included).
    public var maxFrameSize: UInt32 = Limits.defaultMaxFrameSize
    public var maxFDs: UInt32 = Limits.defaultMaxFDs
    /// The broker's own identity, stamped on the transactions it originates (notifications).
    public var brokerPID: Int32 = 0
    public var brokerUID: UInt32 = 0
    /// How long an unclaimed channel end stays in the named-fd registry.
    public var channelTimeToLiveNanos: UInt64 = 10_000_000_000
    /// Which child containers may reach which others' services.
    public var policy = ContainerPolicy()
    /// Each process's incoming buffer (WIRE.md §5.1): bytes of routed transactions delivered to it
    /// and not yet finished. One-way calls may use half of it.
    public var incomingBufferBytes: UInt32 = 1 << 20
    public init() {}
}
