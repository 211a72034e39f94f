import XCTest
import Foundation
import DistillCore
import DistillData

/// The built binary on your own data: an image folder of PNGs written here, an `.npz` and CSV
/// files, through `--data` of `train` (with `--subset`) and `eval`.
final class OwnDataCLITests: XCTestCase {
    /// `DIR/{train,test}/{dark,light}/N.png`: 8×8 gray images, dark or light with noise.
    static func writeFolder(_ root: URL, train: Int, test: Int) throws {
        var state: UInt32 = 12345
        func noise() -> Int { state = state &* 1_103_515_245 &+ 12345; return Int(state >> 16) % 40 }
        for (split, count) in [("train", train), ("test", test)] {
            for k in 0..<count {
                let cls = k % 2 == 0 ? "dark" : "light"
                let pixels = (0..<64).map { _ in UInt8((cls == "dark" ? 20 : 190) + noise()) }
                let d = root.appendingPathComponent("\(split)/\(cls)")
                try FileManager.default.createDirectory(at: d, withIntermediateDirectories: true)
                try Data(try ImageCodec.encodePNG(pixels: pixels, width: 8, height: 8, channels: 1)).write(to: d.appendingPathComponent("\(k).png"))
            }
        }
    }

    func testTrainAndEvalOnAFolderOfPNGs() throws {
        let root = try CLI.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: root) }
        let data = root.appendingPathComponent("shades")
        try Self.writeFolder(data, train: 40, test: 10)
        let out = root.appendingPathComponent("run")
        let r = try CLI.run(["train", "--data", "folder:\(data.path)", "--model", "mlp:32", "--epochs", "1", "--quiet", "--out", out.path])
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertTrue(r.stderr.contains("on folder:\(data.path) (40 train / 10 test)"), r.stderr)
        XCTAssertTrue(FileManager.default.fileExists(atPath: out.appendingPathComponent("model.safetensors").path))
        let e = try CLI.run(["eval", "--checkpoint", out.appendingPathComponent("model.safetensors").path, "--data", "folder:\(data.path)"])
        XCTAssertEqual(e.status, 0, e.stderr)
        let s = try CLI.run(["train", "--data", "folder:\(data.path)", "--subset", "6", "--model", "mlp:8", "--epochs", "1", "--quiet",
                             "--out", root.appendingPathComponent("subset").path])
        XCTAssertEqual(s.status, 0, s.stderr)
        XCTAssertTrue(s.stderr.contains("(6 train / 10 test)"), s.stderr)
    }

    func testTrainOnAnNPZAndOnCSVFiles() throws {
        let root = try CLI.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: root) }
        let images = NumPyArray(IntTensor(shape: [12, 4, 4], scalars: (0..<192).map { $0 % 256 }), dtype: .uint8)
        let labels = NumPyArray(IntTensor((0..<12).map { $0 % 3 }))
        let npz = root.appendingPathComponent("arrays.npz").path
        try NumPy.writeArchive([("x_train", images), ("y_train", labels), ("x_test", images), ("y_test", labels)], to: npz)
        var r = try CLI.run(["train", "--data", "npz:\(npz)", "--model", "mlp:8", "--epochs", "1", "--quiet", "--out", root.appendingPathComponent("a").path])
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertTrue(r.stderr.contains("(12 train / 12 test)"), r.stderr)

        let rows = (0..<10).map { i in "\(i % 2)," + (0..<9).map { String(($0 * 25 + i * 3) % 256) }.joined(separator: ",") }
        let csv = "label," + (1...9).map { "pixel\($0)" }.joined(separator: ",") + "\n" + rows.joined(separator: "\n") + "\n"
        try Data(csv.utf8).write(to: root.appendingPathComponent("train.csv"))
        try Data(csv.utf8).write(to: root.appendingPathComponent("test.csv"))
        r = try CLI.run(["train", "--data", "csv:\(root.path)", "--model", "mlp:8", "--epochs", "1", "--quiet", "--out", root.appendingPathComponent("c").path])
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertTrue(r.stderr.contains("(10 train / 10 test)"), r.stderr)
    }
}
