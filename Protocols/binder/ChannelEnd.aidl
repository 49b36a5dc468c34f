package binder;

/**
 * The reply of IServiceManager.claimChannel after the fd: who is at the other end of a channel
 * (WIRE.md §7.4).
 */
parcelable ChannelEnd {
    /** The peer's identity, as the broker recorded it at accept. */
    int peerPID;
    @SwiftUnsigned int peerUID;
    @SwiftUnsigned int peerContainer;
    /** The owner's cookie of the target object (the `target` of frames sent on the channel). */
    @SwiftUnsigned long cookie;
    /** The largest frame the peer accepts, and the most fds. */
    @SwiftUnsigned int peerMaxFrameSize;
    @SwiftUnsigned int peerMaxFDs;
}
