import Foundation
import XCTest
import DistillCore
@testable import DistillData

final class NumPyTests: TempDirTestCase {
    func testSwiftRoundTripAllDTypes() throws {
        let t = Tensor(shape: [2, 3], scalars: [1, -2.5, 3, 0.125, 5, 6])
        for dtype in [NumPyArray.DType.float32, .float64] {
            try NumPy.write(NumPyArray(t, dtype: dtype), to: path("f.npy"))
            let back = try NumPy.read(path("f.npy"))
            XCTAssertEqual(back.dtype, dtype)
            XCTAssertEqual(back.shape, [2, 3])
            XCTAssertEqual(back.tensor.scalars, t.scalars)
        }
        for dtype in [NumPyArray.DType.int64, .int32, .uint8, .int8] {
            let values = dtype == .uint8 ? [0, 255, 7] : [-3, 0, 127]
            try NumPy.write(NumPyArray(IntTensor(values), dtype: dtype), to: path("i.npy"))
            let back = try NumPy.read(path("i.npy"))
            XCTAssertEqual(back.dtype, dtype)
            XCTAssertEqual(try back.intTensor().scalars, values, "\(dtype)")
        }
        // Data starts on a 64-byte boundary.
        let bytes = NumPy.encode(NumPyArray(Tensor([1, 2])))
        XCTAssertEqual((bytes.count - 8) % 64, 0)
        XCTAssertEqual(try NumPy.read(try writeBytes(NumPy.encode(NumPyArray(Tensor(4.5))), "scalar.npy")).shape, [])
    }

    func testArchiveRoundTrip() throws {
        let p = path("a.npz")
        try NumPy.writeArchive([("w", NumPyArray(Tensor(shape: [2, 2], scalars: [1, 2, 3, 4]))),
                                ("labels", NumPyArray(IntTensor([4, 5, 6])))], to: p)
        let a = try NumPy.readArchive(p)
        XCTAssertEqual(Set(a.keys), ["w", "labels"])
        XCTAssertEqual(a["w"]?.tensor.scalars, [1, 2, 3, 4])
        XCTAssertEqual(try a["labels"]?.intTensor().scalars, [4, 5, 6])
    }

    func testNumpyWritesSwiftReads() throws {
        let script = """
        import sys, numpy as np
        d = sys.argv[1]
        np.save(d + '/f4.npy', np.arange(12, dtype='<f4').reshape(3, 4) / 8)
        np.save(d + '/f8.npy', np.array([[1.5, -2.25]], dtype='<f8'))
        np.save(d + '/i8.npy', np.array([-1, 2, 3], dtype='<i8'))
        np.save(d + '/i4.npy', np.array([[7], [-8]], dtype='<i4'))
        np.save(d + '/u1.npy', np.array([0, 200, 255], dtype='u1'))
        np.save(d + '/fortran.npy', np.asfortranarray(np.ones((2, 3), dtype='<f4')))
        with open(d + '/v2.npy', 'wb') as f:
            np.lib.format.write_array(f, np.array([9, 8], dtype='<f4'), version=(2, 0))
        np.savez(d + '/plain.npz', a=np.arange(5, dtype='<f4'), b=np.array([[1, 2]], dtype='<i8'))
        np.savez_compressed(d + '/packed.npz', a=np.linspace(0, 1, 1000, dtype='<f4'), b=np.arange(300, dtype='<i4'))
        print('ok')
        """
        XCTAssertEqual(try runPython(script, [dir]), "ok")
        let f4 = try NumPy.read(path("f4.npy"))
        XCTAssertEqual(f4.shape, [3, 4])
        XCTAssertEqual(f4.tensor.scalars, (0..<12).map { Float($0) / 8 })
        XCTAssertEqual(try NumPy.read(path("f8.npy")).tensor.scalars, [1.5, -2.25])
        XCTAssertEqual(try NumPy.read(path("i8.npy")).intTensor().scalars, [-1, 2, 3])
        XCTAssertEqual(try NumPy.read(path("i4.npy")).intTensor(), IntTensor(shape: [2, 1], scalars: [7, -8]))
        XCTAssertEqual(try NumPy.read(path("u1.npy")).intTensor().scalars, [0, 200, 255])
        XCTAssertEqual(try NumPy.read(path("v2.npy")).tensor.scalars, [9, 8])
        assertDataError([path("fortran.npy"), "fortran_order", "True is not supported"]) { _ = try NumPy.read(path("fortran.npy")) }
        let plain = try NumPy.readArchive(path("plain.npz"))
        XCTAssertEqual(plain["a"]?.tensor.scalars, [0, 1, 2, 3, 4])
        XCTAssertEqual(try plain["b"]?.intTensor(), IntTensor(shape: [1, 2], scalars: [1, 2]))
        let packed = try NumPy.readArchive(path("packed.npz"))
        XCTAssertEqual(packed["a"]?.shape, [1000])
        XCTAssertEqual(packed["a"]?.tensor.scalars.last, 1)
        XCTAssertEqual(try packed["b"]?.intTensor().scalars, Array(0..<300))
    }

    func testSwiftWritesNumpyReads() throws {
        try NumPy.write(NumPyArray(Tensor(shape: [2, 3], scalars: [1, 2, 3, 4, 5, 6.5])), to: path("s.npy"))
        try NumPy.write(NumPyArray(IntTensor([-4, 9]), dtype: .int32), to: path("s32.npy"))
        try NumPy.writeArchive([("x", NumPyArray(Tensor([0.25, 0.5]))), ("y", NumPyArray(IntTensor(shape: [1, 2], scalars: [3, 4])))], to: path("s.npz"))
        let script = """
        import sys, numpy as np
        d = sys.argv[1]
        a = np.load(d + '/s.npy'); b = np.load(d + '/s32.npy'); z = np.load(d + '/s.npz')
        print(a.dtype, a.shape, a.sum(), a[1, 2], b.dtype, b.tolist(), sorted(z.files), z['x'].tolist(), z['y'].dtype, z['y'].tolist())
        """
        XCTAssertEqual(try runPython(script, [dir]), "float32 (2, 3) 21.5 6.5 int32 [-4, 9] ['x', 'y'] [0.25, 0.5] int64 [[3, 4]]")
    }

    /// An `.npy` with a hand-written header.
    func npy(_ header: String, data: [UInt8], version: UInt8 = 1, lengthOverride: Int? = nil) -> [UInt8] {
        let h = Array(header.utf8)
        let l = lengthOverride ?? h.count
        return NumPy.magic + [version, 0, UInt8(l & 255), UInt8(l >> 8)] + h + data
    }

    func testBadHeaders() throws {
        let beyond = try writeBytes(npy("{'descr': '<f4', 'fortran_order': False, 'shape': (1,), }", data: [], lengthOverride: 5000), "beyond.npy")
        assertDataError([beyond, "header length 5000", "past the end"]) { _ = try NumPy.read(beyond) }
        let dtype = try writeBytes(npy("{'descr': '<c8', 'fortran_order': False, 'shape': (1,), }", data: pattern(8)), "c8.npy")
        assertDataError([dtype, "unsupported dtype", "'<c8'"]) { _ = try NumPy.read(dtype) }
        let bigEndian = try writeBytes(npy("{'descr': '>f4', 'fortran_order': False, 'shape': (1,), }", data: pattern(4)), "be.npy")
        assertDataError([bigEndian, "'>f4'"]) { _ = try NumPy.read(bigEndian) }
        let count = try writeBytes(npy("{'descr': '<f4', 'fortran_order': False, 'shape': (3, 4), }", data: pattern(40)), "count.npy")
        assertDataError([count, "shape [3, 4]", "needs 48 data bytes but 40 follow"]) { _ = try NumPy.read(count) }
        let noShape = try writeBytes(npy("{'descr': '<f4', 'fortran_order': False}", data: []), "noshape.npy")
        assertDataError([noShape, "'shape'"]) { _ = try NumPy.read(noShape) }
        let garbage = try writeBytes(npy("{'descr': '<f4', 'shape': (2, x)}", data: []), "garbage.npy")
        assertDataError([garbage, "header", "integer dimension"]) { _ = try NumPy.read(garbage) }
        let magic = try writeBytes(Array("PK\u{3}\u{4}hello".utf8), "magic.npy")
        assertDataError([magic, "wrong magic", "\\x93NUMPY"]) { _ = try NumPy.read(magic) }
        let version = try writeBytes(npy("{}", data: [], version: 9), "v9.npy")
        assertDataError([version, "format version", "9.0"]) { _ = try NumPy.read(version) }
        let stub = try writeBytes(NumPy.magic + [1], "stub.npy")
        assertDataError([stub, "format minor version"]) { _ = try NumPy.read(stub) }
    }

    func testBadArchives() throws {
        let p = path("a.npz")
        try NumPy.writeArchive([("w", NumPyArray(Tensor([1, 2, 3])))], to: p)
        var bytes = Array(try Data(contentsOf: URL(fileURLWithPath: p)))
        // Flip a data byte: the CRC no longer matches.
        var corrupt = bytes
        corrupt[30 + 5 + 130] ^= 1
        let c = try writeBytes(corrupt, "corrupt.npz")
        assertDataError([c + "[w.npy]", "CRC-32"]) { _ = try NumPy.readArchive(c) }
        // Cut the archive: no end record.
        let cut = try writeBytes(Array(bytes.prefix(bytes.count - 30)), "cut.npz")
        assertDataError([cut, "end-of-central-directory"]) { _ = try NumPy.readArchive(cut) }
        // Directory offset pointing past the end.
        bytes[bytes.count - 6] = 0xFF
        let off = try writeBytes(bytes, "offset.npz")
        assertDataError([off, "central directory"]) { _ = try NumPy.readArchive(off) }
        let tiny = try writeBytes([1, 2, 3], "tiny.npz")
        assertDataError([tiny, "too short"]) { _ = try NumPy.readArchive(tiny) }
    }
}
