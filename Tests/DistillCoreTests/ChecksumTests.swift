import XCTest
@testable import DistillCore

/// XXH64 against the reference implementation (`Fixtures/make_xxh64_values.py`): every tail
/// length (no stripe, whole stripes, 8-, 4- and 1-byte tails) and a seed.
final class ChecksumTests: XCTestCase {
    func testMatchesTheReferenceImplementation() {
        XCTAssertEqual(Checksum.xxh64([]), 0xef46_db37_51d8_e999)
        XCTAssertEqual(Checksum.xxh64(Array("a".utf8)), 0xd24e_c4f1_a98c_6e5b)
        XCTAssertEqual(Checksum.xxh64(Array("abc".utf8)), 0x44bc_2cf5_ad77_0999)
        XCTAssertEqual(Checksum.xxh64(Array("0123456789abcdef0123456789abcdef".utf8)), 0x642a_9495_8e71_e6c5)
        let long = (0..<3).flatMap { _ in (0..<256).map { UInt8($0) } } + Array("xyz".utf8)   // 771 bytes
        XCTAssertEqual(Checksum.xxh64(long), 0xe921_a1b4_5bd7_79f8)
        XCTAssertEqual(Checksum.xxh64(Array("abc".utf8), seed: 7), 0x9e75_5206_1566_76d7)
    }

    func testEveryFlippedBitChangesTheChecksum() {
        var bytes = (0..<100).map { UInt8(truncatingIfNeeded: $0 &* 37) }
        let h = Checksum.xxh64(bytes)
        for i in 0..<bytes.count {
            for b in 0..<8 {
                bytes[i] ^= 1 << b
                XCTAssertNotEqual(Checksum.xxh64(bytes), h, "byte \(i) bit \(b)")
                bytes[i] ^= 1 << b
            }
        }
        XCTAssertEqual(Checksum.hex(0xab), "00000000000000ab")
    }
}
