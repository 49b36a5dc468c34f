package binder;

import binder.BrokerStatus;
import binder.ContainerInfo;
import binder.IDeathRecipient;
import binder.IServiceCallback;

/**
 * The service manager: the broker's own object, at handle 0 in every process.
 * Its codes and parcelables are generated into BinderWire (Sources/BinderWire/Generated), which
 * the broker links; the broker serves it by hand over those (Sources/BinderBrokerCore/ServiceManagerCalls.swift),
 * and clients call it through the generated IServiceManager.Proxy (Sources/Binder/Generated).
 * Wire details: Protocols/WIRE.md §7.
 *
 * No interface token (@SwiftNoInterfaceToken): the broker's wire (WIRE.md §7, golden vectors in
 * §9) predates it, and look-ups are on every client's start-up path.
 */
@SwiftNoInterfaceToken
interface IServiceManager {
    /** The service registered as `name`, or null. Never waits. */
    @nullable IBinder getService(@utf8InCpp String name);

    /** Same as getService (kept for Binder's API shape). */
    @nullable IBinder checkService(@utf8InCpp String name);

    /**
     * Registers `service` as `name` (1–127 of [A-Za-z0-9_./-]). A name held by one uid cannot be
     * taken by another (EX_SECURITY); it is released when the owning process disconnects.
     */
    void addService(@utf8InCpp String name, IBinder service);

    /** Registered names, sorted. */
    @utf8InCpp String[] listServices();

    /** Calls `callback.onRegistration` now if `name` is registered, and on every registration after. */
    void registerForNotifications(@utf8InCpp String name, IServiceCallback callback);

    void unregisterForNotifications(@utf8InCpp String name, IServiceCallback callback);

    /**
     * Waits in the broker until `name` registers, or `timeoutMillis` passes (null then).
     * A negative timeout waits as long as the caller stays connected.
     */
    @nullable IBinder waitForService(@utf8InCpp String name, long timeoutMillis);

    /** What `binder status` shows. */
    BrokerStatus getStatus();

    /**
     * The named-fd registry (WIRE.md §7.4): makes a socket pair to the process that owns `target`,
     * files both ends, and returns the name of the caller's end; the owner's channel listener is
     * told the name of its end.
     */
    @utf8InCpp String requestChannel(IBinder target);

    /**
     * Claims a channel end made for the calling connection: returns its fd, and in `end` who is
     * at the other end. Anyone else gets PERMISSION_DENIED; a claimed or expired end EX_ILLEGAL_STATE.
     */
    ParcelFileDescriptor claimChannel(@utf8InCpp String name, out ChannelEnd end);

    /** Where this process hears of channels requested to its objects (one per connection). */
    void registerChannelListener(IChannelListener listener);

    /**
     * Asks to be told, through `recipient` (the caller's own object), when `target` (a handle the
     * caller holds) dies. Status DEAD_OBJECT when it is dead already.
     */
    void linkToDeath(IBinder target, IDeathRecipient recipient, long cookie);

    /**
     * Undoes linkToDeath for the same (target, recipient, cookie). Status DEAD_OBJECT when the
     * target has died (its notification was sent); EX_ILLEGAL_STATE when no such link exists.
     */
    void unlinkToDeath(IBinder target, IDeathRecipient recipient, long cookie);

    // Containers (WIRE.md §7.7). 14–18 and 21 are for callers in the root container with the
    // broker's uid or uid 0; anyone else gets EX_SECURITY.

    /**
     * Starts container `id` (1–4096): new mount, UTS (hostname `name`), IPC, network and PID
     * namespaces, PID 1 binder-init, and an endpoint seen inside as /run/binder/binder.sock.
     * EX_ILLEGAL_ARGUMENT for a bad ID or name, EX_ILLEGAL_STATE when the ID is taken.
     */
    ContainerInfo createContainer(int id, @utf8InCpp String name);

    /**
     * Kills every process of container `id`, closes its connections (its services go, death
     * notifications are sent) and removes its endpoint. Replies once all of that is done.
     */
    void stopContainer(int id);

    /** Running containers, by ID. */
    ContainerInfo[] listContainers();

    /** Which container is in the foreground (netd routes unmatched inbound traffic there); 0 is the root. */
    void setForegroundContainer(int id);

    int getForegroundContainer();

    /**
     * `name` as registered in container `container`. The root reaches every container; a child
     * reaches its own names, the root's exported ones, and others only where the policy allows
     * (PERMISSION_DENIED otherwise). EX_ILLEGAL_ARGUMENT for a container that does not exist.
     */
    @nullable IBinder getServiceInContainer(@utf8InCpp String name, int container);

    /** The names getServiceInContainer would find in `container`, sorted. */
    @utf8InCpp String[] listServicesInContainer(int container);

    /** Registers a root service every container sees (a system service). Root container only. */
    void addExportedService(@utf8InCpp String name, IBinder service);

    /**
     * requestChannel and claimChannel of the caller's own end in one call (WIRE.md §7.4): makes
     * the pair, files both ends, tells the owner's channel listener the name of its end, and
     * returns the caller's end at once (it is filed and claimed in the same step). Errors as
     * requestChannel's.
     */
    ParcelFileDescriptor openChannel(IBinder target, out ChannelEnd end);

    /**
     * registerChannelListener, but the broker claims each end made for this process on its behalf
     * and delivers it with IChannelListener.onChannelOpened (fd and ChannelEnd) instead of naming
     * it with onChannelRequested (WIRE.md §7.4): one broker round trip less per channel. The
     * listener must accept fds and the connection must allow at least one per frame.
     */
    void registerChannelReceiver(IChannelListener listener);

    /**
     * Resuming a session after a broker restart (WIRE.md §2.1): waitForService(name, timeoutMillis),
     * but the reference is delivered at `handle`, the handle this process held for `name` from the
     * broker before, so that its proxies keep working. Null on time-out. ILLEGAL_STATE when
     * `handle` is not one the session kept (at or above its hello's firstHandle), is taken, or the
     * object has another handle here already.
     */
    @nullable IBinder resumeService(@utf8InCpp String name, int handle, long timeoutMillis);
}
