package binder;

/**
 * A running container (IServiceManager.listContainers, createContainer; BrokerStatus.containers).
 * Its ID limits and name rules are hand-written beside it (Sources/BinderWire/ContainerLimits.swift).
 */
parcelable ContainerInfo {
    /** The container ID: 1…`maxID` (0 is the root, which is not listed). */
    @SwiftUnsigned int id;
    /** Its hostname. */
    @utf8InCpp String name;
    /** PID 1 of the container, in the broker's PID namespace. */
    int initPID;
    /** The inode of its network namespace (as `ls -iL /proc/PID/ns/net` shows). */
    @SwiftUnsigned long networkNamespace;
    /** Its endpoint (binder.sock) on the host; inside the container it is /run/binder/binder.sock. */
    @utf8InCpp String endpoint;
    boolean foreground;
    /** Connections from inside it, and services registered in it. */
    @SwiftUnsigned int connections;
    @SwiftUnsigned int services;
}
