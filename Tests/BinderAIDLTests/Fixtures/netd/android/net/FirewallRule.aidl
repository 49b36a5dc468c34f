/* Test fixture for binder-aidl: netd has no union, so this one adds one to the mix. */
package android.net;

import android.net.UidRangeParcel;

/** What a firewall rule matches. */
union FirewallRule {
    /** Match one uid. */
    int uid;
    UidRangeParcel uidRange;
    @utf8InCpp String interfaceName;
    @nullable byte[] cgroupPath;
}
