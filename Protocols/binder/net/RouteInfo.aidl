package binder.net;

/** A route of the main table (rtnetlink RTM_GETROUTE). */
parcelable RouteInfo {
    /** The destination network; "default" routes have prefix length 0. */
    String destination;
    int prefixLength;
    @nullable String gateway;
    @nullable String interfaceName;
    /** The route's metric, or -1 when the kernel reports none. */
    int metric;
    String protocol;
    String scope;
    int family;
}
