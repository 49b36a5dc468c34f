package binder;

/** The broker's state, returned by IServiceManager.getStatus (WIRE.md §7.3). */
parcelable BrokerStatus {
    parcelable Connection {
        int id;
        int pid;
        int uid;
        int gid;
        int container;
        int handles;
        int objects;
        long transactionsSent;
        long transactionsReceived;
    }
    parcelable Service {
        @utf8InCpp String name;
        int connection;
        int pid;
        int uid;
        int container;
    }
    int brokerPid;
    long uptimeMillis;
    long transactions;
    long oneWay;
    long replies;
    long deadObjectReplies;
    long malformedDisconnects;
    int pendingTransactions;
    Connection[] connections;
    Service[] services;
}
