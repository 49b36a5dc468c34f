/* Test fixture for binder-aidl (see MarkMaskParcel.aidl). */
package android.net;

/** How to start tethering. */
parcelable TetherConfigParcel {
    boolean usingLegacyDnsProxy;
    /** Pairs of start and end addresses. */
    @utf8InCpp String[] dhcpRanges;
}
