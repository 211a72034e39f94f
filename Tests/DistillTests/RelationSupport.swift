import Foundation
import XCTest
import DistillCore
import DistillNN
@testable import Distill

/// The PyTorch reference values of Fixtures/make_relation_fixtures.py (read-only).
enum RelationFixture {
    struct Missing: Error, CustomStringConvertible {
        let key: String
        var description: String { "fixture key '\(key)' is missing from relation_fixtures.json" }
    }

    static let root: [String: Any] = {
        guard let url = Bundle.module.url(forResource: "relation_fixtures", withExtension: "json", subdirectory: "Fixtures"),
              let data = try? Data(contentsOf: url),
              let obj = try? JSONSerialization.jsonObject(with: data) as? [String: Any] else {
            preconditionFailure("Fixtures/relation_fixtures.json is missing or unreadable")
        }
        return obj
    }()

    /// The value at a dotted key path ("crd.state"); a missing key throws naming it.
    static func value(_ path: String) throws -> Any {
        var cur: Any = root
        for k in path.split(separator: ".") {
            if let d = cur as? [String: Any], let next = d[String(k)] { cur = next; continue }
            if let a = cur as? [Any], let i = Int(k), i >= 0, i < a.count { cur = a[i]; continue }
            throw Missing(key: path)
        }
        return cur
    }

    static func tensor(_ path: String) throws -> Tensor { try tensor(try value(path), key: path) }

    static func tensor(_ any: Any, key path: String) throws -> Tensor {
        guard let d = any as? [String: Any], let shape = d["shape"] as? [Int], let data = d["data"] as? [Double] else {
            throw Missing(key: path)
        }
        return Tensor(shape: shape, scalars: data.map { Float($0) })
    }

    static func float(_ path: String) throws -> Float {
        guard let v = try value(path) as? Double else { throw Missing(key: path) }
        return Float(v)
    }

    static func ints(_ path: String) throws -> [Int] {
        guard let v = try value(path) as? [Int] else { throw Missing(key: path) }
        return v
    }

    static func intMatrix(_ path: String) throws -> IntTensor {
        guard let v = try value(path) as? [[Int]], let w = v.first?.count else { throw Missing(key: path) }
        return IntTensor(shape: [v.count, w], scalars: v.flatMap { $0 })
    }

    /// Every tensor under an object key, by name.
    static func tensors(_ path: String) throws -> [String: Tensor] {
        guard let d = try value(path) as? [String: Any] else { throw Missing(key: path) }
        var out: [String: Tensor] = [:]
        for (k, v) in d { out[k] = try tensor(v, key: path + "." + k) }
        return out
    }
}

enum RelationCheck {
    /// Asserts elementwise |a − b| ≤ rtol·|b| + atol, reporting the worst element.
    static func close(_ a: Tensor, _ b: Tensor, rtol: Float = 1e-4, atol: Float = 1e-5, _ what: String,
                      file: StaticString = #filePath, line: UInt = #line) {
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

    /// Finite-difference check of a distillation loss with respect to the student features and
    /// every adapter parameter (teacher features fixed). Returns failures labelled by input name.
    static func gradients(_ loss: DistillationLoss, student: [Tensor], teacher: [Tensor], indices: [Int] = [],
                          eps: Float = 1e-2, atol: Float = 2e-3, rtol: Float = 2e-2,
                          evaluate: ((DistillationBatch) -> Tensor)? = nil) -> [String] {
        let params = loss.adapters?.namedParameters() ?? []
        let saved = params.map { $0.parameter.value.detached() }
        defer { for (p, v) in zip(params, saved) { p.parameter.value = v } }
        let ns = student.count
        let failures = GradientCheck.firstOrder(student + saved, eps: eps, atol: atol, rtol: rtol) { xs in
            for (k, p) in params.enumerated() { p.parameter.value = xs[ns + k] }
            let b = DistillationBatch(studentLogits: Tensor.zeros([1, 1]), teacherLogits: Tensor.zeros([1, 1]),
                                      studentFeatures: Array(xs[0..<ns]), teacherFeatures: teacher,
                                      labels: IntTensor([0]), indices: indices)
            return evaluate?(b) ?? loss.loss(b)
        }
        let names = (0..<ns).map { "student[\($0)]" } + params.map(\.path)
        return failures.prefix(6).map { "\(names[$0.input]) \($0)" }
    }

    /// A batch carrying only features (and dataset rows).
    static func batch(student: [Tensor], teacher: [Tensor], indices: [Int] = []) -> DistillationBatch {
        DistillationBatch(studentLogits: Tensor.zeros([1, 1]), teacherLogits: Tensor.zeros([1, 1]),
                          studentFeatures: student, teacherFeatures: teacher, labels: IntTensor([0]), indices: indices)
    }

    static func seeded(_ shape: [Int], _ lo: Float = -1, _ hi: Float = 1, seed: UInt64) -> Tensor {
        var g = SeededGenerator(seed: seed)
        return Tensor.uniform(shape, low: lo, high: hi, using: &g)
    }

    /// The gradient of `loss` on `batch` with respect to the student features, and the adapters'
    /// parameter gradients by path.
    static func backward(_ loss: DistillationLoss, student: [Tensor], teacher: [Tensor], indices: [Int] = [],
                         evaluate: ((DistillationBatch) -> Tensor)? = nil) -> (value: Float, student: [Tensor], params: [String: Tensor]) {
        loss.adapters?.zeroGradients()
        let leaves = student.map { $0.detached().requiringGradient() }
        let b = batch(student: leaves, teacher: teacher, indices: indices)
        let l = evaluate?(b) ?? loss.loss(b)
        l.backward()
        var params: [String: Tensor] = [:]
        for (p, x) in loss.adapters?.namedParameters() ?? [] { if let g = x.gradient { params[p] = g } }
        return (l.item, leaves.map { $0.gradient ?? Tensor.zeros($0.shape) }, params)
    }
}
