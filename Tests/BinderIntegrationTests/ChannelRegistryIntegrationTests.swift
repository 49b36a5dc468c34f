import Binder
import BinderPlatform
import BinderWire
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// Waits (poll, up to 10 s) until `fd` reports end of file or a hang-up.
private func seesHangUp(_ fd: Int32) -> Bool {
    guard waitReadable(fd) else { return false }
    var b: UInt8 = 0
    return recv(fd, &b, 1, Int32(MSG_DONTWAIT)) == 0
}

private func sendBytes(_ fd: Int32, _ s: String) throws {
    let empty = UnsafeRawBufferPointer(start: nil, count: 0)
    let n = Array(s.utf8).withUnsafeBytes { SeqPacket.sendReturningErrno(fd, $0, empty, empty) }
    if n < 0 { throw SystemError("send", Int32(-n)) }
}

private func receiveString(_ fd: Int32) throws -> String {
    var buffer = [UInt8](repeating: 0, count: 256)
    var fds = [Int32](repeating: -1, count: 1)
    let r = try buffer.withUnsafeMutableBytes { b in try fds.withUnsafeMutableBufferPointer { try SeqPacket.receive(fd, into: b, fds: $0) } }
    return String(decoding: buffer[0..<r.length], as: UTF8.self)
}

@Suite("Named-fd registry through a real binderd")
struct ChannelRegistryIntegrationTests {
    @Test("both parties claim their ends by name, learn each other's identity, and talk over the pair")
    func requestAndClaim() throws {
        let broker = try TestBroker()
        let (server, client, echo) = try broker.echoPair()
        let box = try RequestBox(listeningOn: server)

        let mine = try client.serviceManager.requestChannel(to: echo)
        #expect(mine == "channel-1-requester")
        #expect(box.arrived.wait(), "the target's listener was not told")
        let request = try #require(box.first)
        #expect(request.endName == "channel-1-target")
        #expect(request.requester == CallerIdentity(pid: getpid(), uid: getuid(), container: 0))

        let status = try client.serviceManager.status()
        #expect(status.channelEnds.map(\.name) == ["channel-1-requester", "channel-1-target"])
        #expect(status.channelEnds.map(\.connection) == [client.welcome.connectionID, server.welcome.connectionID])
        #expect(try broker.cli("status").stdout.contains("channel-1-target"))

        let (targetFD, targetEnd) = try server.serviceManager.claimChannel(request.endName)
        let (requesterFD, requesterEnd) = try client.serviceManager.claimChannel(mine)
        #expect(targetEnd.cookie == request.cookie && requesterEnd.cookie == request.cookie)
        #expect(requesterEnd.peerPID == getpid() && targetEnd.peerPID == getpid())
        #expect(fcntl(requesterFD.fd, F_GETFD) & FD_CLOEXEC != 0)
        try sendBytes(requesterFD.fd, "ping")
        #expect(try receiveString(targetFD.fd) == "ping")
        try sendBytes(targetFD.fd, "pong")
        #expect(try receiveString(requesterFD.fd) == "pong")
        let after = try client.serviceManager.status()
        #expect(after.channelEnds.isEmpty && after.channelsCreated == 1 && after.channelEndsClaimed == 2)
    }

    @Test("a stranger gets PERMISSION_DENIED, a second claim fails, and an unclaimed end expires and closes")
    func claimRulesAndExpiry() throws {
        let broker = try TestBroker(extraArguments: ["--channel-ttl", "0.2"])
        let (server, client, echo) = try broker.echoPair()
        let box = try RequestBox(listeningOn: server)
        let stranger = try broker.connect()
        let before = FileDescriptor.openCount(pid: broker.pid)

        let mine = try client.serviceManager.requestChannel(to: echo)
        #expect(box.arrived.wait())
        #expect(throws: StatusCode.permissionDenied) { try stranger.serviceManager.claimChannel(mine) }
        #expect(throws: StatusCode.permissionDenied) { try server.serviceManager.claimChannel(mine) }
        let (fd, _) = try client.serviceManager.claimChannel(mine)
        #expect(throws: ServiceError.self) { try client.serviceManager.claimChannel(mine) }

        // Nobody claims the target's end: it expires, the broker closes it, our end hangs up.
        #expect(seesHangUp(fd.fd), "the expired end was not closed")
        #expect(throws: ServiceError.self) { try server.serviceManager.claimChannel("channel-1-target") }
        let status = try client.serviceManager.status()
        #expect(status.channelEnds.isEmpty && status.channelEndsExpired == 1)
        #expect(FileDescriptor.openCount(pid: broker.pid) == before)
    }

    @Test("when a party's connection closes, its unclaimed end closes and the other party sees the hang-up")
    func partyDies() throws {
        let broker = try TestBroker()
        let (server, client, echo) = try broker.echoPair()
        let box = try RequestBox(listeningOn: server)
        _ = try client.serviceManager.requestChannel(to: echo)
        #expect(box.arrived.wait())
        let (fd, _) = try server.serviceManager.claimChannel(try #require(box.first).endName)
        client.close()
        #expect(seesHangUp(fd.fd))
        #expect(try server.serviceManager.status().channelEnds.isEmpty)
    }

    @Test("asking for a channel to a process without a listener is UNSUPPORTED_OPERATION")
    func noListener() throws {
        let broker = try TestBroker()
        let (_, client, echo) = try broker.echoPair()
        #expect(throws: ServiceError.self) { try client.serviceManager.requestChannel(to: echo) }
        #expect(try client.serviceManager.status().channelsCreated == 0)
    }
}
