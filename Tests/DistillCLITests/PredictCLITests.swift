import XCTest
import Foundation
import DistillCore
import DistillData

/// `distill predict`: a trained model used without writing code, on PNG files, a folder of them
/// and an `.npy` array, with the class names and input transform its file records.
final class PredictCLITests: XCTestCase {
    func testPredictionsOfFilesFoldersAndArraysAgreeAndNameTheClasses() throws {
        let root = try CLI.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: root) }
        // a folder data set of two shades, trained on with a normalisation the model must keep
        let data = root.appendingPathComponent("shades")
        try OwnDataCLITests.writeFolder(data, train: 40, test: 10)
        let run = root.appendingPathComponent("run").path
        let t = try CLI.run(["train", "--data", "folder:\(data.path)", "--model", "mlp:16", "--epochs", "3", "--lr", "0.1",
                             "--augment", "normalize:0.5:0.25", "--quiet", "--out", run])
        XCTAssertEqual(t.status, 0, t.stderr)
        let model = run + "/model.safetensors"
        let dark = data.appendingPathComponent("test/dark").path, light = data.appendingPathComponent("test/light").path
        let files = try FileManager.default.contentsOfDirectory(atPath: dark).sorted().map { dark + "/" + $0 }
        let r = try CLI.run(["predict", "--checkpoint", model, "--json", files[0], light])
        XCTAssertEqual(r.status, 0, r.stderr)
        let rows = r.stdout.split(separator: "\n").compactMap { try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any] }
        XCTAssertEqual(rows.count, 1 + 5)
        XCTAssertEqual(rows.first?["input"] as? String, files[0])
        XCTAssertEqual(rows.first?["class"] as? String, "dark")
        XCTAssertEqual(rows.dropFirst().map { $0["class"] as? String }, Array(repeating: "light", count: 5))
        let top = try XCTUnwrap(rows.first?["top"] as? [[String: Any]])
        XCTAssertEqual(top.count, 2, "two classes, fewer than --top 3")
        XCTAssertEqual(top.map { $0["probability"] as? Double ?? 0 }.reduce(0, +), 1, accuracy: 1e-5)

        // the same images as an .npy array [N, H, W] of uint8 give the same probabilities
        var pixels: [UInt8] = []
        for f in files {
            let bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: f)))
            pixels += try bytes.withUnsafeBytes { try ImageCodec.decode($0, path: f) }.pixels
        }
        let npy = root.appendingPathComponent("dark.npy").path
        try NumPy.write(NumPyArray(IntTensor(shape: [files.count, 8, 8], scalars: pixels.map(Int.init)), dtype: .uint8), to: npy)
        let a = try CLI.run(["predict", "--checkpoint", model, "--json", npy, dark])
        XCTAssertEqual(a.status, 0, a.stderr)
        let both = a.stdout.split(separator: "\n").compactMap { try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any] }
        XCTAssertEqual(both.count, 2 * files.count)
        for i in 0..<files.count {
            let p1 = (both[i]["top"] as? [[String: Any]])?.first?["probability"] as? Double
            let p2 = (both[files.count + i]["top"] as? [[String: Any]])?.first?["probability"] as? Double
            XCTAssertEqual(try XCTUnwrap(p1), try XCTUnwrap(p2), accuracy: 1e-6, "\(both[i]["input"] ?? "") vs \(both[files.count + i]["input"] ?? "")")
        }
        // a colour PNG is turned gray as PIL's convert("L") does; the plain output names the class
        let rgb = root.appendingPathComponent("rgb.png").path
        try Data(try ImageCodec.encodePNG(pixels: [UInt8](repeating: 200, count: 64 * 3), width: 8, height: 8, channels: 3)).write(to: URL(fileURLWithPath: rgb))
        let c = try CLI.run(["predict", "--checkpoint", model, rgb])
        XCTAssertEqual(c.status, 0, c.stderr)
        XCTAssertTrue(c.stdout.hasPrefix("\(rgb): light "), c.stdout)

        // bad inputs: an image of another size, a file that is no image, an unreadable path
        let big = root.appendingPathComponent("big.png").path
        try Data(try ImageCodec.encodePNG(pixels: [UInt8](repeating: 0, count: 100), width: 10, height: 10, channels: 1)).write(to: URL(fileURLWithPath: big))
        let text = root.appendingPathComponent("notes.png").path
        try Data("not an image".utf8).write(to: URL(fileURLWithPath: text))
        for (input, phrase) in [(big, "an image of 8×8 pixels"), (text, "notes.png"), (root.path + "/missing.png", "missing.png")] {
            let e = try CLI.run(["predict", "--checkpoint", model, input])
            XCTAssertEqual(e.status, 1, e.stderr)
            XCTAssertTrue(e.stderr.contains(phrase), "\(phrase) not in \(e.stderr)")
        }
    }
}
