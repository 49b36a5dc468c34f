/* Test fixture for binder-aidl (see MarkMaskParcel.aidl). */
package android.net;

@Backing(type="int")
enum NativeVpnType {
    /** Not a VPN. */
    SERVICE = 1,
    PLATFORM,
    LEGACY,
    OEM,
    /** The last value; keep it last. */
    MAX = OEM,
}
