package binder;

/**
 * The reply of IServiceManager.claimChannel after the fd: who is at the other end of a channel
 * (WIRE.md §7.4). Hand-written as BinderWire.ChannelEnd (its fields are unsigned).
 */
parcelable ChannelEnd swift_type "BinderWire.ChannelEnd";
