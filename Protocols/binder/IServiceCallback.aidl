package binder;

/**
 * Registration notifications from the service manager (sent by the broker, one-way; WIRE.md §7.2).
 * No interface token: the broker's hand-written sender predates it (see IServiceManager).
 */
@SwiftNoInterfaceToken
oneway interface IServiceCallback {
    /** `name` was registered as `binder` (also sent once at registration if it already was). */
    void onRegistration(@utf8InCpp String name, IBinder binder);
}
