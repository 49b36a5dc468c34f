package binder;

/**
 * The built-in echo service (`binder echo serve`), used by tests, the demo and the benchmarks.
 * Sources/Binder/EchoService.swift serves it: code 1 by hand (the benchmarks' hot path), the
 * other codes through the generated IEcho.Stub.
 *
 * No interface token (@SwiftNoInterfaceToken): `binder service call` and the benchmarks speak to
 * it with raw parcels.
 */
@SwiftNoInterfaceToken
interface IEcho {
    /** The caller, as the broker stamped it. */
    parcelable Identity {
        int pid;
        int uid;
        /** 0 is the root namespace. */
        int container;
    }

    /**
     * code 1: the reply is the request parcel, byte for byte (no exception header). No AIDL
     * signature expresses that; EchoService answers it by hand and the Stub never sees it.
     */
    void echo();

    /** code 2: the caller's identity as the broker stamped it. */
    Identity whoAmI();

    /** code 3: fails with the transport status given (the reply carries no parcel). */
    void fail(int status);

    /** code 4: writes `bytes` through `fd` and returns how many it wrote. */
    int writeFD(in ParcelFileDescriptor fd, in byte[] bytes);

    /**
     * code 5: like echo, but the reply carries none of the request's fds (they are closed).
     * `binder bench --fds N` measures what carrying fds adds with it. Answered by hand.
     */
    void echoDroppingFDs();

    /** code 6: how many echo calls (code 1) this service has run (`binder echo count`). */
    long echoCount();
}
