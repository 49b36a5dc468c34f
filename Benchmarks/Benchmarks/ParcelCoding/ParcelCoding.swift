// Micro-benchmarks of the wire layer: parcel encode/decode and the 64-byte frame header.
//
// Every benchmark runs its operation `scalingFactor` (1000) times per measured iteration, so the
// clock and malloc counters are read once per 1000 operations; `--scale` reports per operation.
// State that is not part of the operation (payloads, the reused parcel, the decoded-from parcel,
// the header buffer) is built before `startMeasurement()`.

import Benchmark
import BinderWire

let benchmarks: @Sendable () -> Void = {
    Benchmark.defaultConfiguration = .init(
        metrics: [.wallClock, .cpuTotal, .mallocCountTotal, .throughput],
        warmupIterations: 10,
        scalingFactor: .kilo,
        maxDuration: .seconds(1),
        maxIterations: 10_000
    )

    // MARK: Parcel encode, raw payloads

    for size in [32, 4096] {
        Benchmark("Parcel.writeRaw \(size == 4096 ? "4 KiB" : "\(size) B"), reused parcel") { benchmark in
            let payload = (0..<size).map { UInt8(truncatingIfNeeded: $0) }
            var parcel = Parcel(reservingCapacity: size + 64)
            benchmark.startMeasurement()
            payload.withUnsafeBytes { raw in
                for _ in benchmark.scaledIterations {
                    parcel.removeAll()
                    parcel.writeRaw(raw)
                    blackHole(parcel.count)
                }
            }
        }
    }

    // MARK: Parcel encode/decode, a typical mixed call

    Benchmark("Parcel encode mixed, reused parcel") { benchmark in
        var parcel = Parcel(reservingCapacity: 256)
        let blob = MixedCall.blob
        benchmark.startMeasurement()
        for _ in benchmark.scaledIterations {
            parcel.removeAll()
            MixedCall.encode(into: &parcel, blob: blob)
            blackHole(parcel.count)
        }
    }

    Benchmark("Parcel decode mixed") { benchmark in
        var parcel = Parcel(reservingCapacity: 256)
        MixedCall.encode(into: &parcel, blob: MixedCall.blob)
        try MixedCall.check(parcel)
        benchmark.startMeasurement()
        for _ in benchmark.scaledIterations {
            parcel.readPosition = 0
            let name = try parcel.readNonNullString()
            let code = try parcel.read(Int32.self)
            let sequence = try parcel.read(Int64.self)
            let flag = try parcel.readBool()
            let blob = try parcel.readBytes()
            let object = try parcel.readObject()
            blackHole(name)
            blackHole(code)
            blackHole(sequence)
            blackHole(flag)
            blackHole(blob)
            blackHole(object)
        }
    }

    // MARK: Frame header

    Benchmark("FrameHeader.encode into 64 B") { benchmark in
        var header = FrameHeader.sample
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: FrameHeader.size, alignment: 8)
        defer { buffer.deallocate() }
        benchmark.startMeasurement()
        for i in benchmark.scaledIterations {
            header.transactionID = UInt64(i)
            header.encode(into: buffer.baseAddress!)
            blackHole(buffer.load(fromByteOffset: 8, as: UInt64.self))
        }
        benchmark.stopMeasurement()
    }

    Benchmark("FrameHeader.decode") { benchmark in
        let header = FrameHeader.sample
        let bytes = header.encoded()
        let messageLength = header.frameLength
        guard (try? bytes.withUnsafeBytes { try FrameHeader.decode(from: $0, messageLength: messageLength) }) == header else {
            return benchmark.error("FrameHeader.decode does not round-trip the sample header")
        }
        benchmark.startMeasurement()
        try bytes.withUnsafeBytes { raw in
            for _ in benchmark.scaledIterations {
                blackHole(try FrameHeader.decode(from: raw, messageLength: messageLength))
            }
        }
    }
}

/// A typical small transaction: interface name, method code, sequence number, a flag,
/// a 64-byte blob and one binder object.
enum MixedCall {
    static let name = "org.example.IEchoService"  // 24 bytes: a heap String when decoded
    static let blob: [UInt8] = (0..<64).map { UInt8(truncatingIfNeeded: $0 &* 7) }
    static let object = ObjectRef.local(0xC0FF_EE00_1234)

    @inline(__always)
    static func encode(into parcel: inout Parcel, blob: [UInt8]) {
        parcel.write(name)
        parcel.write(Int32(42))
        parcel.write(Int64(1_234_567_890_123))
        parcel.write(true)
        parcel.write(bytes: blob)
        parcel.write(object: object)
    }

    static func check(_ encoded: Parcel) throws {
        var p = encoded
        p.readPosition = 0
        guard try p.readNonNullString() == name, try p.read(Int32.self) == 42,
            try p.read(Int64.self) == 1_234_567_890_123, try p.readBool(),
            try p.readBytes() == blob, try p.readObject() == object, p.remaining == 0
        else { fatalError("MixedCall does not round-trip") }
    }
}

extension FrameHeader {
    /// A two-way transaction header as the broker forwards it: 128 parcel bytes, one object, stamped sender.
    static let sample = FrameHeader(
        command: .transaction, flags: [.acceptFDs], dataLength: 128, transactionID: 0x1_0000_0001,
        target: 0xC0FF_EE00_1234, code: 7, objectCount: 1,
        sender: SenderStamp(pid: 4242, uid: 1000, container: 0))
}
