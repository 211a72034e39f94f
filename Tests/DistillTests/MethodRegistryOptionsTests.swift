import XCTest
import DistillTestSupport
import DistillCore
import DistillNN
@testable import Distill

/// The options each registry entry lists are exactly the options its factory reads, so
/// `distill methods` cannot drift from what the methods accept.
final class MethodRegistryOptionsTests: XCTestCase {
    /// The listed options set to their defaults; a required option gets a tap, an option of one
    /// mode gets its mode set too; options whose default is "unset" are left out.
    func defaults(_ e: MethodEntry) -> [String: String] {
        var v: [String: String] = [:]
        for o in e.options {
            if let d = o.defaultValue { if !d.isEmpty { v[o.name] = d } } else { v[o.name] = "fc:input" }
        }
        for o in e.options {
            guard let w = o.onlyWith else { continue }
            let kv = w.split(separator: "=", maxSplits: 1).map(String.init)
            v[kv[0]] = kv[1]
        }
        return v
    }

    func testEveryListedOptionIsAcceptedAtItsDefaultAndEveryReadOptionIsListed() throws {
        XCTAssertEqual(Set(MethodRegistry.names).count, MethodRegistry.names.count, "duplicate method names")
        for e in MethodRegistry.entries {
            XCTAssertFalse(e.paper.isEmpty || e.summary.isEmpty, "\(e.name): summary and paper")
            let listed = e.options.map(\.name)
            XCTAssertEqual(Set(listed).count, listed.count, "\(e.name): an option is listed twice")
            // with every listed option set: the factory reads them all (finish accepts)
            XCTAssertNoThrow(try MethodRegistry.make(e.name, options: defaults(e)), e.name)
            // and reads nothing it does not list, in every mode
            let modes = [defaults(e)] + [defaults(e).filter { k, _ in !e.options.contains { $0.onlyWith?.hasPrefix(k + "=") == true } }]
            for values in modes {
                let o = MethodOptions(method: e.name, values: values)
                _ = try e.make(o)
                XCTAssertTrue(o.readKeys.isSubset(of: Set(listed)), "\(e.name) reads unlisted options \(o.readKeys.subtracting(listed).sorted())")
            }
        }
    }

    func testAnUnlistedOptionIsRefusedNamingTheListedOnes() {
        for e in MethodRegistry.entries {
            XCTAssertThrowsError(try MethodRegistry.make(e.name, options: defaults(e).merging(["no_such_option": "1"]) { a, _ in a }), e.name) { err in
                XCTAssertEqual(err as? DistillationError, .badOption(method: e.name, option: "no_such_option",
                    detail: "is not an option of this method; options: \(e.options.map(\.name).joined(separator: ", "))"))
            }
        }
    }

    func testTheCardNamesDefaultsAndModes() throws {
        let card = try MethodRegistry.entry("noisy").card
        XCTAssertTrue(card.hasPrefix("noisy: "), card)
        XCTAssertTrue(card.contains("default l2") && card.contains("[only with loss=kd]"), card)
        XCTAssertTrue(try MethodRegistry.entry("sp").card.contains("default (required)"))
        XCTAssertTrue(try MethodRegistry.entry("crd").card.contains("dataset_size  default (unset)"))
        XCTAssertThrowsError(try MethodRegistry.entry("fitnets")) { XCTAssertTrue("\($0)".contains("unknown distillation method 'fitnets'")) }
    }

    func testBooleanAndChoiceOptionsRefuseOtherValues() {
        for (m, o) in [("hinton", ["t2": "maybe"]), ("kd", ["standardize": "2"]), ("fitnet", ["regressor": "mlp"]),
                       ("at", ["mode": "code"]), ("ft", ["factor": "mean"]), ("dist", ["gamma": "-1"]), ("dist", ["temperature": "0"])] {
            XCTAssertThrowsError(try MethodRegistry.make(m, options: o), "\(m) \(o)") { e in
                guard case let .badOption(method, option, _)? = e as? DistillationError else { return XCTFail("\(e)") }
                XCTAssertEqual(method, m); XCTAssertEqual(option, o.keys.first!, "\(e)")
            }
        }
    }
}
