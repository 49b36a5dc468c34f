import Binder
import BinderPlatform
import BinderWire
import Testing

#if canImport(Glibc)
import Glibc
#endif

private func isCloseOnExec(_ fd: Int32) -> Bool { fcntl(fd, F_GETFD) & FD_CLOEXEC != 0 }

@Suite("File descriptors through a real binderd")
struct FileDescriptorTests {
    @Test("fd round trip: the service writes through the fd it received, the caller reads through the original")
    func roundTrip() throws {
        let broker = try TestBroker()
        let (_, _, echo) = try broker.echoPair()
        let pipe = try Pipe()

        #expect(try IEcho.Proxy(echo).writeFD(fd: pipe.write, bytes: Array("through the broker".utf8)) == 18)
        #expect(try pipe.readBytes(18) == Array("through the broker".utf8))

        var data = Parcel()
        data.write(fileDescriptor: pipe.write)
        data.write(bytes: Array("through the broker".utf8))

        // Echo returns the request's fds: the caller gets a fresh close-on-exec fd for the same pipe.
        var echoed = try echo.transact(code: EchoService.Code.echo.rawValue, data: data)
        let back = try #require(try echoed.readFileDescriptor())
        #expect(back.fd != pipe.write.fd)
        #expect(isCloseOnExec(back.fd))
        _ = try "and back".utf8.withContiguousStorageIfAvailable { try FileDescriptor.writeAll(back.fd, UnsafeRawBufferPointer($0)) }
        #expect(try pipe.readBytes(8) == Array("and back".utf8))

        // Every other copy was closed: once ours go, the pipe reports end of file.
        back.close()
        pipe.write.close()
        data = Parcel()
        echoed = Parcel()
        #expect(pipe.seesEndOfFile(), "a copy of the write end is still open somewhere")
    }

    @Test("fds to an object that did not opt in get FDS_NOT_ALLOWED; the broker closes its copies")
    func refusedWithoutOptIn() throws {
        let broker = try TestBroker()
        let server = try broker.connect()
        try server.serviceManager.addService("plain", RecordingService(expect: 1))
        let client = try broker.connect()
        let plain = try #require(try client.serviceManager.getService("plain"))
        let pipe = try Pipe()
        var data = Parcel()
        data.write(Int32(1))
        data.write(fileDescriptor: pipe.write)
        #expect(throws: StatusCode.fdsNotAllowed) { try plain.transact(code: 1, data: data) }
        #expect(throws: StatusCode.fdsNotAllowed) {
            try client.transact(handle: 0, code: IServiceManager.Code.listServices.rawValue, data: data)
        }
        // The connection stays usable, and no copy of the fd survives anywhere.
        #expect(try client.serviceManager.listServices() == ["plain"])
        pipe.write.close()
        data = Parcel()
        #expect(pipe.seesEndOfFile(), "the broker kept a refused fd open")
    }

    @Test("the broker's open fds are back to their count after fd traffic, refused calls and a disconnect")
    func noLeaksInBroker() throws {
        let broker = try TestBroker()
        let server = try broker.connect()
        try server.serviceManager.addService("echo", EchoService())
        try server.serviceManager.addService("plain", RecordingService(expect: 1000))
        let client = try broker.connect()
        let echo = try #require(try client.serviceManager.getService("echo"))
        let plain = try #require(try client.serviceManager.getService("plain"))
        _ = try client.serviceManager.listServices()
        let before = FileDescriptor.openCount(pid: broker.pid)
        #expect(before > 0)

        let pipes = try (0..<3).map { _ in try Pipe() }
        for round in 0..<50 {
            var data = Parcel()
            data.write(Int32(round))
            for p in pipes { data.write(fileDescriptor: p.write) }
            let reply = try echo.transact(code: EchoService.Code.echo.rawValue, data: data)
            #expect(reply.fileDescriptors.count == 3)
            #expect(throws: StatusCode.fdsNotAllowed) { try plain.transact(code: 1, data: data) }
        }
        // One-way calls with fds to an object that accepts them.
        for _ in 0..<20 {
            var data = Parcel()
            data.write(fileDescriptor: pipes[0].write)
            try echo.transact(code: EchoService.Code.echo.rawValue, data: data, flags: .oneWay)
        }
        // The broker sends to a connection one frame at a time, in order: once a two-way call to
        // the same service is answered, every one-way frame before it has been sent.
        _ = try echo.transact(code: EchoService.Code.echo.rawValue, data: Parcel())
        // A client that sends more fds than the broker's control area holds is disconnected.
        let raw = try RawClient(path: broker.socketPath)
        let many = [Int32](repeating: pipes[1].write.fd, count: 20)
        try raw.send(FrameHeader(command: .transaction, transactionID: 1, target: 0, code: 4), fds: many)
        #expect(try raw.receive() == nil, "MSG_CTRUNC must disconnect the sender")

        // A round trip through the broker's loop settles its asynchronous closes.
        _ = try client.serviceManager.listServices()
        #expect(FileDescriptor.openCount(pid: broker.pid) == before)
    }

    @Test("a parcel with more fds than negotiated fails locally with BAD_VALUE")
    func tooManyFDsFailsLocally() throws {
        let broker = try TestBroker()
        let (_, client, echo) = try broker.echoPair()
        let pipe = try Pipe()
        var data = Parcel()
        for _ in 0...Int(client.welcome.maxFDs) { data.write(fileDescriptor: pipe.write) }
        #expect(throws: StatusCode.badValue) { try echo.transact(code: 1, data: data) }
        #expect(try echo.transact(code: 1, data: Parcel()) == Parcel())
    }
}

@Suite("Large frames and back-pressure through a real binderd")
struct BackPressureTests {
    @Test("a large parcel (taken without a copy on receipt) keeps its data, objects and fds")
    func largeParcel() throws {
        let broker = try TestBroker()
        let server = try broker.connect()
        let service = EchoService()
        try server.serviceManager.addService("echo", service)
        let client = try broker.connect()
        let echo = try #require(try client.serviceManager.getService("echo"))
        let (r, w) = try ProcessControl.pipe()
        defer { FileDescriptor.close(r) }
        var data = Parcel()
        data.write(bytes: (0..<40_000).map { UInt8(truncatingIfNeeded: $0 * 7) })
        data.write(fileDescriptor: ParcelFileDescriptor(adopting: w))
        data.write(object: client.publish(service))
        var reply = try echo.transact(code: EchoService.Code.echo.rawValue, data: data)
        #expect(reply.bytes.count == data.bytes.count)
        #expect(try reply.readBytes() == (0..<40_000).map { UInt8(truncatingIfNeeded: $0 * 7) })
        #expect(try reply.readFileDescriptor() != nil)
        #expect(try reply.readObject() == client.publish(service))
    }

    @Test("a receiver that stops reading: one-way calls beyond its incoming buffer fail with FAILED_TRANSACTION for every sender, other processes keep working, and its FREE makes room again")
    func incomingBufferLimit() throws {
        // 8 receive buffers: frames queued to the stalled receiver must not hold them.
        let broker = try TestBroker(extraArguments: ["--buffers", "8", "--incoming-buffer", "8388608"])
        // A raw "service" that registers and then reads nothing.
        let raw = try RawClient(path: broker.socketPath)
        var add = Parcel()
        add.write("slow")
        add.write(object: .local(1))
        try raw.send(FrameHeader(command: .transaction, transactionID: 1, target: 0, code: IServiceManager.Code.addService.rawValue), add)
        #expect(try raw.receive()?.0.status == .ok)

        let (_, client, echo) = try broker.echoPair()
        let slow = try #require(try client.serviceManager.getService("slow"))
        func oneWay(_ i: Int, to proxy: BinderProxy) throws(StatusCode) {
            var p = Parcel()
            p.write(Int32(i))
            p.write(bytes: [UInt8](repeating: UInt8(truncatingIfNeeded: i), count: 4096))
            try proxy.transact(code: 1, data: p, flags: .oneWay)
        }
        var accepted = 0
        while accepted < 5000 {
            do throws(StatusCode) { try oneWay(accepted, to: slow) } catch {
                #expect(error == .failedTransaction)
                break
            }
            accepted += 1
        }
        // One-way calls may fill half of the 8 MiB buffer; each frame is 64 + 4 + 4 + 4096 bytes. The
        // kernel queues a part of them to the receiver, the broker holds the rest.
        let frameLength = 64 + 4 + 4 + 4096
        #expect(accepted == 4194304 / frameLength)

        // Another sender to the full receiver is refused too; everyone else carries on.
        let other = try broker.connect()
        let slowFromOther = try #require(try other.serviceManager.getService("slow"))
        #expect(throws: StatusCode.failedTransaction) { try oneWay(0, to: slowFromOther) }
        for n in [1, 1000, 30000] {
            #expect(try echo.transact(code: EchoService.Code.echo.rawValue, data: Parcel(bytes: [UInt8](repeating: 7, count: n * 4))).count == n * 4)
        }
        let status = try other.serviceManager.status()
        let stalled = try #require(status.connections.first { $0.id == raw.connectionID })
        #expect(stalled.oneWayBufferUsed == UInt32(accepted * frameLength) && stalled.bufferUsed == stalled.oneWayBufferUsed)
        #expect(status.bufferRefusals == 2)

        // The receiver reads every call, in order, and frees them; a round trip on its connection
        // makes sure the broker has handled the FREE before the next call.
        var bytes: UInt64 = 0
        for i in 0..<accepted {
            let (header, parcel) = try #require(try raw.receive())
            var p = parcel
            #expect(header.command == .transaction && header.flags.contains(.oneWay))
            #expect(try p.read(Int32.self) == Int32(i))
            bytes += UInt64(header.frameLength)
        }
        try raw.send(FrameHeader(command: .free, target: bytes, code: UInt32(accepted)))
        try raw.send(FrameHeader(command: .transaction, transactionID: 2, target: 0, code: IServiceManager.Code.listServices.rawValue))
        #expect(try raw.receive()?.0.transactionID == 2)
        try oneWay(accepted, to: slow)
        var (header, parcel) = try #require(try raw.receive())
        #expect(header.command == .transaction && (try? parcel.read(Int32.self)) == Int32(accepted))

        // Freeing more than was delivered is a protocol error: the receiver alone is disconnected.
        try raw.send(FrameHeader(command: .free, target: 1 << 20, code: 1))
        #expect(try raw.receive() == nil)
        #expect(try echo.transact(code: EchoService.Code.echo.rawValue, data: Parcel(bytes: [1, 2, 3, 4])).count == 4)
    }
}
