import Foundation
import XCTest
import DistillTestSupport
import DistillCore
import DistillNN
@testable import Distill

// Test support shared by every DistillTests file: the read-only JSON fixtures, one tolerance
// assertion, seeded inputs, feature batches, and finite-difference / backward checks of a
// distillation loss with respect to the student features and the adapter parameters.

// MARK: - Fixtures

/// A read-only JSON fixture, `Fixtures/NAME.json` in the test bundle, written offline by
/// `Fixtures/make_NAME.py` from PyTorch / NumPy. Values are reached by dotted paths through objects
/// and arrays ("mi.students.2", "crd.state"); keys that themselves contain dots
/// ("losses.hinton_T4_a0.9.value") are matched greedily, the longest key at a segment boundary
/// first. Tensors are stored as `{"shape": [Int], "data": [Double]}`. A missing key, or a value of
/// the wrong kind, throws `Missing` naming the file and the full path, so a test fails instead of
/// passing vacuously; tests never write fixtures.
struct JSONFixture {
    struct Missing: Error, CustomStringConvertible {
        let file: String
        let key: String
        var description: String { "fixture key '\(key)' is missing from \(file)" }
    }

    struct Unreadable: Error, CustomStringConvertible {
        let file: String
        var description: String { "Fixtures/\(file) is missing or unreadable" }
    }

    /// The file name, e.g. "response_fixtures.json", named by every error.
    let file: String
    /// Where `root` lies in the file: "" for the whole file, "cases.fsp" for a scoped sub-fixture.
    let scope: String
    let root: Any

    /// Fixtures/make_response_fixtures.py: response losses, metrics, ensembles.
    static let response = bundled("response_fixtures")
    /// Fixtures/make_feature_fixtures.py: feature losses under `cases.KEY`.
    static let feature = bundled("feature_fixtures")
    /// Fixtures/make_relation_fixtures.py: relation losses (sp, rkd, cc, crd, mi).
    static let relation = bundled("relation_fixtures")
    /// Fixtures/make_methods_fixtures.py: adapter and form options, DIST, logit standardisation.
    static let methods = bundled("methods_fixtures")
    /// Fixtures/make_condensation_fixtures.py: instance norm, DM loss, DC's gradient distance.
    static let condensation = bundled("condensation_fixtures")

    /// Loads `Fixtures/NAME.json` from `Bundle.module`; the top level must be an object.
    init(named name: String) throws {
        let file = name + ".json"
        guard let url = Bundle.module.url(forResource: name, withExtension: "json", subdirectory: "Fixtures"),
              let data = try? Data(contentsOf: url),
              let obj = try? JSONSerialization.jsonObject(with: data) as? [String: Any] else {
            throw Unreadable(file: file)
        }
        self.init(file: file, scope: "", root: obj)
    }

    private init(file: String, scope: String, root: Any) {
        self.file = file; self.scope = scope; self.root = root
    }

    private static func bundled(_ name: String) -> JSONFixture {
        do { return try JSONFixture(named: name) } catch { preconditionFailure("\(error)") }
    }

    /// The error for `path`, named from the top of the file.
    func missing(_ path: String) -> Missing {
        Missing(file: file, key: scope.isEmpty ? path : path.isEmpty ? scope : scope + "." + path)
    }

    /// The value at a dotted path ("" is the root of this fixture); a missing key throws naming it.
    func value(_ path: String) throws -> Any {
        var cur = root
        var rest = Substring(path)
        while !rest.isEmpty {
            if let d = cur as? [String: Any] {
                // the longest key that prefixes the rest at a segment boundary
                guard let k = d.keys.filter({ rest == $0 || rest.hasPrefix($0 + ".") }).max(by: { $0.count < $1.count }) else {
                    throw missing(path)
                }
                cur = d[k]!
                rest = rest.dropFirst(k.count)
            } else if let a = cur as? [Any] {
                let segment = rest.prefix { $0 != "." }
                guard let i = Int(segment), a.indices.contains(i) else { throw missing(path) }
                cur = a[i]
                rest = rest.dropFirst(segment.count)
            } else {
                throw missing(path)
            }
            if rest.hasPrefix(".") { rest = rest.dropFirst() }
        }
        return cur
    }

    /// The object or array at `path` as a fixture of its own; its paths are relative to it and its
    /// errors still name the full path ("cases.fsp.student").
    func scoped(_ path: String) throws -> JSONFixture {
        let v = try value(path)
        guard v is [String: Any] || v is [Any] else { throw missing(path) }
        return JSONFixture(file: file, scope: missing(path).key, root: v)
    }

    func tensor(_ path: String) throws -> Tensor { try tensor(from: try value(path), at: path) }

    /// The array of tensors at `path`.
    func tensors(_ path: String) throws -> [Tensor] {
        guard let a = try value(path) as? [Any] else { throw missing(path) }
        return try a.enumerated().map { try tensor(from: $0.element, at: "\(path).\($0.offset)") }
    }

    /// The object of tensors at `path`, by key (state dicts, gradients by parameter path).
    func tensorDict(_ path: String) throws -> [String: Tensor] {
        guard let d = try value(path) as? [String: Any] else { throw missing(path) }
        var out: [String: Tensor] = [:]
        for (k, v) in d { out[k] = try tensor(from: v, at: path + "." + k) }
        return out
    }

    /// A number, rounded to Float (losses, normalizers).
    func number(_ path: String) throws -> Float { Float(try double(path)) }

    /// A number at full precision (metrics compared against float64 NumPy).
    func double(_ path: String) throws -> Double {
        guard let v = try value(path) as? Double else { throw missing(path) }
        return v
    }

    func int(_ path: String) throws -> Int {
        guard let v = try value(path) as? Int else { throw missing(path) }
        return v
    }

    func ints(_ path: String) throws -> [Int] {
        guard let v = try value(path) as? [Int] else { throw missing(path) }
        return v
    }

    /// A non-empty array of equal-length integer rows, as an `IntTensor` [rows, width].
    func intMatrix(_ path: String) throws -> IntTensor {
        guard let v = try value(path) as? [[Int]], let w = v.first?.count else { throw missing(path) }
        return IntTensor(shape: [v.count, w], scalars: v.flatMap { $0 })
    }

    private func tensor(from any: Any, at path: String) throws -> Tensor {
        guard let d = any as? [String: Any], let shape = d["shape"] as? [Int], let data = d["data"] as? [Double] else {
            throw missing(path)
        }
        return Tensor(shape: shape, scalars: data.map { Float($0) })
    }
}

// MARK: - Assertions and inputs

/// A tensor of the given shape, uniform in [lo, hi) (default [−1, 1)) from `SeededGenerator(seed:)`.
func seeded(_ shape: [Int], _ lo: Float = -1, _ hi: Float = 1, seed: UInt64) -> Tensor {
    var g = SeededGenerator(seed: seed)
    return Tensor.uniform(shape, low: lo, high: hi, using: &g)
}

/// A batch carrying only features and, for CRD, dataset rows: logits are [1, 1] zeros and there
/// are no labels (no feature or relation loss reads either).
func featureBatch(_ student: [Tensor], _ teacher: [Tensor], indices: [Int] = []) -> DistillationBatch {
    DistillationBatch(studentLogits: Tensor.zeros([1, 1]), teacherLogits: Tensor.zeros([1, 1]),
                      studentFeatures: student, teacherFeatures: teacher, labels: IntTensor([]), indices: indices)
}

/// Builds a registry method and prepares it for the given shapes.
func preparedMethod(_ name: String, _ options: [String: String], student: [[Int]], teacher: [[Int]]) throws -> DistillationLoss {
    let loss = try MethodRegistry.make(name, options: options)
    try loss.prepare(studentShapes: student, teacherShapes: teacher)
    return loss
}

/// Runs registry `method` on feature case `cases.KEY` of `fixture` (student, teacher, state, loss,
/// grad_student, grad_state) with the fixture's adapter weights, and compares the loss and every
/// gradient with PyTorch's.
@discardableResult
func assertFeatureGolden(_ fixture: JSONFixture, _ key: String, _ method: String, _ options: [String: String], rtol: Float = 1e-4,
                         atol: Float = 1e-6, file: StaticString = #filePath, line: UInt = #line) throws -> DistillationLoss {
    let c = try fixture.scoped("cases.\(key)")
    let student = try c.tensors("student"), teacher = try c.tensors("teacher")
    let loss = try preparedMethod(method, options, student: student.map(\.shape), teacher: teacher.map(\.shape))
    let state = try c.tensorDict("state")
    if let a = loss.adapters { try a.loadStateDict(state) } else { XCTAssertTrue(state.isEmpty, "\(key): fixture has adapter state but the method has none") }
    let leaves = student.map { $0.requiringGradient() }
    let l = loss.loss(featureBatch(leaves, teacher))
    l.backward()
    let expected = try c.number("loss")
    XCTAssertEqual(l.item, expected, accuracy: abs(expected) * rtol + atol, "\(key): loss", file: file, line: line)
    for (i, g) in try c.tensors("grad_student").enumerated() {
        assertClose(leaves[i].gradient, g, rtol: 1e-3, atol: 1e-6, "\(key): d loss / d student[\(i)]", file: file, line: line)
    }
    let grads = try c.tensorDict("grad_state")
    let params = loss.adapters?.namedParameters() ?? []
    XCTAssertEqual(Set(params.map(\.path)), Set(grads.keys), "\(key): adapter parameter names", file: file, line: line)
    for (path, p) in params {
        guard let g = grads[path] else { continue }
        assertClose(p.gradient, g, rtol: 1e-3, atol: 1e-6, "\(key): d loss / d \(path)", file: file, line: line)
    }
    return loss
}

// MARK: - Gradients of a distillation loss

/// Finite-difference check (`GradientCheck.firstOrder`, central differences with step `eps`,
/// |analytic − numeric| ≤ atol + rtol·|numeric|) of a distillation loss with respect to the student
/// features and every adapter parameter; teacher features are constants. The loss is evaluated on
/// `featureBatch(student, teacher, indices:)`, through `evaluate` when given, and multiplied by
/// `scale` (so small gradients are not hidden by `atol`). Adapter parameters are restored
/// afterwards. A failure names up to six mismatched inputs ("student[0]", adapter paths).
func checkLossGradients(_ loss: DistillationLoss, student: [Tensor], teacher: [Tensor], indices: [Int] = [], scale: Float = 1,
                        eps: Float = 1e-2, atol: Float = 2e-3, rtol: Float = 2e-2, _ what: String,
                        file: StaticString = #filePath, line: UInt = #line,
                        evaluate: ((DistillationBatch) -> Tensor)? = nil) {
    let params = loss.adapters?.namedParameters() ?? []
    let saved = params.map { $0.parameter.value.detached() }
    defer { for (p, v) in zip(params, saved) { p.parameter.value = v } }
    let ns = student.count
    let failures = GradientCheck.firstOrder(student + saved, eps: eps, atol: atol, rtol: rtol) { xs in
        for (k, p) in params.enumerated() { p.parameter.value = xs[ns + k] }
        let b = featureBatch(Array(xs[..<ns]), teacher, indices: indices)
        let l = evaluate?(b) ?? loss.loss(b)
        return scale == 1 ? l : l * scale
    }
    let names = (0..<ns).map { "student[\($0)]" } + params.map(\.path)
    XCTAssertTrue(failures.isEmpty, "\(what): \(failures.count) mismatches, e.g. \(failures.prefix(6).map { "\(names[$0.input]) \($0)" })",
                  file: file, line: line)
}

/// One backward pass of `loss` (or `evaluate`) on detached copies of the student features:
/// the loss value, its gradient with respect to each student feature (zeros where none arrived),
/// and the adapters' parameter gradients by path. Adapter gradients are zeroed first.
func backpropagate(_ loss: DistillationLoss, student: [Tensor], teacher: [Tensor], indices: [Int] = [],
                   evaluate: ((DistillationBatch) -> Tensor)? = nil) -> (value: Float, student: [Tensor], params: [String: Tensor]) {
    loss.adapters?.zeroGradients()
    let leaves = student.map { $0.detached().requiringGradient() }
    let b = featureBatch(leaves, teacher, indices: indices)
    let l = evaluate?(b) ?? loss.loss(b)
    l.backward()
    var params: [String: Tensor] = [:]
    for (p, x) in loss.adapters?.namedParameters() ?? [] { if let g = x.gradient { params[p] = g } }
    return (l.item, leaves.map { $0.gradient ?? Tensor.zeros($0.shape) }, params)
}
