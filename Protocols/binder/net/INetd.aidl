package binder.net;

import binder.net.InboundRoute;
import binder.net.INetListener;
import binder.net.InterfaceInfo;
import binder.net.RouteInfo;
import binder.net.TrafficCounters;
import binder.net.TrafficRecord;

/**
 * netd, the network system service. It runs in the root namespace and is registered as the exported
 * service "netd": an app in a child container reaches it through its container's proxy, which the
 * broker loads on the container's first request, and every call is stamped with the caller's
 * container. Everything it reports is read from the kernel (rtnetlink).
 *
 * Changes are allowed from the root container, and from the child containers netd was started with
 * `--allow-changes CONTAINER`; others get a SECURITY exception.
 */
interface INetd {
    /** The host's interfaces, their addresses and counters. */
    InterfaceInfo[] getInterfaces();

    /** The host's main routing table. */
    RouteInfo[] getRoutes();

    void addAddress(String interfaceName, String address, int prefixLength);
    void removeAddress(String interfaceName, String address, int prefixLength);
    void setMtu(String interfaceName, int mtu);
    void setInterfaceUp(String interfaceName, boolean up);
    void addRoute(String destination, int prefixLength, @nullable String gateway, @nullable String interfaceName);
    void removeRoute(String destination, int prefixLength, @nullable String gateway, @nullable String interfaceName);

    /**
     * A socket made in the host's network namespace: `protocol` 17 (UDP) or 6 (TCP), `family` 4 or 6.
     * With a destination, netd connects it first (and records the connection). Its traffic leaves
     * with the host's real addresses.
     */
    ParcelFileDescriptor openSocket(int protocol, int family, @nullable String destination, int port);

    /** Sends one UDP datagram from the host for the caller; returns the bytes sent. */
    int sendDatagram(String destination, int port, in byte[] payload);

    /** Inbound datagrams for the caller's container go to `listener` (one per container: a new one replaces it). */
    void registerListener(INetListener listener);
    void unregisterListener();

    /** Inbound routing: datagrams from `remoteAddress` go to `container`; without an entry, to the foreground container. */
    void addInboundRoute(String remoteAddress, int container, boolean once);
    void removeInboundRoute(String remoteAddress);
    InboundRoute[] listInboundRoutes();

    /** Per-container counters: every container's for the root, the caller's own for a child. */
    TrafficCounters[] getCounters();

    /** The newest `max` traffic records (the caller's own for a child). */
    TrafficRecord[] getTraffic(int max);

    /** The containers whose netd proxy is loaded now. */
    int[] loadedContainers();

    /** The UDP ports netd receives inbound datagrams on. */
    int[] inboundPorts();
}
