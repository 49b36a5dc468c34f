/*
 * Test fixture for binder-aidl: written for this repository after the feature mix of AOSP's
 * system/netd binder interface (not a copy of it).
 */
package android.net;

/** A firewall mark and the bits of it that matter. */
@JavaDerive(toString=true)
parcelable MarkMaskParcel {
    /** The fwmark value. */
    int mark;
    /** Which bits of `mark` are significant. */
    int mask;
}
