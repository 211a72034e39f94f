import XCTest
import Foundation
import DistillCore
import DistillData

/// The promise of the README, checked rather than hoped: every row is a bad input given to the
/// built binary, which must exit with status 1 (never a signal, never a hang) and print a message
/// holding the row's key phrase. The rows cover the classes of traps found by hand and by
/// fuzzing (issue 11); each was a crash before its fix.
final class BadInputTableTests: XCTestCase {
    struct Row {
        let what: String
        let args: [String]
        let phrase: String
    }

    /// Tiny IDX data sets (generated here, nothing downloaded), experiment files and checkpoints.
    final class Fixture {
        let root: URL
        init() throws {
            root = try CLI.temporaryDirectory()
            var g = SplitMix(seed: 7)
            for (name, train, test) in [("ok", (300, 28), (10, 28)), ("shapes", (30, 28), (10, 14)), ("empty", (0, 28), (10, 28))] {
                try writeIDX(name, "train", count: train.0, side: train.1, &g)
                try writeIDX(name, "t10k", count: test.0, side: test.1, &g)
            }
            for (name, value) in [("nan-labels", Double.nan), ("inf-labels", Double.infinity), ("huge-labels", 1e30)] {
                try writeIDX(name, "train", count: 30, side: 28, &g, floatLabels: value)
                try writeIDX(name, "t10k", count: 10, side: 28, &g)
            }
            // a training-image file twice the size of this machine's memory (sparse: costs nothing)
            try writeIDX("sparse", "train", count: 30, side: 28, &g)
            try writeIDX("sparse", "t10k", count: 10, side: 28, &g)
            let big = try FileHandle(forWritingTo: root.appendingPathComponent("sparse/train-images-idx3-ubyte"))
            try big.truncate(atOffset: ProcessInfo.processInfo.physicalMemory * 2)
            try big.close()
            try write("empty.yaml", "")
            try write("comments.yaml", "# nothing here\n")
            try write("traversal.yaml", "name: ../../../escaped\n")
            try write("no-method.yaml", "name: m\nmethod:\n")
            try write("huge-epochs.yaml", "name: e\nstudent: {train: {epochs: 9223372036854775807}}\n")
            try write("huge-threads.yaml", "name: t\nthreads: 100000\n")
            try write("text-model.yaml", "name: t\nstudent: {model: \"transformer:vocab=10\"}\n")
            try write("noise-rate.yaml", "name: n\nlabel_noise: {kind: pair, rate: 1}\n")
            try write("stop-epoch.yaml", "name: s\nteacher: {stop_epoch: 9, train: {epochs: 4}}\n")
            try write("student-smoothing.yaml", "name: l\nstudent: {train: {label_smoothing: 0.1}}\n")
            try write("val-split.yaml", "name: v\nstudent: {train: {val_split: -0.5}}\n")
            try write("forget-rate.yaml", "name: c\nscheme: {kind: co-teaching, participants: [{name: f, model: \"mlp:8\"}, {name: g, model: \"mlp:8\"}]}\n")
            try write("drop-all.yaml", "name: d\ndata: mnist:\(path("ok"))\ntransfer: {kind: drop-classes, classes: [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]}\n")
            // your own data: image folders, arrays and CSV files that are wrong in one way each
            let png = try ImageCodec.encodePNG(pixels: [UInt8](repeating: 7, count: 12), width: 4, height: 3, channels: 1)
            let small = try ImageCodec.encodePNG(pixels: [1, 2, 3, 4], width: 2, height: 2, channels: 1)
            var corrupt = png
            corrupt[png.count - 20] ^= 0xFF
            let huge = png.prefix(16) + [0, 1, 0x86, 0xA0, 0, 1, 0x86, 0xA0, 8, 0, 0, 0, 0]   // IHDR 100000×100000
            let ihdr = Array(huge.suffix(17))
            let hugePNG = Array(huge) + withUnsafeBytes(of: Zlib.crc32(ihdr).bigEndian) { Array($0) } + png[33...]
            for (dir, files) in [("folder-notest", [("train/a/x.png", png)]),
                                 ("folder-sizes", [("train/a/x.png", png), ("train/b/y.png", small), ("test/a/z.png", png)]),
                                 ("folder-corrupt", [("train/a/x.png", png), ("train/a/y.png", corrupt), ("test/a/z.png", png)]),
                                 ("folder-huge", [("train/a/x.png", hugePNG), ("test/a/z.png", png)]),
                                 ("folder-empty-class", [("train/a/x.png", png), ("train/b/notes.txt", [1]), ("test/a/z.png", png)])] {
                for (name, bytes) in files {
                    let url = root.appendingPathComponent("\(dir)/\(name)")
                    try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
                    try Data(bytes).write(to: url)
                }
            }
            let images = NumPyArray(IntTensor(shape: [2, 2, 2], scalars: [Int](repeating: 9, count: 8)), dtype: .uint8)
            try NumPy.writeArchive([("x_train", images), ("y_train", NumPyArray(IntTensor([0, -3]))), ("x_test", images), ("y_test", NumPyArray(IntTensor([0, 1])))],
                                   to: path("bad-labels.npz"))
            try FileManager.default.createDirectory(at: root.appendingPathComponent("csv-ragged"), withIntermediateDirectories: true)
            try write("csv-ragged/train.csv", "label,p1,p2,p3,p4\n0,1,2,3,4\n1,1,2,3\n")
            try write("csv-ragged/test.csv", "label,p1,p2,p3,p4\n0,1,2,3,4\n")
            try write("pixel.csv", "label,p1,p2,p3,p4\n0,1,2,x,4\n")
        }

        deinit { try? FileManager.default.removeItem(at: root) }

        func path(_ name: String) -> String { root.appendingPathComponent(name).path }

        func write(_ name: String, _ text: String) throws {
            try Data(text.utf8).write(to: root.appendingPathComponent(name))
        }

        /// MNIST-format files: uint8 images [N, side, side] and uint8 labels, or float64 labels
        /// with `floatLabels` at row 3.
        func writeIDX(_ dir: String, _ prefix: String, count n: Int, side: Int, _ g: inout SplitMix, floatLabels: Double? = nil) throws {
            let d = root.appendingPathComponent(dir)
            try FileManager.default.createDirectory(at: d, withIntermediateDirectories: true)
            func be(_ v: Int) -> [UInt8] { withUnsafeBytes(of: UInt32(v).bigEndian) { Array($0) } }
            var images = [0, 0, 8, 3] + be(n) + be(side) + be(side)
            for _ in 0..<(n * side * side) { images.append(UInt8(truncatingIfNeeded: g.next())) }
            var labels: [UInt8]
            if let bad = floatLabels {
                labels = [0, 0, 0x0E, 1] + be(n)
                for i in 0..<n {
                    let v = i == 3 ? bad : Double(g.next() % 10)
                    labels += withUnsafeBytes(of: v.bitPattern.bigEndian) { Array($0) }
                }
            } else {
                labels = [0, 0, 8, 1] + be(n)
                for _ in 0..<n { labels.append(UInt8(g.next() % 10)) }
            }
            try Data(images).write(to: d.appendingPathComponent("\(prefix)-images-idx3-ubyte"))
            try Data(labels).write(to: d.appendingPathComponent("\(prefix)-labels-idx1-ubyte"))
        }

        /// A trained tiny checkpoint, and the same file with its first weight set to NaN.
        func checkpoints() throws -> (good: String, nan: String) {
            let out = root.appendingPathComponent("teacher")
            if !FileManager.default.fileExists(atPath: out.appendingPathComponent("model.safetensors").path) {
                let r = try CLI.run(["train", "--data", "mnist:\(path("ok"))", "--model", "mlp:8", "--epochs", "1", "--quiet", "--out", out.path])
                XCTAssertEqual(r.status, 0, r.stderr)
            }
            let good = out.appendingPathComponent("model.safetensors").path
            var bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: good)))
            let header = bytes[0..<8].enumerated().reduce(0) { $0 | Int($1.element) << (8 * $1.offset) }
            let nan = Float.nan.bitPattern
            for k in 0..<4 { bytes[8 + header + k] = UInt8(truncatingIfNeeded: nan >> (8 * UInt32(k))) }   // the first element of the data
            let bad = root.appendingPathComponent("nan.safetensors").path
            try Data(bytes).write(to: URL(fileURLWithPath: bad))
            return (good, bad)
        }
    }

    struct SplitMix {
        var state: UInt64
        init(seed: UInt64) { state = seed }
        mutating func next() -> UInt64 {
            state &+= 0x9E37_79B9_7F4A_7C15
            var z = state
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }
    }

    func check(_ rows: [Row], file: StaticString = #filePath, line: UInt = #line) throws {
        for row in rows {
            let r = try CLI.run(row.args, timeout: 60)
            XCTAssertFalse(r.signalled, "\(row.what): killed by a signal\n\(r.stderr.suffix(2000))", file: file, line: line)
            XCTAssertEqual(r.status, 1, "\(row.what): exit status \(r.status)\n\(r.stderr.suffix(2000))", file: file, line: line)
            XCTAssertTrue(r.stderr.contains(row.phrase), "\(row.what): '\(row.phrase)' not in\n\(r.stderr.suffix(2000))", file: file, line: line)
        }
    }

    func testBadSpecsAndSizesAreRefused() throws {
        let f = try Fixture()
        let data = ["--data", "mnist:\(f.path("ok"))"]
        func train(_ extra: [String]) -> [String] { ["train"] + data + ["--epochs", "1", "--quiet", "--out", f.path("run-\(UUID().uuidString)")] + extra }
        try check([
            Row(what: "transformer heads=0", args: ["models", "transformer:heads=0"], phrase: "option 'heads' expects an integer in 1…"),
            Row(what: "parameter count overflows Int", args: ["models", "mlp:1048576x1048576x1048576x1048576x1048576"], phrase: "the limit on this machine"),
            Row(what: "hundreds of gigabytes", args: ["models", "mlp:1000000x1000000"], phrase: "DISTILL_MAX_PARAMETERS"),
            Row(what: "width beyond the bound", args: ["models", "mlp:9223372036854775807"], phrase: "is not a list of widths"),
            Row(what: "mlp: with nothing after the colon", args: ["models", "mlp:"], phrase: "is followed by nothing"),
            Row(what: "mlp:100x", args: ["models", "mlp:100x"], phrase: "is not a list of widths"),
            Row(what: "zero-width layer", args: ["models", "mlp:0"], phrase: "is not a list of widths"),
            Row(what: "cnn bn=2", args: ["models", "cnn:16,bn=2"], phrase: "option 'bn' expects an integer in 0…1"),
            Row(what: "wrn of absurd depth", args: ["models", "wrn-6000004-2"], phrase: "wrn-D-W"),
            Row(what: "text model on images", args: train(["--model", "transformer:vocab=10"]), phrase: "is a text model"),
            Row(what: "bilstm on images", args: train(["--model", "bilstm:vocab=10"]), phrase: "is a text model"),
            Row(what: "epochs near Int.max", args: train(["--model", "mlp:8", "--epochs", "9223372036854775807"]), phrase: "epochs"),
            Row(what: "batch size near Int.max", args: train(["--model", "mlp:8", "--batch-size", "9223372036854775807"]), phrase: "batch_size"),
            Row(what: "crop padding near Int.max", args: train(["--model", "mlp:8", "--augment", "crop:9223372036854775807"]), phrase: "padding"),
            Row(what: "jitter near Int.max", args: train(["--model", "mlp:8", "--augment", "jitter:9223372036854775800"]), phrase: "shift"),
            Row(what: "crop padding beyond the image", args: train(["--model", "mlp:8", "--augment", "crop:60000"]), phrase: "crop padding 60000 must be at most 28"),
            Row(what: "threads far beyond the machine", args: train(["--model", "mlp:8", "--threads", "100000"]), phrase: "threads"),
            Row(what: "unsorted multistep schedule", args: train(["--model", "mlp:8", "--schedule", "multistep:5,2"]), phrase: "increasing order"),
            Row(what: "a validation split of 0", args: train(["--model", "mlp:8", "--val-split", "0"]), phrase: "val_split"),
            Row(what: "a fractional number of validation examples", args: train(["--model", "mlp:8", "--val-split", "2.5"]), phrase: "val_split"),
            Row(what: "a validation split of every training example", args: train(["--model", "mlp:8", "--val-split", "300"]), phrase: "fewer than all 300"),
            Row(what: "a validation fraction that rounds to no example", args: train(["--model", "mlp:8", "--val-split", "0.001"]), phrase: "holds out 0"),
            Row(what: "empty method", args: ["distill"] + data + ["--teacher", "t.safetensors", "--method", ""], phrase: "names no method"),
            Row(what: "method *", args: ["distill"] + data + ["--teacher", "t.safetensors", "--method", "*"], phrase: "names no method"),
            Row(what: "method :", args: ["distill"] + data + ["--teacher", "t.safetensors", "--method", ":"], phrase: "names no method"),
        ])
    }

    func testBadDataAndFilesAreRefused() throws {
        let f = try Fixture()
        func train(_ dir: String) -> [String] { ["train", "--data", "mnist:\(f.path(dir))", "--model", "mlp:8", "--epochs", "1", "--quiet", "--out", f.path("run-\(UUID().uuidString)")] }
        func run(_ file: String) -> [String] { ["run", f.path(file), "--out", f.path("exp-\(UUID().uuidString)")] }
        func own(_ data: String) -> [String] { ["train", "--data", data, "--model", "mlp:8", "--epochs", "1", "--quiet", "--out", f.path("run-\(UUID().uuidString)")] }
        try check([
            Row(what: "NaN label in a float IDX file", args: train("nan-labels"), phrase: "element 3: is nan"),
            Row(what: "infinite label", args: train("inf-labels"), phrase: "element 3: is inf"),
            Row(what: "label beyond Int", args: train("huge-labels"), phrase: "not an integer in ±2³¹"),
            Row(what: "train and test of different shapes", args: train("shapes"), phrase: "both splits must have one shape"),
            Row(what: "a training set of 0 images", args: train("empty"), phrase: "is empty (0 images)"),
            Row(what: "an image file larger than memory", args: train("sparse"), phrase: "read at once on this machine"),
            Row(what: "empty experiment file", args: run("empty.yaml"), phrase: "is empty (or holds only comments)"),
            Row(what: "comments-only experiment file", args: run("comments.yaml"), phrase: "is empty (or holds only comments)"),
            Row(what: "name escaping runs/", args: ["run", f.path("traversal.yaml")], phrase: "key 'name'"),
            Row(what: "method: left empty", args: run("no-method.yaml"), phrase: "names no method"),
            Row(what: "epochs near Int.max in YAML", args: run("huge-epochs.yaml"), phrase: "epochs"),
            Row(what: "threads: 100000 in YAML", args: run("huge-threads.yaml"), phrase: "threads"),
            Row(what: "text model in an experiment on images", args: run("text-model.yaml"), phrase: "is a text model"),
            Row(what: "every class dropped from the transfer set", args: run("drop-all.yaml"), phrase: "the transfer set would be empty"),
            Row(what: "a label-noise rate of 1", args: run("noise-rate.yaml"), phrase: "label_noise.rate"),
            Row(what: "stop_epoch beyond the teacher's epochs", args: run("stop-epoch.yaml"), phrase: "teacher.stop_epoch"),
            Row(what: "label smoothing of the student", args: run("student-smoothing.yaml"), phrase: "ce:label_smoothing"),
            Row(what: "a negative validation split in YAML", args: run("val-split.yaml"), phrase: "val_split"),
            Row(what: "co-teaching with neither forget_rate nor label_noise", args: run("forget-rate.yaml"), phrase: "scheme.forget_rate"),
            // your own data (folder:, npz:, npy:, csv:)
            Row(what: "an unknown data family", args: own("pets:\(f.path("x"))"), phrase: "folder:DIR, npz:FILE.npz, npy:DIR, csv:DIR"),
            Row(what: "an image folder without test/", args: own("folder:\(f.path("folder-notest"))"), phrase: "folder-notest/test: no such folder"),
            Row(what: "images of two sizes", args: own("folder:\(f.path("folder-sizes"))"), phrase: "y.png: the image is 2×2 but"),
            Row(what: "a corrupt PNG", args: own("folder:\(f.path("folder-corrupt"))"), phrase: "y.png: libpng cannot decode it"),
            Row(what: "a PNG header of 100000×100000", args: own("folder:\(f.path("folder-huge"))"), phrase: "x.png: bad image size: 100000×100000×1"),
            Row(what: "a class folder without images", args: own("folder:\(f.path("folder-empty-class"))"), phrase: "folder-empty-class/train/b: no PNG or JPEG images"),
            Row(what: "a negative label in an npz", args: own("npz:\(f.path("bad-labels.npz"))"), phrase: "bad-labels.npz[y_train]: bad label 1: -3"),
            Row(what: "npz: given a folder", args: own("npz:\(f.path("folder-notest"))"), phrase: "is a folder; npz: takes an .npz file"),
            Row(what: "a ragged CSV row", args: own("csv:\(f.path("csv-ragged"))"), phrase: "train.csv: bad line 3: 4 columns but the header (line 1) has 5"),
            Row(what: "a CSV pixel that is not an integer", args: own("csv:\(f.path("pixel.csv")),\(f.path("pixel.csv"))"), phrase: "pixel.csv: bad line 2, column 4 (p3)"),
            Row(what: "a CSV shape that does not fit", args: own("csv:\(f.path("csv-ragged")),shape=3x2x2"), phrase: "4 pixel columns do not make images of 3x2x2"),
        ])
        XCTAssertFalse(FileManager.default.fileExists(atPath: f.root.deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("escaped").path))
    }

    func testNaNWeightsAndDivergenceStopWithAClearError() throws {
        let f = try Fixture()
        let (good, nan) = try f.checkpoints()
        let data = ["--data", "mnist:\(f.path("ok"))"]
        try check([
            Row(what: "eval of a checkpoint with a NaN weight", args: ["eval", "--checkpoint", nan] + data, phrase: "NaN or infinite"),
            Row(what: "compare with a NaN student", args: ["compare", "--teacher", good, "--student", nan] + data, phrase: "nan.safetensors"),
            Row(what: "compare on a negative subset (was a trap)", args: ["compare", "--teacher", good, "--student", good, "--subset=-1"] + data, phrase: "subset: '-1' is not valid"),
            Row(what: "eval on an empty subset", args: ["eval", "--checkpoint", good, "--subset", "0"] + data, phrase: "subset: '0' is not valid"),
            Row(what: "export of a checkpoint with a NaN weight", args: ["export", "--checkpoint", nan, "--out", f.path("nan.onnx")], phrase: "NaN or infinite"),
            Row(what: "export to a folder that does not exist", args: ["export", "--checkpoint", good, "--out", f.path("missing/dir/m.onnx")], phrase: "missing/dir"),
            Row(what: "distil with a diverging learning rate (outputs overflow)", args: ["distill", "--teacher", good, "--student", "mlp:16", "--epochs", "3",
                                                                    "--lr", "1e9", "--quiet", "--out", f.path("kd")] + data, phrase: "are NaN or infinite"),
            Row(what: "distil with a diverging learning rate (the loss)", args: ["distill", "--teacher", good, "--student", "mlp:16", "--epochs", "3",
                                                                    "--lr", "1e20", "--quiet", "--out", f.path("kd2")] + data, phrase: "training stopped"),
        ])
    }
}
