/* Test fixture for binder-aidl (see MarkMaskParcel.aidl). */
package android.net;

/** An inclusive range of uids. */
@JavaDerive(equals=true, toString=true)
@JavaOnlyImmutable
parcelable UidRangeParcel {
    int start;
    int stop;
}
