package binder.net;

import binder.net.AddressInfo;

/** A network interface as the kernel reports it (rtnetlink RTM_GETLINK), with its addresses and counters. */
parcelable InterfaceInfo {
    int index;
    String name;
    /** The raw IFF_* flags. */
    int flags;
    boolean up;
    boolean running;
    boolean loopback;
    int mtu;
    /** "aa:bb:cc:dd:ee:ff", or "" when the link has no hardware address. */
    String mac;
    AddressInfo[] addresses;
    long rxPackets;
    long txPackets;
    long rxBytes;
    long txBytes;
    long rxErrors;
    long txErrors;
    long rxDropped;
    long txDropped;
}
