package binder;

import binder.ContainerInfo;

/**
 * The broker's state, returned by IServiceManager.getStatus (layout: WIRE.md §7.3): what
 * `binder status` shows. Fields are in wire order; a newer broker appends fields at the end.
 */
parcelable BrokerStatus {
    /** One connection to the broker. */
    parcelable Connection {
        @SwiftUnsigned int id;
        int pid;
        @SwiftUnsigned int uid;
        @SwiftUnsigned int gid;
        @SwiftUnsigned int container;
        @SwiftUnsigned int handles;
        @SwiftUnsigned int objects;
        @SwiftUnsigned long transactionsSent;
        @SwiftUnsigned long transactionsReceived;
        /** Pool threads the process runs (as it reported) and the most it will start. */
        @SwiftUnsigned int threads;
        @SwiftUnsigned int maxThreads;
        /** Routed two-way calls it is serving (nested ones not counted). */
        @SwiftUnsigned int busy;
        /** Bytes of its incoming buffer in use, and the one-way part (WIRE.md §5.1). */
        @SwiftUnsigned int bufferUsed;
        @SwiftUnsigned int oneWayBufferUsed;
    }

    /** One registered service. */
    parcelable Service {
        @utf8InCpp String name;
        @SwiftUnsigned int connection;
        int pid;
        @SwiftUnsigned int uid;
        @SwiftUnsigned int container;
        /** A root service visible in every container. */
        boolean exported;
    }

    /** One unclaimed channel end. */
    parcelable RegistryEntry {
        @utf8InCpp String name;
        /** The connection (and its pid) the end was made for: only it may claim the end. */
        @SwiftUnsigned int connection;
        int pid;
        /** The pid at the other end. */
        int peerPID;
        @SwiftUnsigned long expiresInMillis;
    }

    /** A container's proxy of an exported root service, loaded now (WIRE.md §7.7). */
    parcelable LoadedProxy {
        @SwiftUnsigned int container;
        @utf8InCpp String service;
        /** Handles to the proxy (in the container's processes). */
        @SwiftUnsigned int holders;
    }

    int brokerPID;
    @SwiftUnsigned long uptimeMillis;
    @SwiftUnsigned long transactions;
    @SwiftUnsigned long oneWay;
    @SwiftUnsigned long replies;
    @SwiftUnsigned long deadObjectReplies;
    @SwiftUnsigned long malformedDisconnects;
    @SwiftUnsigned int pendingTransactions;
    Connection[] connections;
    Service[] services;
    /** Unclaimed entries of the named-fd registry. */
    RegistryEntry[] channelEnds;
    @SwiftUnsigned long channelsCreated;
    @SwiftUnsigned long channelEndsClaimed;
    @SwiftUnsigned long channelEndsExpired;
    /** Running containers, and which one is in the foreground (0: the root). */
    ContainerInfo[] containers;
    @SwiftUnsigned int foregroundContainer;
    /** Transactions refused because the receiver's incoming buffer was full (WIRE.md §5.1). */
    @SwiftUnsigned long bufferRefusals;
    /** RELEASED notices sent: objects whose last remote reference went (WIRE.md §4.4). */
    @SwiftUnsigned long objectsReleased;
    /** Containers' proxies of exported root services that are loaded now (WIRE.md §7.7). */
    LoadedProxy[] proxies;
    /** Transactions that reached the broker after their deadline and were failed with TIMED_OUT (WIRE.md §3.2). */
    @SwiftUnsigned long expiredCalls;
}
