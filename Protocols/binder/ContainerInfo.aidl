package binder;

/**
 * A running container (IServiceManager.listContainers, createContainer; BrokerStatus.containers).
 *
 * Hand-written in Swift as BinderWire.ContainerInfo (the broker, which writes it, does not link the
 * Binder runtime; several fields are unsigned). Its fields, in wire order, as AIDL would declare them:
 *
 *     int id; String name; int initPid; long networkNamespace; String endpoint;
 *     boolean foreground; int connections; int services;
 */
parcelable ContainerInfo swift_type "BinderWire.ContainerInfo";
