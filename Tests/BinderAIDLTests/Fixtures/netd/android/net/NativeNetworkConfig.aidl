/* Test fixture for binder-aidl (see MarkMaskParcel.aidl). */
package android.net;

import android.net.NativeNetworkType;
import android.net.NativeVpnType;

/** Everything needed to create a network. */
@JavaDerive(equals=true, toString=true)
@JavaOnlyImmutable
parcelable NativeNetworkConfig {
    int netId;
    NativeNetworkType networkType = NativeNetworkType.PHYSICAL;
    /** One of INetd.PERMISSION_*. */
    int permission;
    boolean secure;
    NativeVpnType vpnType = NativeVpnType.PLATFORM;
    boolean excludeLocalRoutes = false;
}
