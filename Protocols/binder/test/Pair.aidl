package binder.test;

/** A generic parcelable: two values of any AIDL types (not primitives, as in AIDL). */
parcelable Pair<A, B> {
    A first;
    B second;
}
