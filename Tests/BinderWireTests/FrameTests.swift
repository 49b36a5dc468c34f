import Testing

@testable import BinderWire

@Suite("Frame header and handshake (WIRE.md §2, §3)")
struct FrameTests {
    @Test("golden header: a two-way transaction to handle 0")
    func goldenTransactionHeader() throws {
        let header = FrameHeader(command: .transaction, dataLength: 12, transactionID: 1, target: 0, code: 2)
        let expected = hex(
            """
            01 03 0000 0c000000 0100000000000000 0000000000000000
            02000000 00000000 0000 0000 00000000 00000000 00000000
            00000000000000000000000000000000
            """)
        #expect(header.encoded() == expected)
        let decoded = try expected.withUnsafeBytes { try FrameHeader.decode(from: $0, messageLength: 64 + 12) }
        #expect(decoded == header)
    }

    @Test("golden header: a forwarded reply with a sender stamp and objects")
    func goldenStampedHeader() throws {
        let header = FrameHeader(
            command: .reply, flags: [], dataLength: 20, transactionID: 0x0102, target: 0, code: 0, status: .deadObject,
            fdCount: 0, objectCount: 1, sender: CallerIdentity(pid: 100, uid: 1000, container: 2))
        let expected = hex(
            """
            01 04 0000 14000000 0201000000000000 0000000000000000
            00000000 e0ffffff 0000 0100 64000000 e8030000 02000000
            00000000000000000000000000000000
            """)
        #expect(header.encoded() == expected)
        #expect(header.frameLength == 64 + 20 + 4)
    }

    @Test("golden header: a two-way transaction with a deadline (WIRE.md §3.2)")
    func goldenDeadlineHeader() throws {
        let header = FrameHeader(
            command: .transaction, flags: .acceptFDs, dataLength: 4, transactionID: 9, target: 1, code: 1,
            deadline: 0x0000_0123_4567_89AB)
        let expected = hex(
            """
            01 03 1000 04000000 0900000000000000 0100000000000000
            01000000 00000000 0000 0000 00000000 00000000 00000000
            0000000000000000 ab89674523010000
            """)
        #expect(header.encoded() == expected)
        let decoded = try expected.withUnsafeBytes { try FrameHeader.decode(from: $0, messageLength: 64 + 4) }
        #expect(decoded == header && decoded.deadline == 0x0000_0123_4567_89AB)
    }

    @Test("decoding rejects what WIRE.md §3 forbids", arguments: [
        ("short", 10, FrameError.tooShort(10)),
        ("version", 64, FrameError.unsupportedVersion(2)),
        ("command", 64, FrameError.unknownCommand(10)),
        ("flags", 64, FrameError.unknownFlags(0x8000)),
        ("deadline", 64, FrameError.deadlineNotAllowed(.reply)),
        ("misaligned", 67, FrameError.misalignedData(3)),
        ("length", 80, FrameError.lengthMismatch(announced: 64, received: 80)),
    ])
    func decodeErrors(_ kind: String, _ length: Int, _ error: FrameError) {
        var bytes = FrameHeader(command: .transaction).encoded() + [UInt8](repeating: 0, count: max(0, length - 64))
        switch kind {
        case "version": bytes[0] = 2
        case "command": bytes[1] = 10
        case "flags": bytes[3] = 0x80
        case "deadline":
            bytes[1] = Command.reply.rawValue
            bytes[60] = 1
        case "misaligned": bytes[4] = 3
        default: break
        }
        #expect(throws: error) {
            try bytes.withUnsafeBytes { try FrameHeader.decode(from: $0, messageLength: length) }
        }
    }

    @Test("golden hello parcel, and hello/welcome round trips")
    func handshake() throws {
        var p = Parcel()
        Hello(session: 5, firstHandle: 9).write(to: &p)
        #expect(p.bytes == hex("424e4452 01000100 00000200 10000000 00000000 00000000 0500000000000000 09000000"))
        #expect(try Hello.read(from: &p) == Hello(session: 5, firstHandle: 9))
        // A 1.0 hello ends after maxThreads: no session.
        var old = Parcel(bytes: hex("424e4452 00000100 00000200 10000000 00000000 03000000"))
        let read = try Hello.read(from: &old)
        #expect(read.minor == 0 && read.maxThreads == 3 && read.session == 0 && read.firstHandle == 0)
        var w = Parcel()
        let welcome = Welcome(maxFrameSize: 4096, maxFDs: 8, connectionID: 3, pid: 42, uid: 1000, gid: 100, container: 2)
        welcome.write(to: &w)
        #expect(try Welcome.read(from: &w) == welcome)
        var bad = Parcel(bytes: hex("00000000 00000100 00000200 10000000 00000000 00000000"))
        #expect(throws: StatusCode.badValue) { try Hello.read(from: &bad) }
    }

    @Test("service names: 1–127 of [A-Za-z0-9_./-]")
    func names() {
        #expect(ServiceManagerInterface.isValidName("android.net.INetd/default"))
        #expect(ServiceManagerInterface.isValidName("a_b-c.d"))
        #expect(ServiceManagerInterface.isValidName(String(repeating: "x", count: 127)))
        #expect(!ServiceManagerInterface.isValidName(String(repeating: "x", count: 128)))
        #expect(!ServiceManagerInterface.isValidName(""))
        #expect(!ServiceManagerInterface.isValidName("has space"))
        #expect(!ServiceManagerInterface.isValidName("ünï"))
    }

    @Test("status names are Android's")
    func statusNames() {
        #expect(StatusCode.deadObject.name == "DEAD_OBJECT")
        #expect(StatusCode.deadObject.rawValue == -32)
        #expect(StatusCode.failedTransaction.rawValue == Int32.min + 2)
        #expect(StatusCode(rawValue: 5).name == "STATUS(5)")
    }

    @Test("broker status round-trips")
    func brokerStatus() throws {
        let s = BrokerStatus(
            brokerPID: 1, uptimeMillis: 2, transactions: 3, oneWay: 4, replies: 5, deadObjectReplies: 6, malformedDisconnects: 7,
            pendingTransactions: 8,
            connections: [.init(id: 1, pid: 2, uid: 3, gid: 4, container: 5, handles: 6, objects: 7, transactionsSent: 8, transactionsReceived: 9)],
            services: [.init(name: "echo", connection: 1, pid: 2, uid: 3, container: 0)])
        var p = Parcel()
        s.write(to: &p)
        #expect(try BrokerStatus.read(from: &p) == s)
    }
}
