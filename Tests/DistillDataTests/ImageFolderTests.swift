import Foundation
import XCTest
import DistillCore
@testable import DistillData

/// Image folders in torchvision's `ImageFolder` layout, on PNGs and JPEGs the tests write with
/// libpng and TurboJPEG themselves.
final class ImageFolderTests: TempDirTestCase {
    /// Writes `DIR/relative` (creating folders): a PNG of `channels` 1–4 or, for `.jpg`, a JPEG.
    @discardableResult
    func image(_ relative: String, _ pixels: [UInt8], width: Int, height: Int, channels: Int = 1, quality: Int = 100) throws -> String {
        let p = path(relative)
        try FileManager.default.createDirectory(atPath: (p as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
        let bytes = relative.lowercased().hasSuffix(".png")
            ? try ImageCodec.encodePNG(pixels: pixels, width: width, height: height, channels: channels)
            : try ImageCodec.encodeJPEG(pixels: pixels, width: width, height: height, channels: channels, quality: quality)
        try Data(bytes).write(to: URL(fileURLWithPath: p))
        return p
    }

    func gray(_ seed: Int) -> [UInt8] { (0..<6).map { UInt8(($0 * 40 + seed * 7) % 256) } }

    func testGrayFolderGivesExactPixelsLabelsAndClassesInTorchvisionOrder() throws {
        // classes sort by code point ("C" < "a_dog" < "b_cat"); images 3 wide, 2 high
        try image("d/train/b_cat/z.png", gray(1), width: 3, height: 2)
        try image("d/train/b_cat/a.PNG", gray(2), width: 3, height: 2)
        try image("d/train/b_cat/sub/b.png", gray(3), width: 3, height: 2)     // nested: after the folder's own files
        try image("d/train/a_dog/x.png", gray(4), width: 3, height: 2)
        try image("d/train/C/y.png", gray(5), width: 3, height: 2)
        try image("d/test/b_cat/t.png", gray(6), width: 3, height: 2)           // test lacks two classes
        // ignored: other extensions, hidden files and folders, files outside class folders
        _ = try writeBytes(Array("notes".utf8), "d/train/C/readme.txt")
        _ = try writeBytes([1, 2, 3], "d/train/C/.DS_Store")
        try image("d/train/C/._y.png", [UInt8](repeating: 9, count: 25), width: 5, height: 5)
        try image("d/train/.ipynb_checkpoints/q.png", [UInt8](repeating: 9, count: 25), width: 5, height: 5)
        try image("d/train/loose.png", [UInt8](repeating: 9, count: 25), width: 5, height: 5)

        let (train, test) = try Dataset.imageFolder(directory: path("d"))
        XCTAssertEqual(train.classNames, ["C", "a_dog", "b_cat"])
        XCTAssertEqual(test.classNames, ["C", "a_dog", "b_cat"])
        XCTAssertEqual(train.classCount, 3)
        XCTAssertEqual(train.images.shape, [5, 1, 2, 3])
        XCTAssertEqual(train.labels.scalars, [0, 1, 2, 2, 2])
        let order = [5, 4, 2, 1, 3]   // C/y, a_dog/x, b_cat/a.PNG, b_cat/z, b_cat/sub/b
        XCTAssertEqual(train.images.scalars, order.flatMap { gray($0).map { Float($0) / 255 } })
        XCTAssertEqual(test.labels.scalars, [2])
        XCTAssertEqual(test.images.scalars, gray(6).map { Float($0) / 255 })
        XCTAssertEqual(train.name, "d-train")
        XCTAssertNoThrow(try train.checkTrainable(against: test))
    }

    func testAnyColourImageMakesEveryImageRGBAndAlphaIsDropped() throws {
        let rgba: [UInt8] = (0..<16).map { UInt8($0 * 13) }           // 2×2 RGBA
        try image("d/train/a/rgba.png", rgba, width: 2, height: 2, channels: 4)
        try image("d/train/b/gray.png", [10, 20, 30, 40], width: 2, height: 2)
        try image("d/train/b/ga.png", [50, 0, 60, 255, 70, 9, 80, 99], width: 2, height: 2, channels: 2)
        try image("d/test/a/gray.png", [1, 2, 3, 4], width: 2, height: 2)
        let (train, test) = try Dataset.imageFolder(directory: path("d"))
        XCTAssertEqual(train.imageShape, [3, 2, 2])
        XCTAssertEqual(test.imageShape, [3, 2, 2], "the colour of the training split promotes the test split too")
        let px = train.images.scalars.map { Int(($0 * 255).rounded()) }
        // RGBA → planes R, G, B without alpha; gray and gray+alpha replicated into the three planes
        XCTAssertEqual(Array(px[0..<12]), [0, 52, 104, 156, 13, 65, 117, 169, 26, 78, 130, 182])
        XCTAssertEqual(Array(px[12..<24]), [50, 60, 70, 80, 50, 60, 70, 80, 50, 60, 70, 80])
        XCTAssertEqual(Array(px[24..<36]), [10, 20, 30, 40, 10, 20, 30, 40, 10, 20, 30, 40])
        XCTAssertEqual(test.images.scalars.map { Int(($0 * 255).rounded()) }, [1, 2, 3, 4, 1, 2, 3, 4, 1, 2, 3, 4])
    }

    func testJPEGsDecodeAsTurboJPEGDecodesThem() throws {
        var g = SeededGenerator(seed: 3)
        let rgb = (0..<(8 * 8 * 3)).map { _ in UInt8(truncatingIfNeeded: 96 + g.nextInt(below: 64)) }
        let grayPixels = (0..<64).map { UInt8(truncatingIfNeeded: $0 * 3) }
        let colourFile = try image("d/train/colour/a.jpg", rgb, width: 8, height: 8, channels: 3)
        try image("d/train/gray/b.JPEG", grayPixels, width: 8, height: 8)
        try image("d/test/gray/c.jpeg", grayPixels, width: 8, height: 8)
        let (train, test) = try Dataset.imageFolder(directory: path("d"))
        XCTAssertEqual(train.imageShape, [3, 8, 8])
        let decoded = try Data(contentsOf: URL(fileURLWithPath: colourFile)).withUnsafeBytes { try ImageCodec.decodeJPEG($0, path: colourFile) }
        XCTAssertEqual(decoded.channels, 3)
        let first = Array(train.images.scalars[0..<192])
        for c in 0..<3 { for p in 0..<64 {
            XCTAssertEqual(first[c * 64 + p], Float(decoded.pixels[p * 3 + c]) / 255)            // exactly TurboJPEG's decode
            XCTAssertEqual(first[c * 64 + p] * 255, Float(rgb[p * 3 + c]), accuracy: 4)           // quality 100: close to the source
        } }
        for (k, v) in test.images.scalars.prefix(64).enumerated() { XCTAssertEqual(v * 255, Float(grayPixels[k]), accuracy: 2) }
    }

    func testTheChannelsOfAGrayJPEGAreOne() throws {
        try image("d/train/a/x.jpg", [UInt8](repeating: 200, count: 16), width: 4, height: 4)
        try image("d/test/a/y.png", [UInt8](repeating: 100, count: 16), width: 4, height: 4)
        XCTAssertEqual(try Dataset.imageFolder(directory: path("d")).train.imageShape, [1, 4, 4])
    }

    func testEveryBadFolderIsAnErrorNamingThePath() throws {
        try image("ok/train/a/x.png", gray(1), width: 3, height: 2)
        try image("ok/test/a/y.png", gray(2), width: 3, height: 2)
        func load(_ d: String) throws { _ = try Dataset.imageFolder(directory: path(d)) }
        assertDataError([path("nothing"), "no such folder"]) { try load("nothing") }

        try image("notest/train/a/x.png", gray(1), width: 3, height: 2)
        assertDataError([path("notest/test"), "no such folder", "train/ and test/"]) { try load("notest") }

        try image("sizes/train/a/x.png", gray(1), width: 3, height: 2)
        try image("sizes/train/a/y.png", [UInt8](repeating: 0, count: 4), width: 2, height: 2)
        try image("sizes/test/a/z.png", gray(1), width: 3, height: 2)
        assertDataError([path("sizes/train/a/y.png"), "2×2", path("sizes/train/a/x.png"), "3×2", "one size"]) { try load("sizes") }

        try image("testsize/train/a/x.png", gray(1), width: 3, height: 2)
        try image("testsize/test/a/z.png", [0, 0, 0, 0], width: 2, height: 2)
        assertDataError([path("testsize/test/a/z.png"), "2×2", "3×2"]) { try load("testsize") }

        try image("emptyclass/train/a/x.png", gray(1), width: 3, height: 2)
        try FileManager.default.createDirectory(atPath: path("emptyclass/train/b"), withIntermediateDirectories: true)
        _ = try writeBytes([1], "emptyclass/train/b/notes.txt")
        try image("emptyclass/test/a/y.png", gray(1), width: 3, height: 2)
        assertDataError([path("emptyclass/train/b"), "no PNG or JPEG images"]) { try load("emptyclass") }

        try FileManager.default.createDirectory(atPath: path("noclasses/train"), withIntermediateDirectories: true)
        try image("noclasses/test/a/y.png", gray(1), width: 3, height: 2)
        assertDataError([path("noclasses/train"), "no class folders"]) { try load("noclasses") }

        try image("stray/train/a/x.png", gray(1), width: 3, height: 2)
        try image("stray/test/zebra/y.png", gray(1), width: 3, height: 2)
        assertDataError([path("stray/test/zebra"), "'zebra' is not a class of"]) { try load("stray") }

        try image("bmp/train/a/x.png", gray(1), width: 3, height: 2)
        _ = try writeBytes([0x42, 0x4D, 0, 0], "bmp/train/a/old.BMP")
        try image("bmp/test/a/y.png", gray(1), width: 3, height: 2)
        assertDataError([path("bmp/train/a/old.BMP"), ".bmp", "PNG and JPEG"]) { try load("bmp") }
    }

    func testCorruptAndHugeImagesAreRefusedNamingTheFile() throws {
        let png = try ImageCodec.encodePNG(pixels: gray(1), width: 3, height: 2, channels: 1)
        let jpeg = try ImageCodec.encodeJPEG(pixels: gray(1), width: 3, height: 2, channels: 1)
        func folder(_ name: String, _ bytes: [UInt8], ext: String) throws -> String {
            try image("\(name)/test/a/y.png", gray(1), width: 3, height: 2)
            try FileManager.default.createDirectory(atPath: path("\(name)/train/a"), withIntermediateDirectories: true)
            _ = try writeBytes(bytes, "\(name)/train/a/bad.\(ext)")
            return path("\(name)/train/a/bad.\(ext)")
        }
        var corrupt = png
        corrupt[png.count - 20] ^= 0xFF                                   // inside the IDAT data: a CRC or zlib error
        var f = try folder("png", corrupt, ext: "png")
        assertDataError([f, "libpng cannot decode it"]) { _ = try Dataset.imageFolder(directory: path("png")) }
        f = try folder("truncated", Array(png.prefix(40)), ext: "png")
        assertDataError([f, "libpng cannot decode it"]) { _ = try Dataset.imageFolder(directory: path("truncated")) }
        f = try folder("jpeg", Array(jpeg.prefix(jpeg.count / 2)), ext: "jpg")
        assertDataError([f, "TurboJPEG cannot decode it"]) { _ = try Dataset.imageFolder(directory: path("jpeg")) }
        f = try folder("text", Array("not an image".utf8), ext: "png")
        assertDataError([f, "wrong magic number", "PNG"]) { _ = try Dataset.imageFolder(directory: path("text")) }
        f = try folder("empty", [], ext: "jpg")
        assertDataError([f, "wrong magic number"]) { _ = try Dataset.imageFolder(directory: path("empty")) }

        // header dimensions far beyond Limits.maxImagePixels: refused before any pixel buffer
        f = try folder("hugepng", Self.pngHeader(width: 100_000, height: 100_000) + Array(png[33...]), ext: "png")
        assertDataError([f, "100000×100000×1", "more than the \(Limits.maxImagePixels) pixels"]) { _ = try Dataset.imageFolder(directory: path("hugepng")) }
        f = try folder("hugejpeg", Self.jpegWithSize(jpeg, width: 65_000, height: 65_000), ext: "jpg")
        assertDataError([f, "65000×65000×1", "pixels"]) { _ = try Dataset.imageFolder(directory: path("hugejpeg")) }
    }

    func testDecodesThePixelsPILGivesTorchvision() throws {
        // torchvision's default loader is PIL's Image.open(f).convert("RGB"); files PIL writes in
        // the common variants (4:2:0 JPEG, palette PNG with transparency, 16-bit gray, gray+alpha)
        let script = """
        import sys
        try:
            from PIL import Image
        except ImportError:
            print('no PIL'); sys.exit(0)
        import numpy as np
        d = sys.argv[1]; rng = np.random.default_rng(1)
        Image.fromarray(rng.integers(0, 256, (9, 13, 3), dtype=np.uint8)).save(d + '/rgb.jpg', quality=75)
        Image.fromarray(rng.integers(0, 256, (9, 13), dtype=np.uint8)).save(d + '/gray.jpg', quality=90)
        p = Image.fromarray(rng.integers(0, 16, (9, 13), dtype=np.uint8), mode='P')
        p.putpalette(list(rng.integers(0, 256, 48, dtype=np.uint8))); p.info['transparency'] = 3; p.save(d + '/palette.png', transparency=3)
        Image.fromarray(rng.integers(0, 65536, (9, 13), dtype=np.uint16)).save(d + '/gray16.png')
        Image.fromarray(rng.integers(0, 256, (9, 13, 2), dtype=np.uint8), mode='LA').save(d + '/la.png')
        for n in ['rgb.jpg', 'palette.png', 'la.png']:
            open(d + '/' + n + '.raw', 'wb').write(np.asarray(Image.open(d + '/' + n).convert('RGB')).tobytes())
        open(d + '/gray.jpg.raw', 'wb').write(np.asarray(Image.open(d + '/gray.jpg').convert('L')).tobytes())
        a = np.asarray(Image.open(d + '/gray16.png')).astype(np.float64)
        open(d + '/gray16.png.raw', 'wb').write(np.round(a * 255 / 65535).astype(np.uint8).tobytes())
        print('ok')
        """
        let said = try runPython(script, [dir])
        if said == "no PIL" { throw XCTSkip("python3 has no PIL") }
        XCTAssertEqual(said, "ok")
        for (name, channels) in [("rgb.jpg", 3), ("gray.jpg", 1), ("palette.png", 3), ("la.png", 3), ("gray16.png", 1)] {
            let file = path(name)
            var image = try Data(contentsOf: URL(fileURLWithPath: file)).withUnsafeBytes { try ImageCodec.decode($0, path: file) }
            if channels == 3 { image = image.rgb }
            XCTAssertEqual([image.width, image.height, image.channels], [13, 9, channels], name)
            let expected = [UInt8](try Data(contentsOf: URL(fileURLWithPath: file + ".raw")))
            XCTAssertEqual(image.pixels, expected, "\(name): \(zip(image.pixels, expected).filter { $0 != $1 }.count) samples differ from PIL's")
        }
    }

    /// A PNG signature and an IHDR chunk (8-bit gray) of the given size, with a correct CRC.
    static func pngHeader(width: Int, height: Int) -> [UInt8] {
        func be(_ v: Int) -> [UInt8] { (0..<4).map { UInt8((v >> (24 - 8 * $0)) & 0xFF) } }
        let body = Array("IHDR".utf8) + be(width) + be(height) + [8, 0, 0, 0, 0]
        return ImageCodec.pngMagic + be(13) + body + be(Int(Zlib.crc32(body)))
    }

    /// A JPEG with the height and width of its SOF0 marker replaced.
    static func jpegWithSize(_ jpeg: [UInt8], width: Int, height: Int) -> [UInt8] {
        var b = jpeg
        guard let i = (0..<(b.count - 9)).first(where: { b[$0] == 0xFF && b[$0 + 1] == 0xC0 }) else { return b }
        b[i + 5] = UInt8(height >> 8); b[i + 6] = UInt8(height & 0xFF)
        b[i + 7] = UInt8(width >> 8); b[i + 8] = UInt8(width & 0xFF)
        return b
    }
}
