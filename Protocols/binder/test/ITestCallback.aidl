package binder.test;

/** A callback the round-trip test passes to ITestTypes: the service calls it back. */
interface ITestCallback {
    /** A two-way call back into the client, while the client waits for its own call. */
    @utf8InCpp String name();

    /** A one-way call back. */
    oneway void ping(int n);
}
