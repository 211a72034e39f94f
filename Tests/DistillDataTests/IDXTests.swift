import Foundation
import XCTest
import DistillCore
@testable import DistillData

final class IDXTests: TempDirTestCase {
    func testImagesAndLabelsRoundTripRawAndGzip() throws {
        let pixels = pattern(5 * 4 * 3)
        let labels: [UInt8] = [3, 1, 4, 1, 5]
        for gz in [false, true] {
            let ip = path("images-\(gz)"), lp = path("labels-\(gz)")
            try IDX.write(IDXArray(uint8: pixels, shape: [5, 4, 3]), to: ip, gzip: gz)
            try IDX.write(IDXArray(uint8: labels, shape: [5]), to: lp, gzip: gz)
            let raw = try Data(contentsOf: URL(fileURLWithPath: ip))
            XCTAssertEqual(raw.prefix(2) == Data([0x1f, 0x8b]), gz, "gzip flag \(gz)")
            let images = try IDX.readImages(ip)
            XCTAssertEqual(images.shape, [5, 1, 4, 3])
            XCTAssertEqual(images.scalars, pixels.map { Float($0) / 255 })
            XCTAssertEqual(try IDX.readLabels(lp).scalars, [3, 1, 4, 1, 5])
        }
    }

    func testReadsGzipWrittenByPython() throws {
        let p = path("py-labels-idx1-ubyte.gz")
        _ = try runPython("import gzip,sys; gzip.open(sys.argv[1],'wb').write(bytes([0,0,8,1,0,0,0,4,7,0,9,2]))", [p])
        XCTAssertEqual(try IDX.readLabels(p).scalars, [7, 0, 9, 2])
    }

    func testFloat32AndWiderIntegerTypes() throws {
        let values: [Float] = [0.5, -1.25, 3e-3, 1e6, 0, -0]
        let fp = path("floats.idx")
        try IDX.write(IDXArray(float32: values, shape: [2, 3]), to: fp, gzip: false)
        let a = try IDX.read(fp)
        XCTAssertEqual(a.type, .float32)
        XCTAssertEqual(a.shape, [2, 3])
        XCTAssertEqual(a.tensor().scalars, values)
        // int16 and int32, big-endian, negative values included.
        let i16 = try writeBytes(idxHeader(type: 0x0B, dims: [3]) + [0x00, 0x05, 0xFF, 0xFE, 0x01, 0x00], "i16")
        XCTAssertEqual(try IDX.read(i16).ints(), [5, -2, 256])
        let i32 = try writeBytes(idxHeader(type: 0x0C, dims: [2]) + [0, 0, 1, 0, 0xFF, 0xFF, 0xFF, 0xFF], "i32")
        XCTAssertEqual(try IDX.read(i32).ints(), [256, -1])
        let f64 = try writeBytes(idxHeader(type: 0x0E, dims: [1]) + [0x3F, 0xF8, 0, 0, 0, 0, 0, 0], "f64")
        XCTAssertEqual(try IDX.read(f64).tensor().scalars, [1.5])
    }

    func testHeaderClaimingMoreImagesThanPresent() throws {
        let p = try writeBytes(Array(Zlib.gzip(idxHeader(type: 8, dims: [5, 4, 4]) + pattern(70))), "train-images-idx3-ubyte.gz")
        assertDataError([p, "header says 5 images of 4×4", "80 bytes", "holds 70 bytes"]) { _ = try IDX.readImages(p) }
        let extra = try writeBytes(idxHeader(type: 8, dims: [2]) + [1, 2, 3], "labels-extra")
        assertDataError([extra, "2 labels", "holds 3 bytes"]) { _ = try IDX.readLabels(extra) }
    }

    func testAGzipBombStopsWhereItsHeaderSaysTheDataEnds() throws {
        // 10 images of 28×28 promised (7,856 bytes), 64 MiB of zeros behind them: about 64 KB compressed
        let bomb = Zlib.gzip(idxHeader(type: 8, dims: [10, 28, 28]) + [UInt8](repeating: 0, count: 64 << 20))
        XCTAssertLessThan(bomb.count, 200_000)
        let p = try writeBytes(Array(bomb), "bomb-images-idx3-ubyte.gz")
        assertDataError([p, "more than the 7856 bytes its header promises"]) { _ = try IDX.readImages(p) }
    }

    func testFilesLargerThanTheMachineCanHoldAreRefusedBeforeReading() throws {
        // a sparse file of 4 × the limit: refused from its size, nothing allocated
        let p = try writeBytes(idxHeader(type: 8, dims: [1, 28, 28]), "sparse-images-idx3-ubyte")
        let h = try XCTUnwrap(FileHandle(forWritingAtPath: p))
        try h.truncate(atOffset: UInt64(Limits.maxFileBytes) * 4)
        try h.close()
        assertDataError([p, "read at once on this machine"]) { _ = try IDX.readImages(p) }
        // a gzip header promising more than that
        let g = try writeBytes(Array(Zlib.gzip(idxHeader(type: 8, dims: [0xFFFF_FFF0, 0xFFFF, 0xFF]))), "promise-images-idx3-ubyte.gz")
        assertDataError([g, "read at once on this machine"]) { _ = try IDX.readImages(g) }
    }

    func testHugeDimensionsDoNotOverflowOrCrash() throws {
        let p = try writeBytes(idxHeader(type: 0x0E, dims: [0xFFFF_FFFF, 0xFFFF_FFFF, 0xFFFF_FFFF]) + [1, 2, 3], "huge")
        assertDataError([p]) { _ = try IDX.read(p) }
        let q = try writeBytes(idxHeader(type: 8, dims: [0xFFFF_FFFF, 2, 2]), "huge-images")
        assertDataError([q, "4294967295 images of 2×2"]) { _ = try IDX.readImages(q) }
    }

    func testTruncatedHeaderAndStream() throws {
        let short = try writeBytes([0, 0, 8, 3, 0, 0, 0, 1, 0, 0], "short")
        assertDataError([short, "dimension 1 of 3", "offset 8"]) { _ = try IDX.read(short) }
        let tiny = try writeBytes([0, 0], "tiny")
        assertDataError([tiny, "2 bytes"]) { _ = try IDX.read(tiny) }
        let full = Zlib.gzip(idxHeader(type: 8, dims: [100, 10, 10]) + pattern(10_000))
        let cut = try writeBytes(Array(full.prefix(full.count / 2)), "cut.gz")
        assertDataError([cut, "ends early"]) { _ = try IDX.read(cut) }
        var corrupt = full
        for i in 20..<40 { corrupt[i] ^= 0x5A }
        let bad = try writeBytes(corrupt, "corrupt.gz")
        assertDataError([bad]) { _ = try IDX.read(bad) }
    }

    func testWrongMagic() throws {
        let labels = try writeBytes(idxHeader(type: 8, dims: [2]) + [1, 2], "labels")
        assertDataError([labels, "expected 0x00000803", "found 0x00000801"]) { _ = try IDX.readImages(labels) }
        let images = try writeBytes(idxHeader(type: 8, dims: [1, 1, 1]) + [9], "images")
        assertDataError([images, "expected 0x00000801", "found 0x00000803"]) { _ = try IDX.readLabels(images) }
        let zip = try writeBytes([0x50, 0x4B, 3, 4, 0, 0], "zip")
        assertDataError([zip, "wrong magic", "found 0x504b0304"]) { _ = try IDX.read(zip) }
        let dtype = try writeBytes([0, 0, 0x0A, 1, 0, 0, 0, 0], "dtype")
        assertDataError([dtype, "unsupported dtype", "0x0a"]) { _ = try IDX.read(dtype) }
    }

    func testMissingPath() throws {
        let p = path("nope/train-images-idx3-ubyte.gz")
        assertDataError([p, "no such file"]) { _ = try IDX.readImages(p) }
        XCTAssertEqual(try? IDX.read(p).count, nil)
    }
}
