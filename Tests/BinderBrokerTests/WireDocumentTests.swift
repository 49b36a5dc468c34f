import BinderPlatform
import BinderWire
import Testing

#if canImport(Glibc)
import Glibc
#endif

@testable import BinderBrokerCore

/// Pins the worked examples of `Protocols/WIRE.md` §9 to what the code sends, so the document
/// cannot drift from the implementation.
@Suite("WIRE.md §9 worked examples")
struct WireDocumentTests {
    /// The hex dump under the heading that starts with `title`.
    static func example(_ title: String) throws -> [UInt8] {
        let root = "/" + "\(#filePath)".split(separator: "/").dropLast(3).joined(separator: "/")
        let text = try #require(FileSystem.readText(root + "/Protocols/WIRE.md"))
        let after = try #require(text.firstRange(of: "### " + title)).upperBound
        let rest = text[after...]
        let fenceStart = try #require(rest.firstRange(of: "```\n")).upperBound
        let fenceEnd = try #require(rest[fenceStart...].firstRange(of: "```")).lowerBound
        var bytes: [UInt8] = []
        for line in rest[fenceStart..<fenceEnd].split(separator: "\n") {
            let hexPart = line.split(separator: ":", maxSplits: 1).last ?? ""
            for pair in hexPart.split(separator: " ") { bytes.append(try #require(UInt8(pair, radix: 16))) }
        }
        return bytes
    }

    @Test("§9(a) hello with default limits")
    func hello() throws {
        var p = Parcel()
        Hello(session: 0x0123_4567_89AB_CDEF).write(to: &p)
        #expect(CoreHarness.frame(FrameHeader(command: .hello), p) == (try Self.example("§9(a)")))
    }

    @Test("§9(b) checkService(\"echo\") and §9(c) the broker's reply with handle 1")
    func checkServiceRoundTrip() throws {
        var request = Parcel()
        request.write("echo")
        let frame = CoreHarness.frame(FrameHeader(command: .transaction, transactionID: 1, target: 0, code: IServiceManager.Code.checkService.rawValue), request)
        #expect(frame == (try Self.example("§9(b)")))

        let h = CoreHarness()
        let owner = h.connect(1)
        let client = h.connect(2)
        _ = h.addService("echo", from: owner, cookie: 7)
        h.deliverRaw(from: client, frame)
        let reply = try #require(h.out.sent.last)
        #expect(CoreHarness.frame(reply.header, reply.parcel) == (try Self.example("§9(c)")))
    }

    @Test("§9(d) a call with a deadline and §9(e) the broker's TIMED_OUT once it has passed")
    func deadline() throws {
        var data = Parcel()
        data.write(Int32(5))
        let frame = CoreHarness.frame(
            FrameHeader(command: .transaction, flags: .acceptFDs, transactionID: 2, target: 1, code: 1, deadline: 0x0000_0123_4567_89AB), data)
        #expect(frame == (try Self.example("§9(d)")))

        let h = CoreHarness()
        let owner = h.connect(1)
        let client = h.connect(2)
        _ = h.addService("echo", from: owner, cookie: 7)
        #expect(try h.getService("echo", from: client).id == 1)
        h.now = 0x0000_0123_4567_89AB  // read at its deadline: too late
        let before = h.out.sent.count
        h.deliverRaw(from: client, frame)
        #expect(h.out.sent.count == before + 1, "only the answer: nothing went to the owner")
        let answer = try #require(h.out.sent.last)
        #expect(answer.to == client)
        #expect(CoreHarness.frame(answer.header, answer.parcel) == (try Self.example("§9(e)")))
    }
}
