/* Test fixture for binder-aidl (see MarkMaskParcel.aidl). */
package android.net;

/** What `ifconfig` would print for one interface. */
parcelable InterfaceConfigurationParcel {
    @utf8InCpp String ifName;
    @utf8InCpp String hwAddr;
    @utf8InCpp String ipv4Addr;
    int prefixLength;
    /** "up", "running", "multicast", … */
    @utf8InCpp String[] flags;
}
