package binder.net;

/** A container's listener for inbound traffic, registered with INetd.registerListener. */
interface INetListener {
    /** A datagram from `source`:`sourcePort` arrived at the host's port `localPort`. */
    oneway void onDatagram(String source, int sourcePort, int localPort, in byte[] payload);

    /** netd's proxy in `container` was unloaded (it left the foreground, or let go): this listener is dropped. */
    oneway void onUnloaded(int container);
}
