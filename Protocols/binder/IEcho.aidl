package binder;

/**
 * The built-in echo service (`binder echo serve`), used by tests, the demo and the benchmarks.
 * Hand-implemented in Sources/Binder/EchoService.swift. Code 1 returns the request parcel
 * unchanged, which no AIDL method signature expresses; it is documented here for completeness.
 */
interface IEcho {
    /** code 1: the reply is the request parcel, byte for byte. */
    void echo();
    /** code 2: the caller's identity as the broker stamped it. */
    void whoAmI(out int pid, out int uid, out int container);
    /** code 3: fails with the transport status given. */
    void fail(int status);
}
