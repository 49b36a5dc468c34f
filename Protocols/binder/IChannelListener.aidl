package binder;

/**
 * Hears of channels other processes request to this process's objects (WIRE.md §7.4).
 * Registered with IServiceManager.registerChannelListener (names) or registerChannelReceiver
 * (ends); the broker calls it, one-way.
 * No interface token: the broker's hand-written sender writes none (see IServiceManager).
 */
@SwiftNoInterfaceToken
oneway interface IChannelListener {
    /**
     * A process (identity as the broker recorded it) asked for a channel to the object `cookie`;
     * claim this process's end with IServiceManager.claimChannel(endName).
     */
    void onChannelRequested(@utf8InCpp String endName, int pid, int uid, int container, long cookie);

    /**
     * A process asked for a channel to one of this process's objects, and this process registered
     * with IServiceManager.registerChannelReceiver: the broker claimed this process's end
     * `endName` on its behalf and delivers it here, with who is at the other end (as the broker
     * recorded it) and the object's cookie in `info`.
     */
    void onChannelOpened(@utf8InCpp String endName, in ParcelFileDescriptor end, in ChannelEnd info);
}
