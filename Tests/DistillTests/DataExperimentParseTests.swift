import XCTest
@testable import Distill

/// The text entry points of `kind: condense` and `kind: datafree` files (what the `experiment`
/// fuzz target and `distill run` share): the kind is read from the text, `#`-free overrides and
/// `short:` apply as from a file, and every refusal names the file given.
final class DataExperimentParseTests: XCTestCase {
    let condense = """
    kind: condense
    name: c
    seeds: [0, 1]
    condense: {method: dm, ipc: [1, 10], iterations: 50}
    short: [condense.ipc=1, condense.iterations=2]
    """
    let datafree = """
    kind: datafree
    name: d
    teacher: {model: "lenet5:bn=true", train: {epochs: 2}}
    datafree: {method: deepinversion, images: 40, iterations: 3}
    short: [datafree.images=20]
    """

    func testKindIsReadFromTheTextAndItsOverrides() throws {
        XCTAssertEqual(try ExperimentKind.of(text: condense), .condense)
        XCTAssertEqual(try ExperimentKind.of(text: datafree), .datafree)
        XCTAssertEqual(try ExperimentKind.of(text: "name: x\n"), .distill)
        XCTAssertEqual(try ExperimentKind.of(text: "name: x\n", overrides: ["kind=condense"]), .condense)
        XCTAssertThrowsError(try ExperimentKind.of(text: "kind: dream\n", file: "k.yaml")) {
            XCTAssertTrue("\($0)".contains("k.yaml") && "\($0)".contains("kind"), "\($0)")
        }
    }

    func testCondenseTextParsesPlainShortAndOverridden() throws {
        let e = try CondenseExperiment.parse(condense)
        XCTAssertEqual(e.plan.sizes, [1, 10]); XCTAssertEqual(e.plan.iterations, 50); XCTAssertEqual(e.seeds, [0, 1])
        let s = try CondenseExperiment.parse(condense, short: true)
        XCTAssertEqual(s.plan.sizes, [1]); XCTAssertEqual(s.plan.iterations, 2)
        let o = try CondenseExperiment.parse(condense, overrides: ["condense.iterations=7"], short: true)
        XCTAssertEqual(o.plan.iterations, 7, "the command line wins over short:")
        XCTAssertEqual(try o.runs(directory: URL(fileURLWithPath: "/tmp/never-written")).count, 2)
    }

    func testDataFreeTextParsesPlainAndShort() throws {
        let e = try DataFreeExperiment.parse(datafree)
        XCTAssertEqual(e.settings.images, 40); XCTAssertEqual(e.settings.inversion.iterations, 3)
        XCTAssertEqual(try DataFreeExperiment.parse(datafree, short: true).settings.images, 20)
    }

    func testRefusalsNameTheFileAndTheKey() throws {
        let cases: [(String, String)] = [
            (condense.replacingOccurrences(of: "ipc: [1, 10]", with: "ipc: []"), "ipc"),
            (condense.replacingOccurrences(of: "iterations: 50", with: "iterations: -1"), "iterations"),
            (condense + "\ncolour: blue\n", "colour"),
            (datafree.replacingOccurrences(of: "teacher: {model: \"lenet5:bn=true\", train: {epochs: 2}}\n", with: ""), "teacher"),
            (datafree.replacingOccurrences(of: "images: 40", with: "images: many"), "images"),
            ("kind: condense\n- a\n", "YAML"),
        ]
        for (text, key) in cases {
            XCTAssertThrowsError(try {
                switch try ExperimentKind.of(text: text, file: "bad.yaml") {
                case .condense: _ = try CondenseExperiment.parse(text, file: "bad.yaml")
                case .datafree: _ = try DataFreeExperiment.parse(text, file: "bad.yaml")
                case .distill: _ = try ExperimentConfig.parse(text, file: "bad.yaml")
                }
            }(), key) { XCTAssertTrue("\($0)".contains("bad.yaml") && "\($0)".contains(key), "\(key): \($0)") }
        }
        XCTAssertThrowsError(try CondenseExperiment.parse(condense.replacingOccurrences(of: "short: [condense.ipc=1, condense.iterations=2]", with: ""), file: "ns.yaml", short: true)) {
            XCTAssertTrue("\($0)".contains("short"), "\($0)")
        }
    }
}
