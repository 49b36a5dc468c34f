/* Test fixture for binder-aidl (see MarkMaskParcel.aidl). */
package android.net;

/** A forwarding rule handed to the hardware offload. */
parcelable TetherOffloadRuleParcel {
    int inputInterfaceIndex;
    int outputInterfaceIndex;
    /** The destination prefix, in network byte order. */
    byte[] destination;
    int prefixLength;
    byte[] srcL2Address;
    byte[] dstL2Address;
    int pmtu = 1500;
}
