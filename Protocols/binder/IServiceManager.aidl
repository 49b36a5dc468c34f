package binder;

import binder.BrokerStatus;
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
}
