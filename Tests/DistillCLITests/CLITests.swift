import XCTest
import Foundation

final class CLITests: XCTestCase {
    func testModelsListsFamiliesWithParameterCounts() throws {
        let r = try CLI.run(["models"])
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertTrue(r.stdout.contains("resnet20") && r.stdout.contains("272186"), r.stdout)
        XCTAssertTrue(r.stdout.contains("mlp:1200x1200") && r.stdout.contains("2395210"), r.stdout)
    }

    func testModelsCountsTheSpecsItIsGiven() throws {
        let r = try CLI.run(["models", "cnn:8x16x32,fc=64,bn=1", "resnet20"])
        XCTAssertEqual(r.status, 0, r.stderr)
        // conv 80 + 1,168 + 4,640, batch norm 112, fc 18,496 + 650
        XCTAssertEqual(r.stdout, "cnn:8x16x32,fc=64,bn=1  25146\nresnet20  272186\n")
        let bad = try CLI.run(["models", "resnet21"])
        XCTAssertEqual(bad.status, 1)
        XCTAssertTrue(bad.stderr.contains("unknown model 'resnet21'"), bad.stderr)
    }

    func testUnknownModelIsAClearError() throws {
        let r = try CLI.run(["train", "--model", "resnet21", "--out", try CLI.temporaryDirectory().path])
        XCTAssertEqual(r.status, 1)
        XCTAssertFalse(r.signalled)
        XCTAssertTrue(r.stderr.contains("unknown model 'resnet21'") && r.stderr.contains("resnet20"), r.stderr)
    }

    func testMissingDataPathIsAClearError() throws {
        let r = try CLI.run(["train", "--data", "mnist:/no/such/dir", "--out", try CLI.temporaryDirectory().path])
        XCTAssertEqual(r.status, 1)
        XCTAssertTrue(r.stderr.contains("/no/such/dir"), r.stderr)
        let r2 = try CLI.run(["train", "--data", "mnist", "--out", try CLI.temporaryDirectory().path])
        XCTAssertEqual(r2.status, 1)
        XCTAssertTrue(r2.stderr.contains("mnist:DIRECTORY"), r2.stderr)
    }

    func testBadOptionValuesNameTheField() throws {
        let dir = try CLI.temporaryDirectory().path
        for (args, field) in [(["--epochs", "0"], "epochs"), (["--schedule", "linear"], "schedule"), (["--optimizer", "rmsprop"], "optimizer"),
                              (["--augment", "rotate:3"], "augmentation"), (["--lr=-1"], "learning_rate")] {
            let r = try CLI.run(["train", "--out", dir] + args)
            XCTAssertEqual(r.status, 1, "\(args)")
            XCTAssertTrue(r.stderr.contains(field), "\(args): \(r.stderr)")
        }
    }

    func testEvalRefusesACheckpointOfAnotherModel() throws {
        try XCTSkipUnless(CLI.hasFashionMNIST, "Fashion-MNIST is not installed (Debian package dataset-fashion-mnist)")
        let dir = try CLI.temporaryDirectory()
        let t = try CLI.run(["train", "--model", "mlp:16", "--subset", "256", "--epochs", "1", "--quiet", "--out", dir.path])
        XCTAssertEqual(t.status, 0, t.stderr)
        let ok = try CLI.run(["eval", "--checkpoint", dir.appendingPathComponent("model.safetensors").path])
        XCTAssertEqual(ok.status, 0, ok.stderr)
        XCTAssertTrue(ok.stdout.contains("accuracy") && ok.stdout.contains("ECE"), ok.stdout)
        let bad = try CLI.run(["eval", "--checkpoint", dir.appendingPathComponent("model.safetensors").path, "--model", "mlp:32"])
        XCTAssertEqual(bad.status, 1)
        XCTAssertTrue(bad.stderr.contains("fc1.bias") && bad.stderr.contains("[32]") && bad.stderr.contains("[16]"), bad.stderr)
        let garbage = dir.appendingPathComponent("garbage.safetensors")
        try Data([1, 2, 3]).write(to: garbage)
        let g = try CLI.run(["eval", "--checkpoint", garbage.path])
        XCTAssertEqual(g.status, 1)
        XCTAssertFalse(g.signalled)
        XCTAssertTrue(g.stderr.contains("garbage.safetensors"), g.stderr)
    }

    func testRefusesToOverwriteARunWithoutResume() throws {
        try XCTSkipUnless(CLI.hasFashionMNIST, "Fashion-MNIST is not installed")
        let dir = try CLI.temporaryDirectory().path
        XCTAssertEqual(try CLI.run(["train", "--model", "mlp:8", "--subset", "128", "--epochs", "1", "--quiet", "--out", dir]).status, 0)
        let again = try CLI.run(["train", "--model", "mlp:8", "--subset", "128", "--epochs", "1", "--quiet", "--out", dir])
        XCTAssertEqual(again.status, 1)
        XCTAssertTrue(again.stderr.contains("--resume"), again.stderr)
    }
}
