package binder;

import binder.BrokerStatus;
import binder.IDeathRecipient;
import binder.IServiceCallback;

/**
 * The service manager: the broker's own object, at handle 0 in every process.
 * Served by hand in the broker (Sources/BinderBroker/ServiceManager.swift, codes in
 * Sources/BinderWire/ServiceManagerInterface.swift); clients call it through the generated
 * IServiceManager.Proxy (Sources/Binder/Generated). Wire details: Protocols/WIRE.md §7.
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
}
