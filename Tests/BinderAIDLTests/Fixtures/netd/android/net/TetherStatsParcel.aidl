/* Test fixture for binder-aidl (see MarkMaskParcel.aidl). */
package android.net;

/** Traffic counters of one upstream interface while tethering. */
@JavaDerive(toString=true)
parcelable TetherStatsParcel {
    @utf8InCpp String iface;
    long rxBytes;
    long rxPackets;
    long txBytes;
    long txPackets;
    /** The interface index, or 0 when unknown. */
    int ifIndex = 0;
}
