import XCTest
import DistillCore
import DistillData
import DistillNN
@testable import Distill

/// Lopes et al.'s activation metadata and reconstruction: the recorded statistics are the
/// per-class moments of the teacher's layer outputs, the top-layer draws have the recorded
/// covariance, the file round-trips and refuses a teacher it does not describe, the objectives
/// match PyTorch (Fixtures/make_datafree_fixtures.py), and the input gradient through a frozen
/// teacher matches finite differences.
final class ActivationMetadataTests: XCTestCase {
    let input = ModelInput(channels: 1, height: 12, width: 12, classes: 3)

    func tinyTeacher(_ spec: String = "lenet5", seed: UInt64 = 3) throws -> FrozenTeacher {
        try FrozenTeacher(try ModelZoo.make(spec, input: input, seed: seed), spec: spec, classCount: 3)
    }

    func tinyData(_ n: Int = 30, classes: [Int]? = nil) -> Dataset {
        var g = SeededGenerator(seed: 11)
        let labels = classes ?? (0..<n).map { $0 % 3 }
        return Dataset(name: "tiny", images: Tensor.uniform([labels.count, 1, 12, 12], low: 0, high: 1, using: &g), labels: IntTensor(labels), classCount: 3)
    }

    func testRecordedStatisticsAreThePerClassMoments() throws {
        let teacher = try tinyTeacher(), data = tinyData()
        let m = try ActivationMetadata.record(teacher: teacher, on: data, temperature: 2, batchSize: 7)
        XCTAssertEqual(m.layers.map(\.path), teacher.hiddenActivationPaths)
        XCTAssertEqual(teacher.hiddenActivationPaths.count, teacher.activationPaths.count - 1, "the last Linear is the top layer")
        XCTAssertEqual(m.classCounts, [10, 10, 10])
        let out = withoutGradients { teacher(data.images) }
        let hidden = teacher.hidden(out), top = (out.logits / 2).scalars
        let labels = data.labels.scalars
        for (l, h) in hidden.enumerated() {
            let d = h.shape.dropFirst().reduce(1, *), v = h.scalars
            XCTAssertEqual(m.layers[l].shape, Array(h.shape.dropFirst()))
            for y in 0..<3 {
                let rows = labels.indices.filter { labels[$0] == y }
                for j in stride(from: 0, to: d, by: max(d / 17, 1)) {
                    let xs = rows.map { Double(v[$0 * d + j]) }
                    let mu = xs.reduce(0, +) / Double(xs.count)
                    let sd = (xs.map { ($0 - mu) * ($0 - mu) }.reduce(0, +) / Double(xs.count)).squareRoot()
                    XCTAssertEqual(Double(m.layers[l].mean.scalars[y * d + j]), mu, accuracy: 1e-4 * max(1, abs(mu)))
                    XCTAssertEqual(Double(m.layers[l].std.scalars[y * d + j]), sd, accuracy: 1e-3 * max(1, sd))
                }
            }
        }
        for y in 0..<3 {   // L·Lᵀ is the biased covariance of logits / T within class y
            let rows = labels.indices.filter { labels[$0] == y }
            let mu = (0..<3).map { a in rows.map { Double(top[$0 * 3 + a]) }.reduce(0, +) / Double(rows.count) }
            let l = Array(m.topCholesky.scalars[(y * 9)..<(y * 9 + 9)])
            for a in 0..<3 {
                XCTAssertEqual(Double(m.topMean.scalars[y * 3 + a]), mu[a], accuracy: 1e-4)
                for c in 0..<3 {
                    let cov = rows.map { (Double(top[$0 * 3 + a]) - mu[a]) * (Double(top[$0 * 3 + c]) - mu[c]) }.reduce(0, +) / Double(rows.count)
                    let llt = (0..<3).map { Double(l[a * 3 + $0]) * Double(l[c * 3 + $0]) }.reduce(0, +)
                    XCTAssertEqual(llt, cov, accuracy: 1e-4 + 1e-3 * abs(cov), "class \(y) Σ[\(a),\(c)]")
                    if c > a { XCTAssertEqual(l[a * 3 + c], 0, "L is lower triangular") }
                }
            }
        }
    }

    func testTopDrawsHaveTheRecordedMeanAndCovariance() throws {
        let m = try ActivationMetadata.record(teacher: try tinyTeacher(), on: tinyData(), temperature: 1)
        var g = SeededGenerator(seed: 4)
        let n = 40_000, y = 1
        let s = m.sampleTop(classIndex: y, count: n, using: &g).scalars
        let l = Array(m.topCholesky.scalars[(y * 9)..<(y * 9 + 9)]).map(Double.init)
        for a in 0..<3 {
            let mu = (0..<n).map { Double(s[$0 * 3 + a]) }.reduce(0, +) / Double(n)
            let sigma = (0..<3).map { l[a * 3 + $0] * l[a * 3 + $0] }.reduce(0, +)
            XCTAssertEqual(mu, Double(m.topMean.scalars[y * 3 + a]), accuracy: 4 * (sigma / Double(n)).squareRoot() + 1e-6)
            for c in 0..<3 {
                let muc = (0..<n).map { Double(s[$0 * 3 + c]) }.reduce(0, +) / Double(n)
                let cov = (0..<n).map { (Double(s[$0 * 3 + a]) - mu) * (Double(s[$0 * 3 + c]) - muc) }.reduce(0, +) / Double(n)
                let want = (0..<3).map { l[a * 3 + $0] * l[c * 3 + $0] }.reduce(0, +)
                XCTAssertEqual(cov, want, accuracy: 0.05 * sigma + 1e-6, "Σ[\(a),\(c)]")
            }
        }
        let h = m.sampleHidden(0, classIndex: 2, count: 5, using: &g)
        XCTAssertEqual(h.shape, [5] + m.layers[0].shape)
    }

    func testCholeskyOfASingularCovarianceAddsTheSmallestRidge() {
        let sigma: [Double] = [4, 2, 0, 2, 1, 0, 0, 0, 0]   // rank 1
        let l = ActivationMetadata.cholesky(sigma, 3)
        XCTAssertTrue(l.allSatisfy(\.isFinite))
        for a in 0..<3 { for c in 0..<3 {
            XCTAssertEqual((0..<3).map { l[a * 3 + $0] * l[c * 3 + $0] }.reduce(0, +), sigma[a * 3 + c], accuracy: 1e-3)
        } }
        let pd: [Double] = [4, 2, 2, 3]
        XCTAssertEqual(ActivationMetadata.cholesky(pd, 2), [2, 0, 1, 2.squareRoot()])
    }

    func testTheFileRoundTripsAndRefusesAnotherTeacher() throws {
        let teacher = try tinyTeacher()
        let m = try ActivationMetadata.record(teacher: teacher, on: tinyData())
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("lopes-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let path = dir.appendingPathComponent("metadata.safetensors").path
        try m.save(to: path)
        let back = try ActivationMetadata.load(path, for: teacher, input: [1, 12, 12])
        XCTAssertEqual(back.layers.map(\.path), m.layers.map(\.path))
        XCTAssertEqual(back.layers.map(\.mean.scalars), m.layers.map(\.mean.scalars))
        XCTAssertEqual(back.topCholesky.scalars, m.topCholesky.scalars)
        XCTAssertEqual(back.classCounts, m.classCounts); XCTAssertEqual(back.temperature, 8)

        let other = try FrozenTeacher(try ModelZoo.make("mlp:6", input: input, seed: 1), spec: "mlp:6", classCount: 3)
        XCTAssertThrowsError(try ActivationMetadata.load(path, for: other, input: [1, 12, 12])) {
            XCTAssertTrue("\($0)".contains(path) && "\($0)".contains("hidden layers"), "\($0)")
        }
        var cut = m
        cut.layers[1].mean = cut.layers[1].mean.slice(axis: 1, start: 0, length: 5)
        try cut.save(to: path)
        XCTAssertThrowsError(try ActivationMetadata.load(path, for: teacher, input: [1, 12, 12])) {
            XCTAssertTrue("\($0)".contains("layer1.mean") && "\($0)".contains("shape"), "\($0)")
        }
        let foreign = dir.appendingPathComponent("model.safetensors").path
        try teacher.model.save(to: foreign)
        XCTAssertThrowsError(try ActivationMetadata.load(foreign, for: teacher, input: [1, 12, 12])) {
            XCTAssertTrue("\($0)".contains("lopes-activation-metadata"), "\($0)")
        }
        XCTAssertThrowsError(try ActivationMetadata.record(teacher: teacher, on: tinyData(classes: [0, 2, 0, 2]))) {
            XCTAssertTrue("\($0)".contains("class 1 has none"), "\($0)")
        }
    }

    func testObjectivesMatchPyTorch() throws {
        let fixture = try JSONFixture(named: "datafree_fixtures")
        for (key, objective) in [("lopes_top_layer", ActivationRecovery.Objective.topLayer), ("lopes_all_layers", .allLayers)] {
            let c = try fixture.scoped(key)
            let xs = try c.tensors("inputs").map { $0.requiringGradient() }
            let half = xs.count / 2
            let t = ActivationRecovery.Targets(top: xs[half], hidden: Array(xs[(half + 1)...]))
            let l = ActivationRecovery.loss(objective: objective, top: xs[0], hidden: Array(xs[1..<half]), targets: t)
            let want = try c.number("loss")
            XCTAssertEqual(l.item, want, accuracy: abs(want) * 1e-5 + 1e-7, key)
            l.backward()
            for (x, g) in zip(xs, try c.tensors("grads")) {
                for (a, b) in zip(try XCTUnwrap(x.gradient, key).scalars, g.scalars) { XCTAssertEqual(a, b, accuracy: abs(b) * 1e-4 + 1e-7, key) }
            }
        }
    }

    func testInputGradientOfTheAllLayersObjectiveMatchesFiniteDifferences() throws {
        let teacher = try tinyTeacher("lenet5:bn=true")
        let m = try ActivationMetadata.record(teacher: teacher, on: tinyData(), temperature: 2)
        var g = SeededGenerator(seed: 8)
        let t = ActivationRecovery.targets(m, objective: .allLayers, classIndex: 0, count: 2, using: &g)
        let x = Tensor.normal([2, 1, 12, 12], using: &g)
        let failures = GradientCheck.firstOrder([x], eps: 1e-2, atol: 2e-4, rtol: 3e-2) { xs in
            let out = teacher(xs[0])
            return ActivationRecovery.loss(objective: .allLayers, top: out.logits / 2, hidden: teacher.hidden(out), targets: t)
        }
        XCTAssertTrue(failures.isEmpty, "\(failures.prefix(5))")
    }

    func testReconstructionLowersTheObjective() throws {
        let teacher = try tinyTeacher()
        let m = try ActivationMetadata.record(teacher: teacher, on: tinyData())
        var g = SeededGenerator(seed: 2)
        for objective in ActivationRecovery.Objective.allCases {
            let t = ActivationRecovery.targets(m, objective: objective, classIndex: 2, count: 4, using: &g)
            let x0 = Tensor.normal([4, 1, 12, 12], using: &g)
            func loss(_ x: Tensor) -> Float {
                withoutGradients { let out = teacher(x); return ActivationRecovery.loss(objective: objective, top: out.logits / m.temperature, hidden: teacher.hidden(out), targets: t).item }
            }
            let r = ActivationRecovery.reconstruct(teacher: teacher, metadata: m, objective: objective, initial: x0, targets: t, iterations: 30, learningRate: 0.05)
            XCTAssertLessThan(loss(r.images), 0.7 * loss(x0), "\(objective)")
            for p in teacher.model.parameters { XCTAssertNil(p.gradient) }
        }
    }
}
