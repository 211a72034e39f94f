import XCTest

/// `distill methods`: the listing of every registered method and one method's card.
final class MethodsCLITests: XCTestCase {
    func testListsEveryMethodWithOptionsDefaultsAndPaper() throws {
        let r = try CLI.run(["methods"])
        XCTAssertEqual(r.status, 0, r.stderr)
        for name in ["hinton", "kd", "dkd", "dist", "fitnet", "at", "ft", "cc", "crd", "mi", "reviewkd"] {
            XCTAssertTrue(r.stdout.contains("\n\(name)  ") || r.stdout.hasPrefix("\(name)  "), "\(name) missing:\n\(r.stdout)")
        }
        XCTAssertTrue(r.stdout.contains("regressor=repdistiller"), r.stdout)
        XCTAssertTrue(r.stdout.contains("t2=true, standardize=false"), r.stdout)
        XCTAssertTrue(r.stdout.contains("temperature=4 (with loss=kd)"), r.stdout)
        XCTAssertTrue(r.stdout.contains("paper: Huang, You, Wang, Qian & Xu"), r.stdout)
        XCTAssertTrue(r.stdout.contains("student=(required)"), r.stdout)
    }

    func testShowsOneMethodsCardAndRefusesUnknownNames() throws {
        let r = try CLI.run(["methods", "at"])
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertTrue(r.stdout.hasPrefix("at: attention transfer"), r.stdout)
        XCTAssertTrue(r.stdout.contains("mode") && r.stdout.contains("default repdistiller") && r.stdout.contains("paper (torchdistill"), r.stdout)
        let bad = try CLI.run(["methods", "fitnets"])
        XCTAssertEqual(bad.status, 1)
        XCTAssertTrue(bad.stderr.contains("unknown distillation method 'fitnets'") && bad.stderr.contains("fitnet"), bad.stderr)
    }

    func testDistillReachesTheNewMethodsAndOptions() throws {
        // the objective is checked before any file is read: a bad option of a new method is named
        let r = try CLI.run(["distill", "--method", "dist:beta=-1", "--teacher-logits", "/nonexistent.npy"])
        XCTAssertEqual(r.status, 1)
        XCTAssertTrue(r.stderr.contains("method 'dist': option 'beta' must be ≥ 0"), r.stderr)
        let h = try CLI.run(["distill", "--method", "hinton:standardize=sometimes", "--teacher-logits", "/nonexistent.npy"])
        XCTAssertEqual(h.status, 1)
        XCTAssertTrue(h.stderr.contains("option 'standardize' expects true or false"), h.stderr)
    }
}
