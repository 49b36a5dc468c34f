/* Test fixture for binder-aidl (see MarkMaskParcel.aidl). */
package android.net;

@Backing(type="int")
enum NativeNetworkType {
    /** A network with a real interface. */
    PHYSICAL = 0,
    /** A VPN. */
    VIRTUAL = 1,
}
