import XCTest
import Foundation
import DistillCore
import DistillData

/// `distill condense` through the built binary: a short run writes every output and resumes
/// from its checkpoint; bad input is refused before work starts (rows of the bad-input table).
final class CondenseCLITests: XCTestCase {
    static func short(_ data: String, _ out: String, _ extra: [String] = []) -> [String] {
        ["condense", "--data", data, "--method", "dm", "--ipc", "1", "--iterations", "4", "--checkpoint-every", "2",
         "--model", "convnet3:width=4", "--batch-real", "8", "--eval-model", "convnet3:width=4", "--eval-epochs", "2",
         "--eval-networks", "2", "--whole-epochs", "1", "--cross", "mlp:16", "--out", out] + extra
    }

    func testShortRunWritesEveryOutputAndResumes() throws {
        let f = try BadInputTableTests.Fixture()
        let out = f.path("condensed")
        let r = try CLI.run(Self.short("mnist:\(f.path("ok"))", out), timeout: 300)
        XCTAssertEqual(r.status, 0, r.stderr)
        for name in ["report.md", "result.json", "accuracy.svg", "whole-train-cache.json", "ipc-1/synthetic.npy", "ipc-1/labels.npy",
                     "ipc-1/grid.png", "ipc-1/grid.svg", "ipc-1/checkpoint.safetensors"] {
            XCTAssertTrue(FileManager.default.fileExists(atPath: "\(out)/\(name)"), name)
        }
        let syn = try NumPy.read("\(out)/ipc-1/synthetic.npy")
        XCTAssertEqual(syn.shape, [10, 1, 28, 28])
        XCTAssertEqual(try NumPy.read("\(out)/ipc-1/labels.npy").intTensor().scalars, Array(0..<10))
        let report = try String(contentsOfFile: "\(out)/report.md", encoding: .utf8)
        for phrase in ["random real subset", "whole training set", "cross-architecture", "cost (s)"] { XCTAssertTrue(report.contains(phrase), phrase) }
        XCTAssertTrue(r.stdout.contains("random real subset"), r.stdout)
        // a second run in the same folder continues from the checkpoint, and the whole-set row comes from the cache
        let again = try CLI.run(Self.short("mnist:\(f.path("ok"))", out, ["--iterations", "6"]), timeout: 300)
        XCTAssertEqual(again.status, 0, again.stderr)
        XCTAssertTrue(again.stderr.contains("resumed at iteration 4"), again.stderr)
        XCTAssertTrue(again.stderr.contains("iteration 6/6"), again.stderr)
    }

}

/// Rows of the bad-input table for `distill condense`.
extension BadInputTableTests {
    func testBadCondensationInputIsRefusedBeforeWork() throws {
        let short = CondenseCLITests.short
        let f = try BadInputTableTests.Fixture()
        let wrong = f.path("wrong.npy")
        try NumPy.write(NumPyArray(Tensor.zeros([10, 1, 32, 32])), to: wrong)
        let data = "mnist:\(f.path("ok"))"
        try check([
            .init(what: "zero images per class", args: short(data, f.path("c1"), ["--ipc", "0"]), phrase: "images per class must be in 1…1000, got 0"),
            .init(what: "images per class not a number", args: short(data, f.path("c2"), ["--ipc", "ten"]), phrase: "is not a list of integers"),
            .init(what: "unknown method", args: short(data, f.path("c3"), ["--method", "kip"]), phrase: "unknown condensation method 'kip'; known methods: dm, dc, dsa"),
            .init(what: "init file of the wrong shape", args: short(data, f.path("c4"), ["--init-file", wrong]),
                  phrase: "synthetic set of shape [10, 1, 32, 32] does not fit the data set (expected [10, 1, 28, 28])"),
            .init(what: "DC at a size without reference loops", args: short(data, f.path("c5"), ["--method", "dc", "--ipc", "7"]), phrase: "get_loops"),
            .init(what: "DM on a model without an embedding", args: short(data, f.path("c6"), ["--model", "mlp:8"]), phrase: "use a convnet3 model"),
            .init(what: "unknown init", args: short(data, f.path("c7"), ["--init", "zeros"]), phrase: "must be real or noise"),
            .init(what: "unknown augmentation", args: short(data, f.path("c8"), ["--augment", "mixup"]), phrase: "unknown DSA transform 'mixup'"),
            .init(what: "no evaluation network", args: short(data, f.path("c9"), ["--eval-networks", "0"]), phrase: "eval-networks"),
        ])
        XCTAssertFalse(FileManager.default.fileExists(atPath: f.path("c4")), "the folder of a refused run is not created")
    }
}
