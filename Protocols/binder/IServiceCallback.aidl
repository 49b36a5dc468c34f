package binder;

/** Registration notifications from the service manager (sent by the broker, one-way). */
oneway interface IServiceCallback {
    void onRegistration(@utf8InCpp String name, IBinder binder);
}
