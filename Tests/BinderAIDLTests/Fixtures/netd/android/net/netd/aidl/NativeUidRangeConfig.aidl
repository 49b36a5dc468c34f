/* Test fixture for binder-aidl (see ../../MarkMaskParcel.aidl). A second package, imported. */
package android.net.netd.aidl;

import android.net.UidRangeParcel;

/** The uid ranges allowed on one network, with a priority. */
@JavaDerive(equals=true, toString=true)
@JavaOnlyImmutable
parcelable NativeUidRangeConfig {
    int netId;
    UidRangeParcel[] uidRanges;
    int subPriority;
}
