import Foundation
import XCTest
import DistillCore
import DistillNN
@testable import Distill

/// The PyTorch reference values written by Fixtures/make_feature_fixtures.py (read-only).
/// A missing key throws naming it, so the test fails instead of passing vacuously.
enum FeatureFixture {
    struct Missing: Error, CustomStringConvertible {
        let key: String
        var description: String { "fixture key '\(key)' is missing from feature_fixtures.json" }
    }

    static let cases: [String: Any] = {
        guard let url = Bundle.module.url(forResource: "feature_fixtures", withExtension: "json", subdirectory: "Fixtures"),
              let data = try? Data(contentsOf: url),
              let obj = try? JSONSerialization.jsonObject(with: data) as? [String: Any],
              let cases = obj["cases"] as? [String: Any] else {
            preconditionFailure("Fixtures/feature_fixtures.json is missing or unreadable")
        }
        return cases
    }()

    struct Case {
        let key: String
        let raw: [String: Any]

        func value(_ k: String) throws -> Any {
            guard let v = raw[k] else { throw Missing(key: key + "." + k) }
            return v
        }
        func number(_ k: String) throws -> Float {
            guard let v = try value(k) as? Double else { throw Missing(key: key + "." + k) }
            return Float(v)
        }
        func tensors(_ k: String) throws -> [Tensor] {
            guard let list = try value(k) as? [Any] else { throw Missing(key: key + "." + k) }
            return try list.enumerated().map { try FeatureFixture.tensor($1, key: "\(key).\(k).\($0)") }
        }
        func tensorDict(_ k: String) throws -> [String: Tensor] {
            guard let d = try value(k) as? [String: Any] else { throw Missing(key: key + "." + k) }
            var out: [String: Tensor] = [:]
            for (name, v) in d { out[name] = try FeatureFixture.tensor(v, key: "\(key).\(k).\(name)") }
            return out
        }
    }

    static func `case`(_ key: String) throws -> Case {
        guard let d = cases[key] as? [String: Any] else { throw Missing(key: key) }
        return Case(key: key, raw: d)
    }

    static func tensor(_ any: Any, key: String) throws -> Tensor {
        guard let d = any as? [String: Any], let shape = d["shape"] as? [Int], let data = d["data"] as? [Double] else {
            throw Missing(key: key)
        }
        return Tensor(shape: shape, scalars: data.map { Float($0) })
    }
}

/// Asserts elementwise |a − b| ≤ rtol·|b| + atol, reporting the worst element.
func assertFeatureClose(_ a: Tensor?, _ b: Tensor, rtol: Float = 1e-4, atol: Float = 1e-5, _ what: String,
                        file: StaticString = #filePath, line: UInt = #line) {
    guard let a else { XCTFail("\(what): no value (expected shape \(Shape.describe(b.shape)))", file: file, line: line); return }
    guard a.shape == b.shape else {
        XCTFail("\(what): shape \(Shape.describe(a.shape)) vs expected \(Shape.describe(b.shape))", file: file, line: line)
        return
    }
    let x = a.scalars, y = b.scalars
    var worst = -1, excess: Float = 0
    for i in 0..<x.count {
        let e = abs(x[i] - y[i]) - (rtol * abs(y[i]) + atol)
        if !(e <= 0) && (worst < 0 || e > excess || e.isNaN) { worst = i; excess = e }
    }
    if worst >= 0 { XCTFail("\(what): element \(worst): \(x[worst]) vs expected \(y[worst])", file: file, line: line) }
}

/// A batch carrying only features (logits and labels are unused by feature losses).
func featureBatch(_ student: [Tensor], _ teacher: [Tensor]) -> DistillationBatch {
    DistillationBatch(studentLogits: Tensor.zeros([1, 1]), teacherLogits: Tensor.zeros([1, 1]),
                      studentFeatures: student, teacherFeatures: teacher, labels: IntTensor([]))
}

func seededFeature(_ shape: [Int], seed: UInt64, _ lo: Float = -1, _ hi: Float = 1) -> Tensor {
    var g = SeededGenerator(seed: seed)
    return Tensor.uniform(shape, low: lo, high: hi, using: &g)
}

/// Builds a registry method and prepares it for the given shapes.
func preparedMethod(_ name: String, _ options: [String: String], student: [[Int]], teacher: [[Int]]) throws -> DistillationLoss {
    let loss = try MethodRegistry.make(name, options: options)
    try loss.prepare(studentShapes: student, teacherShapes: teacher)
    return loss
}

/// Finite-difference check of a loss with respect to the student features and every adapter
/// parameter (`GradientCheck.firstOrder`); teacher features are constants.
func checkFeatureLossGradients(_ loss: DistillationLoss, student: [Tensor], teacher: [Tensor], scale: Float = 1,
                               eps: Float = 1e-2, atol: Float = 2e-3, rtol: Float = 2e-2, _ what: String,
                               file: StaticString = #filePath, line: UInt = #line) {
    let params = loss.adapters?.namedParameters() ?? []
    let saved = params.map { $0.parameter.value.detached() }
    defer { for (p, v) in zip(params, saved) { p.parameter.value = v } }
    let k = student.count
    let failures = GradientCheck.firstOrder(student + saved, eps: eps, atol: atol, rtol: rtol) { xs in
        for (j, p) in params.enumerated() { p.parameter.value = xs[k + j] }
        let l = loss.loss(featureBatch(Array(xs[..<k]), teacher))
        return scale == 1 ? l : l * scale
    }
    let names = (0..<k).map { "student[\($0)]" } + params.map(\.path)
    XCTAssertTrue(failures.isEmpty, "\(what): \(failures.count) mismatches, e.g. \(failures.prefix(4).map { "\(names[$0.input]) \($0)" })",
                  file: file, line: line)
}
