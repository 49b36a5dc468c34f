package binder.net;

/** An entry of netd's inbound routing table: datagrams from `remoteAddress` go to `container`. */
parcelable InboundRoute {
    String remoteAddress;
    int container;
    /** Removed after the first datagram delivered through it. */
    boolean once;
    long delivered;
}
