package binder.net;

/** What netd did for one container. */
parcelable TrafficCounters {
    int container;
    long datagramsSent;
    long bytesSent;
    long connections;
    long socketsOpened;
    long datagramsReceived;
    long bytesReceived;
}
