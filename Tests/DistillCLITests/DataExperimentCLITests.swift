import XCTest
import Foundation

/// `kind: condense` and `kind: datafree` experiment files through `distill run`: the short
/// version runs every seed into DIR/seed-N and writes the summary over seeds; a rerun reuses the
/// finished work; unknown keys and kinds exit 1 naming them before any work.
final class DataExperimentCLITests: XCTestCase {
    func write(_ dir: URL, _ name: String, _ text: String) throws -> String {
        let path = dir.appendingPathComponent(name).path
        try text.write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    func testCondenseExperimentRunsEverySeedAndSummarises() throws {
        let f = try BadInputTableTests.Fixture()
        let yaml = """
        kind: condense
        name: tiny-condense
        data: mnist:\(f.path("ok"))
        seeds: [0, 1]
        condense:
          method: dm
          ipc: 1
          iterations: 50
          model: convnet3:width=4
          batch_real: 8
          eval_model: convnet3:width=4
          eval_networks: 2
          whole_epochs: 1
          cross: []
        short: [condense.iterations=2, condense.eval_epochs=2]
        """
        let file = try write(f.root, "condense.yaml", yaml)
        let out = f.path("condense-run")
        let r = try CLI.run(["run", file, "--short", "--out", out, "--quiet"], timeout: 300)
        XCTAssertEqual(r.status, 0, r.stderr)
        for name in ["report.md", "whole-train-cache.json", "seed-0/report.md", "seed-1/ipc-1/synthetic.npy", "seed-1/ipc-1/grid.svg"] {
            XCTAssertTrue(FileManager.default.fileExists(atPath: "\(out)/\(name)"), name)
        }
        let report = try String(contentsOfFile: "\(out)/report.md", encoding: .utf8)
        XCTAssertTrue(report.contains("seeds 0, 1"), report)
        XCTAssertTrue(report.contains("| 1 | random real subset |"), report)
        XCTAssertTrue(report.contains("accuracy (%) over seeds"), report)
        // the short version's 2 iterations, not the file's 50
        let seed0 = try String(contentsOfFile: "\(out)/seed-0/report.md", encoding: .utf8)
        XCTAssertTrue(seed0.contains("2 outer iterations"), seed0)

        let bad = try write(f.root, "bad.yaml", yaml.replacingOccurrences(of: "  batch_real: 8", with: "  batch_reel: 8"))
        let b = try CLI.run(["run", bad, "--out", f.path("bad-run")])
        XCTAssertEqual(b.status, 1, b.stderr)
        XCTAssertTrue(b.stderr.contains("unknown key 'condense.batch_reel'"), b.stderr)
        let kind = try write(f.root, "kind.yaml", "kind: condensation\nname: k\n")
        let k = try CLI.run(["run", kind])
        XCTAssertEqual(k.status, 1, k.stderr)
        XCTAssertTrue(k.stderr.contains("key 'kind' expects one of distill, condense, datafree, got 'condensation'"), k.stderr)
        let ipc = try CLI.run(["run", file, "--set", "condense.ipc=[]", "--out", f.path("bad-ipc")])
        XCTAssertEqual(ipc.status, 1, ipc.stderr)
        XCTAssertTrue(ipc.stderr.contains("condense.ipc"), ipc.stderr)
    }

    func testDataFreeExperimentTrainsTheTeacherOnceAndSummarisesSeeds() throws {
        let f = try BadInputTableTests.Fixture()
        let yaml = """
        kind: datafree
        name: tiny-datafree
        data: mnist:\(f.path("ok"))
        seeds: [0, 1]
        teacher:
          model: lenet5:bn=true
          train: {epochs: 1, batch_size: 50, optimizer: adam, learning_rate: 0.002}
        datafree:
          student: lenet5:half=true
          images: 20
          inversion_batch: 10
          iterations: 50
          kd_steps: 4
          kd_batch: 10
          validation: 50
          baselines: true
        short: [datafree.iterations=2]
        """
        let file = try write(f.root, "datafree.yaml", yaml)
        let out = f.path("datafree-run"), teachers = f.path("teachers")
        let args = ["run", file, "--short", "--out", out, "--teachers", teachers, "--quiet"]
        let r = try CLI.run(args, timeout: 300)
        XCTAssertEqual(r.status, 0, r.stderr)
        for name in ["report.md", "seed-0/report.md", "seed-1/recovered_grid.png", "seed-1/student.safetensors", "seed-1/reference-2.safetensors"] {
            XCTAssertTrue(FileManager.default.fileExists(atPath: "\(out)/\(name)"), name)
        }
        let teacherRuns = try FileManager.default.contentsOfDirectory(atPath: teachers)
        XCTAssertEqual(teacherRuns.count, 1, "\(teacherRuns)")
        let report = try String(contentsOfFile: "\(out)/report.md", encoding: .utf8)
        for phrase in ["seeds 0, 1", "| deepinversion (data-free) |", "| KD on Gaussian noise |", "the last 50 training images, held out"] {
            XCTAssertTrue(report.contains(phrase), "\(phrase): \(report)")
        }
        let seed1 = try String(contentsOfFile: "\(out)/seed-1/report.md", encoding: .utf8)
        XCTAssertTrue(seed1.contains("| validation accuracy | test accuracy |"), seed1)
        // a rerun finds the teacher and every seed's recovered images
        let again = try CLI.run(args.filter { $0 != "--quiet" }, timeout: 300)
        XCTAssertEqual(again.status, 0, again.stderr)
        XCTAssertTrue(again.stderr.contains("resuming from"), again.stderr)

        for (set, phrase) in [("datafree.kd_stepz=3", "unknown key 'datafree.kd_stepz'"), ("datafree.images=0", "images '0'"),
                              ("teacher.ensemble=2", "takes one teacher network"), ("datafree.validation=300", "fewer than the 300 training images")] {
            let b = try CLI.run(["run", file, "--set", set, "--out", f.path("bad"), "--teachers", teachers])
            XCTAssertEqual(b.status, 1, "\(set): \(b.stderr)")
            XCTAssertTrue(b.stderr.contains(phrase), "\(set): expected '\(phrase)' in \(b.stderr)")
        }
    }
}
