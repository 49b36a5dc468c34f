import Testing

import BinderWire

/// The service manager's parcelables are generated from Protocols/binder (BinderWire/Generated);
/// before, BinderWire wrote them by hand. These write each one's layout field by field, as the
/// hand-written code did (WIRE.md §7.3, §7.4, §7.7), and expect the generated code's bytes.
@Suite("Generated service manager parcelables keep their wire layout")
struct ServiceManagerValueTests {
    /// A parcelable: an i32 size including itself, then the fields.
    func parcelable(_ body: (inout Parcel) -> Void) -> [UInt8] {
        var p = Parcel()
        p.writeParcelable(body)
        return p.bytes
    }

    func written(_ value: some AIDLValue) -> [UInt8] {
        var p = Parcel()
        value.write(to: &p)
        return p.bytes
    }

    @Test("ChannelEnd: peer pid, uid, container, cookie, max frame size, max fds")
    func channelEnd() throws {
        let end = ChannelEnd(peerPID: -7, peerUID: 0xFFFF_FFFE, peerContainer: 3, cookie: 0x8000_0000_0000_0001, peerMaxFrameSize: 65536, peerMaxFDs: 16)
        let expected = parcelable { p in
            p.write(Int32(-7))
            p.write(UInt32(0xFFFF_FFFE))
            p.write(UInt32(3))
            p.write(UInt64(0x8000_0000_0000_0001))
            p.write(UInt32(65536))
            p.write(UInt32(16))
        }
        #expect(written(end) == expected)
        var p = Parcel(bytes: expected)
        #expect(try ChannelEnd.read(from: &p) == end)
    }

    @Test("ContainerInfo: id, name, init pid, netns inode, endpoint, foreground, connections, services")
    func containerInfo() throws {
        let info = ContainerInfo(id: 4096, name: "c1", initPID: 42, networkNamespace: 0xF000_0000_1234, endpoint: "/run/c1.sock", foreground: true, connections: 2, services: 1)
        let expected = parcelable { p in
            p.write(UInt32(4096))
            p.write("c1")
            p.write(Int32(42))
            p.write(UInt64(0xF000_0000_1234))
            p.write("/run/c1.sock")
            p.write(true)
            p.write(UInt32(2))
            p.write(UInt32(1))
        }
        #expect(written(info) == expected)
        var p = Parcel(bytes: expected)
        #expect(try ContainerInfo.read(from: &p) == info)
    }

    @Test("BrokerStatus: counters, then connections, services, channel ends, containers, proxies")
    func brokerStatus() throws {
        var connection = BrokerStatus.Connection(
            id: 1, pid: 2, uid: 3, gid: 4, container: 5, handles: 6, objects: 7, transactionsSent: 8, transactionsReceived: 9)
        (connection.threads, connection.maxThreads, connection.busy, connection.bufferUsed, connection.oneWayBufferUsed) = (10, 11, 12, 13, 14)
        let container = ContainerInfo(id: 1, name: "a", initPID: 9, networkNamespace: 10, endpoint: "e")
        let status = BrokerStatus(
            brokerPID: 100, uptimeMillis: 101, transactions: 102, oneWay: 103, replies: 104, deadObjectReplies: 105,
            malformedDisconnects: 106, pendingTransactions: 107, connections: [connection],
            services: [.init(name: "echo", connection: 1, pid: 2, uid: 3, container: 0, exported: true)],
            channelEnds: [.init(name: "end", connection: 1, pid: 2, peerPID: 3, expiresInMillis: 4)],
            channelsCreated: 108, channelEndsClaimed: 109, channelEndsExpired: 110, containers: [container],
            foregroundContainer: 1, bufferRefusals: 111, objectsReleased: 112,
            proxies: [.init(container: 1, service: "netd", holders: 2)], expiredCalls: 113)
        let expected = parcelable { p in
            p.write(Int32(100))
            for v: UInt64 in [101, 102, 103, 104, 105, 106] { p.write(v) }
            p.write(UInt32(107))
            p.write(Int32(1))
            p.writeParcelable { p in
                for v: UInt32 in [1] { p.write(v) }
                p.write(Int32(2))
                for v: UInt32 in [3, 4, 5, 6, 7] { p.write(v) }
                for v: UInt64 in [8, 9] { p.write(v) }
                for v: UInt32 in [10, 11, 12, 13, 14] { p.write(v) }
            }
            p.write(Int32(1))
            p.writeParcelable { p in
                p.write("echo")
                p.write(UInt32(1))
                p.write(Int32(2))
                p.write(UInt32(3))
                p.write(UInt32(0))
                p.write(true)
            }
            p.write(Int32(1))
            p.writeParcelable { p in
                p.write("end")
                p.write(UInt32(1))
                p.write(Int32(2))
                p.write(Int32(3))
                p.write(UInt64(4))
            }
            for v: UInt64 in [108, 109, 110] { p.write(v) }
            p.write(Int32(1))
            container.write(to: &p)
            p.write(UInt32(1))
            for v: UInt64 in [111, 112] { p.write(v) }
            p.write(Int32(1))
            p.writeParcelable { p in
                p.write(UInt32(1))
                p.write("netd")
                p.write(UInt32(2))
            }
            p.write(UInt64(113))
        }
        #expect(written(status) == expected)
        var p = Parcel(bytes: expected)
        #expect(try BrokerStatus.read(from: &p) == status)
    }
}
