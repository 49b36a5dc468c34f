package binder;

/**
 * Hears that an object's process has gone (WIRE.md §7.6). Registered per (target, recipient,
 * cookie) with IServiceManager.linkToDeath; the broker calls it once, one-way.
 * No interface token: the broker's hand-written sender writes none (see IServiceManager).
 */
@SwiftNoInterfaceToken
oneway interface IDeathRecipient {
    /** The object linked with `cookie` died: its owner's connection closed. */
    void binderDied(long cookie);
}
