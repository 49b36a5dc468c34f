/* Test fixture for binder-aidl (see MarkMaskParcel.aidl). */
package android.net;

/** One route: where to, through which interface, via which next hop. */
parcelable RouteInfoParcel {
    @utf8InCpp String destination;
    @utf8InCpp String ifName;
    /** An address, or one of INetd.NEXTHOP_*. */
    @utf8InCpp String nextHop;
    int mtu;
}
