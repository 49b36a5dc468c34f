/* Test fixture for binder-aidl (see MarkMaskParcel.aidl). */
package android.net;

/** Events netd reports on its own, one-way, to registered listeners. */
oneway interface INetdUnsolicitedEventListener {
    /** An interface went idle or active (`timerLabel` identifies it). */
    void onInterfaceClassActivityChanged(boolean isActive, int timerLabel, long timestampNs, int uid);

    /** A data quota named `alertName` ran out on `ifName`. */
    void onQuotaLimitReached(@utf8InCpp String alertName, @utf8InCpp String ifName);

    /** DNS servers from a router advertisement (RFC 8106). */
    void onInterfaceDnsServerInfo(@utf8InCpp String ifName, long lifetimeS, in @utf8InCpp String[] servers);

    void onInterfaceAddressUpdated(@utf8InCpp String addr, @utf8InCpp String ifName, int flags, int scope);

    void onInterfaceAddressRemoved(@utf8InCpp String addr, @utf8InCpp String ifName, int flags, int scope);

    void onInterfaceAdded(@utf8InCpp String ifName);

    void onInterfaceRemoved(@utf8InCpp String ifName);

    void onInterfaceChanged(@utf8InCpp String ifName, boolean up);

    void onInterfaceLinkStateChanged(@utf8InCpp String ifName, boolean up);

    /** A route was added (`updated`) or removed. `gateway` and `ifName` may be empty. */
    void onRouteChanged(boolean updated, @utf8InCpp String route, @utf8InCpp String gateway, @utf8InCpp String ifName);

    /** `uid` sent cleartext where it promised not to; `hex` is the start of the packet. */
    void onStrictCleartextDetected(int uid, @utf8InCpp String hex);
}
