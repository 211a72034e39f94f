import XCTest
import Foundation
import DistillCore
import DistillData
import DistillNN
@testable import Distill

/// `--data` and the `data:` key of experiment files on your own data: the spec language, and the
/// data sets it loads behaving as the built-in ones do (subsets, model input, checks).
final class DataSpecTests: XCTestCase {
    func testOwnDataSpecsParseWithTheirOptions() throws {
        let f = try DataSpec("folder:/data/pets")
        XCTAssertEqual(f.family, "folder")
        XCTAssertEqual(f.directory, "/data/pets")
        XCTAssertEqual(f.options, [:])
        let c = try DataSpec("csv:/d/a.csv,/d/b.csv,layout=nhwc,shape=3x32x32")
        XCTAssertEqual(c.directory, "/d/a.csv,/d/b.csv")
        XCTAssertEqual(c.options, ["shape": "3x32x32", "layout": "nhwc"])
        XCTAssertEqual(c.description, "csv:/d/a.csv,/d/b.csv,layout=nhwc,shape=3x32x32")
        XCTAssertEqual(try DataSpec(c.description), c)
        XCTAssertEqual(try c.shape(), [3, 32, 32])
        XCTAssertEqual(try c.layout(), .nhwc)
        XCTAssertEqual(try DataSpec("npz:/k/mnist.npz,layout=NCHW").layout(), .nchw)
        XCTAssertEqual(try DataSpec("mnist:/odd,dir").directory, "/odd,dir", "built-in sets take no options")
    }

    func testBadSpecsNameTheFormsTheyExpect() {
        func message(_ s: String) -> String {
            do { _ = try DataSpec(s); return "" } catch { return "\(error)" }
        }
        XCTAssertTrue(message("pets:/x").contains("folder:DIR, npz:FILE.npz, npy:DIR, csv:DIR or csv:TRAIN.csv,TEST.csv"), message("pets:/x"))
        XCTAssertTrue(message("folder").contains("folder:DIRECTORY"))
        XCTAssertTrue(message("npz:").contains("npz:FILE.npz"))
        XCTAssertTrue(message("folder:/x,layout=nhwc").contains("folder:PATH without options"))
        XCTAssertTrue(message("npz:/a.npz,size=3").contains("options layout=… after npz:PATH, not 'size'"))
        XCTAssertTrue(message("npy:/a,layout=chw").contains("layout=nchw or layout=nhwc"))
        XCTAssertTrue(message("csv:/d,shape=0x3").contains("shape=CxHxW or shape=HxW"))
        XCTAssertTrue(message("csv:/d,shape=3x").contains("shape=CxHxW"))
        XCTAssertTrue(message("csv:/a,/b,/c").contains("two files"))
    }

    func testAnImageFolderLoadsThroughTheSpecLikeABuiltInSet() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("distill-spec-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: dir) }
        for (split, count) in [("train", 6), ("test", 2)] {
            for k in 0..<count {
                let cls = ["circle", "square"][k % 2], d = "\(dir)/\(split)/\(cls)"
                try FileManager.default.createDirectory(atPath: d, withIntermediateDirectories: true)
                let png = try ImageCodec.encodePNG(pixels: (0..<20).map { UInt8(($0 + k * 11) % 256) }, width: 5, height: 4, channels: 1)
                try Data(png).write(to: URL(fileURLWithPath: "\(d)/\(k).png"))
            }
        }
        let spec = try DataSpec("folder:\(dir)")
        let train = try spec.load(.train), test = try spec.load(.test)
        XCTAssertEqual(train.count, 6)
        XCTAssertEqual(test.count, 2)
        XCTAssertEqual(train.classNames, ["circle", "square"])
        XCTAssertEqual(train.labels.scalars, [0, 0, 0, 1, 1, 1])
        XCTAssertEqual(DataSpec.modelInput(for: train), ModelInput(channels: 1, height: 4, width: 5, classes: 2))
        XCTAssertNoThrow(try train.checkTrainable(against: test))
        XCTAssertEqual(train.first(2).count, 2)
        XCTAssertEqual(train.first(2).classNames, ["circle", "square"])
        let (a, b) = try train.split(heldOut: 2, seed: 1)
        XCTAssertEqual(a.count + b.count, 6)
        XCTAssertEqual(try spec.load(.train).images.storage === train.images.storage, true, "a split is decoded once per process")

        let yaml = "name: own\ndata: \"folder:\(dir)\"\nteacher: {model: \"mlp:8\"}\nstudent: {model: \"mlp:4\"}\n"
        XCTAssertEqual(try ExperimentConfig.parse(yaml, file: "own.yaml").data, "folder:\(dir)")
        XCTAssertThrowsError(try ExperimentConfig.parse("name: own\ndata: \"folder:\(dir),layout=nhwc\"\n", file: "own.yaml")) { e in
            XCTAssertTrue("\(e)".contains("key 'data'"), "\(e)")
        }
        do {
            _ = try DataSpec("folder:\(dir)/nothing").load(.train)
            XCTFail("loaded a folder that does not exist")
        } catch {
            XCTAssertTrue("\(error)".contains("\(dir)/nothing: no such folder"), "\(error)")
        }
    }
}
