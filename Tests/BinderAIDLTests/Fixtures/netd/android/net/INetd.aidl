/*
 * Test fixture for binder-aidl: an INetd-like interface written for this repository after the
 * size and feature mix of AOSP's system/netd server/binder/android/net/INetd.aidl (not a copy).
 */
package android.net;

import android.net.FirewallRule;
import android.net.INetdUnsolicitedEventListener;
import android.net.InterfaceConfigurationParcel;
import android.net.MarkMaskParcel;
import android.net.NativeNetworkConfig;
import android.net.RouteInfoParcel;
import android.net.TetherConfigParcel;
import android.net.TetherOffloadRuleParcel;
import android.net.TetherStatsParcel;
import android.net.UidRangeParcel;
import android.net.netd.aidl.NativeUidRangeConfig;

/** The network daemon: interfaces, routes, firewall, tethering, IPsec and traffic accounting. */
@VintfStability
interface INetd {
    // ---- Constants ----------------------------------------------------------------------------

    const int IPV4 = 4;
    const int IPV6 = 6;
    const int CONF = 1;
    const int NEIGH = 2;

    /** Network permissions, combinable. */
    const int PERMISSION_NONE = 0;
    const int PERMISSION_NETWORK = 1;
    const int PERMISSION_SYSTEM = 2;
    const int PERMISSION_MASK = PERMISSION_NETWORK | PERMISSION_SYSTEM;

    /** Per-uid permissions, as bits. */
    const int PERMISSION_INTERNET = 1 << 2;
    const int PERMISSION_UPDATE_DEVICE_STATS = 1 << 3;
    const int PERMISSION_UNINSTALLED = -1;

    /** Reserved network ids. */
    const int LOCAL_NET_ID = 99;
    const int DUMMY_NET_ID = LOCAL_NET_ID - 48;
    const int UNREACHABLE_NET_ID = DUMMY_NET_ID + 1;

    const String NEXTHOP_NONE = "";
    const String NEXTHOP_UNREACHABLE = "unreachable";
    const String NEXTHOP_THROW = "throw";
    const String IPSEC_INTERFACE_PREFIX = "ipsec";
    const String IPSEC_DIRECTION = IPSEC_INTERFACE_PREFIX + "-direction";

    const int IPSEC_DIRECTION_IN = 0;
    const int IPSEC_DIRECTION_OUT = 1;

    /** Fwmark bits: a mask with the top bit set (a hex literal above INT_MAX is still an int). */
    const int FWMARK_CLAT = 0xdeadc1a7;
    const int FWMARK_NET_ID_MASK = 0xFFFF;
    const int FWMARK_EXPLICIT_BIT = FWMARK_NET_ID_MASK + 1;
    const int FWMARK_PERMISSION_SHIFT = 18;
    const int FWMARK_PERMISSION_MASK = 0x3 << FWMARK_PERMISSION_SHIFT;
    const long QUOTA_UNLIMITED = 0x7FFFFFFFFFFFFFFFL;
    const long QUOTA_ONE_TERABYTE = 1L << 40;
    const byte TOS_LOW_DELAY = 0x10u8;
    const byte TOS_DEFAULT = (TOS_LOW_DELAY & 0) | 0;
    const int CLAT_PREFIX_LENGTH = true ? 96 : 64;
    const double RATE_LIMIT_FACTOR = 1.5;
    const float SAMPLE_FRACTION = 0.25f;
    const boolean STRICT_MODE_DEFAULT = PERMISSION_MASK == 3 && !false;

    const int FIREWALL_ALLOWLIST = 0;
    const int FIREWALL_DENYLIST = 1;
    const int FIREWALL_RULE_ALLOW = 1;
    const int FIREWALL_RULE_DENY = 2;
    const int FIREWALL_CHAIN_NONE = 0;
    const int FIREWALL_CHAIN_DOZABLE = 1;
    const int FIREWALL_CHAIN_STANDBY = 2;
    const int FIREWALL_CHAIN_POWERSAVE = 3;
    const int FIREWALL_CHAIN_RESTRICTED = 4;

    const int PENALTY_POLICY_ACCEPT = 1;
    const int PENALTY_POLICY_LOG = 2;
    const int PENALTY_POLICY_REJECT = 3;

    const int LOCAL_NET_ID_BACKUP = android.net.INetd.LOCAL_NET_ID;

    // ---- Methods -------------------------------------------------------------------------------

    /** Whether netd is alive and responding. */
    boolean isAlive();

    /** Replaces the uids of `chainName` (an allowlist or a denylist). */
    boolean firewallReplaceUidChain(in @utf8InCpp String chainName, boolean isAllowlist, in int[] uids);

    /** Turns data saver on or off; false when that failed. */
    boolean bandwidthEnableDataSaver(boolean enable);

    /**
     * Creates a physical network.
     * @deprecated use networkCreate.
     */
    void networkCreatePhysical(int netId, int permission);

    /** Creates a network from a full configuration. */
    void networkCreate(in NativeNetworkConfig config);

    void networkDestroy(int netId);

    void networkAddInterface(int netId, in @utf8InCpp String iface);

    void networkRemoveInterface(int netId, in @utf8InCpp String iface);

    void networkAddUidRanges(int netId, in UidRangeParcel[] uidRanges);

    void networkRemoveUidRanges(int netId, in UidRangeParcel[] uidRanges);

    void networkRejectNonSecureVpn(boolean add, in UidRangeParcel[] uidRanges);

    /** Closes the sockets of the uids in `uidRanges`, except `exemptUids`. */
    void socketDestroy(in UidRangeParcel[] uidRanges, in int[] exemptUids);

    boolean tetherApplyDnsInterfaces();

    /** Per-upstream counters. */
    TetherStatsParcel[] tetherGetStats();

    void interfaceAddAddress(in @utf8InCpp String ifName, in @utf8InCpp String addrString, int prefixLength);

    void interfaceDelAddress(in @utf8InCpp String ifName, in @utf8InCpp String addrString, int prefixLength);

    /** Reads /proc/sys/net/ipv{4,6}/{conf,neigh}/ifname/parameter. */
    @utf8InCpp String getProcSysNet(int ipversion, int which, in @utf8InCpp String ifname, in @utf8InCpp String parameter);

    void setProcSysNet(int ipversion, int which, in @utf8InCpp String ifname, in @utf8InCpp String parameter,
            in @utf8InCpp String value);

    /** Hands an encapsulation socket to `newUid`. */
    void ipSecSetEncapSocketOwner(in ParcelFileDescriptor socket, int newUid);

    int ipSecAllocateSpi(int transformId, in @utf8InCpp String sourceAddress,
            in @utf8InCpp String destinationAddress, int spi);

    void ipSecAddSecurityAssociation(int transformId, int mode, in @utf8InCpp String sourceAddress,
            in @utf8InCpp String destinationAddress, int underlyingNetId, int spi, int markValue,
            int markMask, in @utf8InCpp String authAlgo, in byte[] authKey, in int authTruncBits,
            in @utf8InCpp String cryptAlgo, in byte[] cryptKey, in int cryptTruncBits,
            in @utf8InCpp String aeadAlgo, in byte[] aeadKey, in int aeadIcvBits, int encapType,
            int encapLocalPort, int encapRemotePort, int interfaceId);

    void ipSecDeleteSecurityAssociation(int transformId, in @utf8InCpp String sourceAddress,
            in @utf8InCpp String destinationAddress, int spi, int markValue, int markMask, int interfaceId);

    void ipSecApplyTransportModeTransform(in ParcelFileDescriptor socket, int transformId, int direction,
            in @utf8InCpp String sourceAddress, in @utf8InCpp String destinationAddress, int spi);

    void ipSecRemoveTransportModeTransform(in ParcelFileDescriptor socket);

    void wakeupAddInterface(in @utf8InCpp String ifName, in @utf8InCpp String prefix, int mark, int mask);

    void wakeupDelInterface(in @utf8InCpp String ifName, in @utf8InCpp String prefix, int mark, int mask);

    void setIPv6AddrGenMode(in @utf8InCpp String ifName, int mode);

    void idletimerAddInterface(in @utf8InCpp String ifName, int timeout, in @utf8InCpp String classLabel);

    void idletimerRemoveInterface(in @utf8InCpp String ifName, int timeout, in @utf8InCpp String classLabel);

    void strictUidCleartextPenalty(int uid, int policyPenalty);

    /** Starts clatd on `ifName`; returns the IPv6 address it uses. */
    @utf8InCpp String clatdStart(in @utf8InCpp String ifName, in @utf8InCpp String nat64Prefix);

    void clatdStop(in @utf8InCpp String ifName);

    boolean ipfwdEnabled();

    @utf8InCpp String[] ipfwdGetRequesterList();

    void ipfwdEnableForwarding(in @utf8InCpp String requester);

    void ipfwdDisableForwarding(in @utf8InCpp String requester);

    void ipfwdAddInterfaceForward(in @utf8InCpp String fromIface, in @utf8InCpp String toIface);

    void ipfwdRemoveInterfaceForward(in @utf8InCpp String fromIface, in @utf8InCpp String toIface);

    void bandwidthSetInterfaceQuota(in @utf8InCpp String ifName, long bytes);

    void bandwidthRemoveInterfaceQuota(in @utf8InCpp String ifName);

    void bandwidthSetGlobalAlert(long bytes);

    void bandwidthAddNaughtyApp(int uid);

    void bandwidthRemoveNaughtyApp(int uid);

    void bandwidthAddNiceApp(int uid);

    void bandwidthRemoveNiceApp(int uid);

    void tetherStart(in @utf8InCpp String[] dhcpRanges);

    void tetherStartWithConfiguration(in TetherConfigParcel config);

    void tetherStop();

    boolean tetherIsEnabled();

    void tetherInterfaceAdd(in @utf8InCpp String ifName);

    void tetherInterfaceRemove(in @utf8InCpp String ifName);

    @utf8InCpp String[] tetherInterfaceList();

    void tetherDnsSet(int netId, in @utf8InCpp String[] dnsAddrs);

    @utf8InCpp String[] tetherDnsList();

    void networkAddRoute(int netId, in @utf8InCpp String ifName, in @utf8InCpp String destination,
            in @utf8InCpp String nextHop);

    void networkRemoveRoute(int netId, in @utf8InCpp String ifName, in @utf8InCpp String destination,
            in @utf8InCpp String nextHop);

    void networkAddRouteParcel(int netId, in RouteInfoParcel routeInfo);

    void networkUpdateRouteParcel(int netId, in RouteInfoParcel routeInfo);

    void networkRemoveRouteParcel(int netId, in RouteInfoParcel routeInfo);

    /** The routes of a network, written into `routes`; returns how many there are. */
    int networkGetRoutes(int netId, out RouteInfoParcel[] routes);

    int networkGetDefault();

    void networkSetDefault(int netId);

    void networkClearDefault();

    void networkSetPermissionForNetwork(int netId, int permission);

    void networkSetProtectAllow(int uid);

    void networkSetProtectDeny(int uid);

    boolean networkCanProtect(int uid);

    void firewallSetFirewallType(int firewalltype);

    void firewallSetInterfaceRule(in @utf8InCpp String ifName, int firewallRule);

    void firewallSetUidRule(int childChain, int uid, int firewallRule);

    void firewallEnableChildChain(int childChain, boolean enable);

    /** Adds the rules in order; fills `rejected` with the indexes of the rules it refused. */
    void firewallAddRules(in FirewallRule[] rules, inout int[] rejected);

    @utf8InCpp String[] interfaceGetList();

    InterfaceConfigurationParcel interfaceGetCfg(in @utf8InCpp String ifName);

    void interfaceSetCfg(in InterfaceConfigurationParcel cfg);

    void interfaceSetIPv6PrivacyExtensions(in @utf8InCpp String ifName, boolean enable);

    void interfaceClearAddrs(in @utf8InCpp String ifName);

    void interfaceSetEnableIPv6(in @utf8InCpp String ifName, boolean enable);

    void interfaceSetMtu(in @utf8InCpp String ifName, int mtu);

    void tetherAddForward(in @utf8InCpp String intIface, in @utf8InCpp String extIface);

    void tetherRemoveForward(in @utf8InCpp String intIface, in @utf8InCpp String extIface);

    void setTcpRWmemorySize(in @utf8InCpp String rmemValues, in @utf8InCpp String wmemValues);

    /** Registers a listener for unsolicited events; it stays until its process dies. */
    void registerUnsolicitedEventListener(INetdUnsolicitedEventListener listener);

    void firewallAddUidInterfaceRules(in @utf8InCpp String ifName, in int[] uids);

    void firewallRemoveUidInterfaceRules(in int[] uids);

    void trafficSwapActiveStatsMap();

    /** The OEM extension's binder, if there is one. */
    @nullable IBinder getOemNetd();

    void tetherStartWithDhcp(in @utf8InCpp String[] dhcpRanges, @nullable @utf8InCpp String dhcpServer);

    MarkMaskParcel getFwmarkForNetwork(int netId);

    void tetherOffloadRuleAdd(in TetherOffloadRuleParcel rule);

    void tetherOffloadRuleRemove(in TetherOffloadRuleParcel rule);

    TetherStatsParcel[] tetherOffloadGetStats();

    void tetherOffloadSetInterfaceQuota(int ifIndex, long quotaBytes);

    TetherStatsParcel tetherOffloadGetAndClearStats(int ifIndex);

    void networkAddUidRangesParcel(in NativeUidRangeConfig uidRangesConfig);

    void networkRemoveUidRangesParcel(in NativeUidRangeConfig uidRangesConfig);

    void setNetworkAllowlist(in NativeUidRangeConfig[] allowedNetworks);

    /** Counters by interface name; null when accounting is off. */
    @nullable Map<String, TetherStatsParcel> getInterfaceStats();

    List<UidRangeParcel> getUidRanges(int netId);
}
