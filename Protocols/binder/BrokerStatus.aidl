package binder;

/**
 * The broker's state, returned by IServiceManager.getStatus (layout: WIRE.md §7.3).
 *
 * Hand-written in Swift as BinderWire.BrokerStatus rather than generated: most of its fields are
 * unsigned (u32, u64), which AIDL cannot express, and the broker, which writes it, does not link
 * the Binder runtime. Its fields, in wire order, as AIDL would declare them:
 *
 *     int brokerPid; long uptimeMillis; long transactions; long oneWay; long replies;
 *     long deadObjectReplies; long malformedDisconnects; int pendingTransactions;
 *     Connection[] connections;   // int id, pid, uid, gid, container, handles, objects;
 *                                 // long transactionsSent, transactionsReceived
 *     Service[] services;         // String name; int connection, pid, uid, container
 */
parcelable BrokerStatus swift_type "BinderWire.BrokerStatus";
