import Testing

@testable import BinderWire

/// Hex helper for golden vectors: spaces and newlines are ignored.
func hex(_ s: String) -> [UInt8] {
    let digits = Array(s.utf8.filter { $0 != 0x20 && $0 != 0x0A })
    return stride(from: 0, to: digits.count, by: 2).map { UInt8(String(decoding: digits[$0..<$0 + 2], as: UTF8.self), radix: 16)! }
}

@Suite("Parcel layout (WIRE.md §4)")
struct ParcelTests {
    @Test("small integers and bools take 4 bytes, sign- or zero-extended")
    func smallIntegers() throws {
        var p = Parcel()
        p.write(true)
        p.write(Int8(-1))
        p.write(UInt8(0xFF))
        p.write(Int16(-2))
        p.write(UInt16(0xFFFE))
        #expect(p.bytes == hex("01000000 ffffffff ff000000 feffffff feff0000"))
        #expect(try p.readBool() == true)
        #expect(try p.read(Int8.self) == -1)
        #expect(try p.read(UInt8.self) == 0xFF)
        #expect(try p.read(Int16.self) == -2)
        #expect(try p.read(UInt16.self) == 0xFFFE)
        #expect(p.remaining == 0)
    }

    @Test("64-bit values, floats and doubles are little-endian and 4-byte aligned")
    func wideValues() throws {
        var p = Parcel()
        p.write(Int32(0x0102_0304))
        p.write(Int64(0x0102_0304_0506_0708))
        p.write(Float(1.0))
        p.write(Double(-2.0))
        #expect(p.bytes == hex("04030201 0807060504030201 0000803f 00000000000000c0"))
        #expect(try p.read(Int32.self) == 0x0102_0304)
        #expect(try p.read(Int64.self) == 0x0102_0304_0506_0708)
        #expect(try p.readFloat() == 1.0)
        #expect(try p.readDouble() == -2.0)
    }

    @Test("strings are UTF-8 with a byte length, zero-padded; null is -1")
    func strings() throws {
        var p = Parcel()
        p.write("echo")
        p.write("é")
        p.write(nil as String?)
        p.write("")
        #expect(p.bytes == hex("04000000 6563686f 02000000 c3a90000 ffffffff 00000000"))
        #expect(try p.readString() == "echo")
        #expect(try p.readString() == "é")
        #expect(try p.readString() == nil)
        #expect(try p.readString() == "")
    }

    @Test("byte arrays, arrays and nullable values")
    func containers() throws {
        var p = Parcel()
        p.write(bytes: [1, 2, 3])
        p.write(array: [Int32(7), 8]) { p, v in p.write(v) }
        p.write(array: nil as [Int32]?) { p, v in p.write(v) }
        p.write(nullable: Int64(5)) { p, v in p.write(v) }
        p.write(nullable: nil as Int64?) { p, v in p.write(v) }
        #expect(p.bytes == hex("03000000 01020300 02000000 07000000 08000000 ffffffff 01000000 0500000000000000 00000000"))
        #expect(try p.readBytes() == [1, 2, 3])
        #expect(try p.readArray { p throws(StatusCode) in try p.read(Int32.self) } == [7, 8])
        #expect(try p.readArray { p throws(StatusCode) in try p.read(Int32.self) } == nil)
        #expect(try p.readNullable { p throws(StatusCode) in try p.read(Int64.self) } == 5)
        #expect(try p.readNullable { p throws(StatusCode) in try p.read(Int64.self) } == nil)
    }

    @Test("a parcelable carries its size, so a reader skips fields it does not know")
    func parcelableSkipsUnknownFields() throws {
        var p = Parcel()
        p.writeParcelable { p in
            p.write(Int32(1))
            p.write("newer field")
        }
        p.write(Int32(99))
        #expect(Array(p.bytes[0..<4]) == hex("18000000"))
        let first = try p.readParcelable { p throws(StatusCode) in try p.read(Int32.self) }
        #expect(first == 1)
        #expect(try p.read(Int32.self) == 99)
    }

    @Test("object references are 16 bytes and their offsets are recorded")
    func objects() throws {
        var p = Parcel()
        p.write(Int32(0))
        p.write(object: .local(0x1122))
        p.write(object: .null)
        p.write(object: .handle(3))
        #expect(p.objectOffsets == [4, 36])
        #expect(p.bytes == hex("00000000 01000000 00000000 2211000000000000 00000000 00000000 0000000000000000 02000000 00000000 0300000000000000"))
        _ = try p.read(Int32.self)
        #expect(try p.readObject() == .local(0x1122))
        #expect(try p.readObject() == .null)
        #expect(try p.readObject() == .handle(3))
    }

    @Test("reading past the end is NOT_ENOUGH_DATA; malformed values are BAD_VALUE")
    func readErrors() {
        var empty = Parcel()
        #expect(throws: StatusCode.notEnoughData) { try empty.read(Int32.self) }
        var badBool = Parcel(bytes: hex("02000000"))
        #expect(throws: StatusCode.badValue) { try badBool.readBool() }
        var badUTF8 = Parcel(bytes: hex("02000000 c3280000"))
        #expect(throws: StatusCode.badValue) { try badUTF8.readString() }
        var shortString = Parcel(bytes: hex("10000000 41414141"))
        #expect(throws: StatusCode.notEnoughData) { try shortString.readString() }
        var hugeArray = Parcel(bytes: hex("ffffff7f"))
        #expect(throws: StatusCode.badValue) { try hugeArray.readArray { p throws(StatusCode) in try p.read(Int32.self) } }
        var narrow = Parcel(bytes: hex("00010000"))
        #expect(throws: StatusCode.badValue) { try narrow.read(UInt8.self) }
        var badKind = Parcel(bytes: hex("07000000 00000000 0000000000000000"))
        #expect(throws: StatusCode.badType) { try badKind.readObject() }
        var nullString = Parcel(bytes: hex("ffffffff"))
        #expect(throws: StatusCode.unexpectedNull) { try nullString.readNonNullString() }
    }

    @Test("AIDL exception header round-trips a service error")
    func exceptionHeader() throws {
        var p = Parcel()
        p.writeException(ServiceError(.serviceSpecific, "nope", serviceSpecificCode: 7))
        #expect(p.bytes == hex("f8ffffff 04000000 6e6f7065 07000000"))
        #expect(throws: ServiceError(.serviceSpecific, "nope", serviceSpecificCode: 7)) { try p.readException() }
        var ok = Parcel()
        ok.writeNoException()
        try ok.readException()
    }
}
