package binder.net;

/** An IPv4 or IPv6 address of an interface (rtnetlink RTM_GETADDR). */
parcelable AddressInfo {
    String address;
    int prefixLength;
    /** 4 or 6. */
    int family;
    /** "universe", "link", "host", ... */
    String scope;
}
