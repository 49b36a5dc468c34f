package binder.net;

/** One outbound datagram, connection or socket netd handled for a container. */
parcelable TrafficRecord {
    long timeMillis;
    int container;
    /** "udp" or "tcp". */
    String protocol;
    /** "datagram", "connect" or "socket". */
    String kind;
    /** address:port; the source is the host's real address. */
    String source;
    String destination;
    int length;
}
