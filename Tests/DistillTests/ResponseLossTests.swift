import XCTest
import DistillTestSupport
import DistillCore
import DistillNN
@testable import Distill

/// Response-based losses: PyTorch golden values and gradients, finite differences, hand cases.
final class ResponseLossTests: XCTestCase {
    let fx = JSONFixture.response

    struct Inputs { let student: Tensor, teacher: Tensor, labels: IntTensor, partial: IntTensor }

    func inputs() throws -> Inputs {
        Inputs(student: try fx.tensor("inputs.student"), teacher: try fx.tensor("inputs.teacher"),
               labels: IntTensor(try fx.ints("inputs.labels")),
               partial: IntTensor(try fx.ints("inputs.partial_labels")))
    }

    /// Value and gradient against the fixture, then central differences of the same loss.
    func golden(_ key: String, _ loss: DistillationLoss, labels: IntTensor? = nil,
                file: StaticString = #filePath, line: UInt = #line) throws {
        let x = try inputs()
        let y = labels ?? x.labels
        let s = x.student.requiringGradient()
        let v = loss.loss(DistillationBatch(studentLogits: s, teacherLogits: x.teacher, labels: y))
        let expected = try fx.double("losses.\(key).value")
        XCTAssertEqual(Double(v.item), expected, accuracy: 1e-5 * abs(expected) + 1e-6, key, file: file, line: line)
        v.backward()
        assertClose(s.gradient!, try fx.tensor("losses.\(key).grad"), atol: 1e-6, "\(key) gradient", file: file, line: line)
        let failures = GradientCheck.firstOrder([x.student], eps: 1e-2) { xs in
            loss.loss(DistillationBatch(studentLogits: xs[0], teacherLogits: x.teacher, labels: y))
        }
        XCTAssertTrue(failures.isEmpty, "\(key) finite differences: \(failures.prefix(3))", file: file, line: line)
    }

    func testHintonAgainstPyTorch() throws {
        let partial = try inputs().partial
        try golden("hinton_T1_a0.5", HintonLoss(temperature: 1, alpha: 0.5))
        try golden("hinton_T4_a0.9", HintonLoss())
        try golden("hinton_T2_a0.3", HintonLoss(temperature: 2, alpha: 0.3))
        try golden("hinton_T4_a0", HintonLoss(temperature: 4, alpha: 0))
        try golden("hinton_T4_a0.9_partial", HintonLoss(), labels: partial)
        try golden("hinton_T4_a0.9", try MethodRegistry.make("hinton"))
        try golden("hinton_T2_a0.3", try MethodRegistry.make("hinton", options: ["temperature": "2", "alpha": "0.3"]))
    }

    func testKDAndCEAgainstPyTorch() throws {
        let partial = try inputs().partial
        try golden("kd_T4", try MethodRegistry.make("kd"))
        try golden("kd_T2", try MethodRegistry.make("kd", options: ["temperature": "2"]))
        try golden("ce", try MethodRegistry.make("ce"))
        try golden("ce_smooth0.1", try MethodRegistry.make("ce", options: ["label_smoothing": "0.1"]))
        try golden("ce_partial", CrossEntropyTerm(), labels: partial)
        // kd needs no labels: all-unlabelled rows give the same value
        try golden("kd_T4", HintonLoss(alpha: 1, name: "kd"), labels: IntTensor([Int](repeating: -1, count: 6)))
    }

    func testLogitsDKDPseudoAgainstPyTorch() throws {
        let partial = try inputs().partial
        try golden("logits", try MethodRegistry.make("logits"))
        try golden("dkd_a1_b8_T4", try MethodRegistry.make("dkd"))
        try golden("dkd_a0.5_b2_T2", try MethodRegistry.make("dkd", options: ["alpha": "0.5", "beta": "2", "temperature": "2"]))
        try golden("dkd_a1_b8_T4_partial", DecoupledKDLoss(), labels: partial)
        try golden("pseudo", try MethodRegistry.make("pseudo"), labels: IntTensor([Int](repeating: -1, count: 6)))
    }

    func testDKDWarmupScalesTheWholeTermByEpoch() throws {
        let x = try inputs()
        let full = DecoupledKDLoss().loss(DistillationBatch(studentLogits: x.student, teacherLogits: x.teacher, labels: x.labels)).item
        let dkd = try MethodRegistry.make("dkd", options: ["warmup": "4"])
        // mdistiller: min(e / W, 1) in epoch e = 1, 2, …; our epochs are 0-based
        for (epoch, factor) in [(0, 0.25), (1, 0.5), (3, 1.0), (9, 1.0)] as [(Int, Float)] {
            let v = dkd.loss(DistillationBatch(studentLogits: x.student, teacherLogits: x.teacher, labels: x.labels, epoch: epoch)).item
            XCTAssertEqual(v, full * factor, accuracy: 1e-5 * full, "epoch \(epoch)")
        }
        // outside a training loop (no epoch) the term has its full weight
        XCTAssertEqual(dkd.loss(DistillationBatch(studentLogits: x.student, teacherLogits: x.teacher, labels: x.labels)).item, full, accuracy: 1e-6)
        XCTAssertEqual(DecoupledKDLoss().warmupFactor(epoch: 0), 1)
    }

    func testSecondOrderOfHintonAndDKD() throws {
        let x = try inputs()
        for loss in [HintonLoss(temperature: 2, alpha: 0.5), DecoupledKDLoss(alpha: 1, beta: 2, temperature: 2)] as [DistillationLoss] {
            let failures = GradientCheck.secondOrder([x.student], eps: 1e-2) { xs in
                loss.loss(DistillationBatch(studentLogits: xs[0], teacherLogits: x.teacher, labels: x.labels))
            }
            XCTAssertTrue(failures.isEmpty, "\(loss.name) second order: \(failures.prefix(3))")
        }
    }

    func testHandComputableCases() {
        let z = Tensor(shape: [2, 3], scalars: [1, 2, 3, -1, 0.5, 0])
        let same = DistillationBatch(studentLogits: z, teacherLogits: z, labels: IntTensor([2, 0]))
        // identical teacher and student: soft term, logit MSE and DKD are 0
        XCTAssertEqual(HintonLoss(alpha: 1).loss(same).item, 0, accuracy: 1e-6)
        XCTAssertEqual(LogitRegressionLoss().loss(same).item, 0)
        XCTAssertEqual(DecoupledKDLoss().loss(same).item, 0, accuracy: 1e-5)
        // α = 0 is plain cross-entropy; pseudo-labels = teacher argmax [2, 1]
        XCTAssertEqual(HintonLoss(alpha: 0).loss(same).item, crossEntropy(logits: z, labels: IntTensor([2, 0])).item, accuracy: 1e-6)
        XCTAssertEqual(PseudoLabelLoss().loss(same).item, crossEntropy(logits: z, labels: IntTensor([2, 1])).item, accuracy: 1e-6)
        // uniform student against a one-hot-ish teacher at T = 1: KL = Σ p log p + log C
        let u = Tensor.zeros([1, 2]), t = Tensor(shape: [1, 2], scalars: [0, logf(3)])   // p = [1/4, 3/4]
        let kl = HintonLoss(temperature: 1, alpha: 1).loss(DistillationBatch(studentLogits: u, teacherLogits: t, labels: IntTensor([0])))
        XCTAssertEqual(kl.item, 0.25 * logf(0.25) + 0.75 * logf(0.75) + logf(2), accuracy: 1e-6)
        // logits: mean over batch and classes
        let d = LogitRegressionLoss().loss(DistillationBatch(studentLogits: Tensor(shape: [1, 2], scalars: [1, 3]),
                                                            teacherLogits: Tensor.zeros([1, 2]), labels: IntTensor([0])))
        XCTAssertEqual(d.item, 5)
    }

    func testUnlabelledBatchesGiveZeroOnTheTape() {
        let s = Tensor(shape: [2, 3], scalars: [1, 2, 3, -1, 0.5, 0]).requiringGradient()
        let batch = DistillationBatch(studentLogits: s, teacherLogits: Tensor.zeros([2, 3]), labels: IntTensor([-1, -1]))
        for loss in [CrossEntropyTerm(), DecoupledKDLoss()] as [DistillationLoss] {
            let l = loss.loss(batch)
            XCTAssertEqual(l.item, 0, loss.name)
            l.backward()
            XCTAssertEqual(s.gradient!.scalars, [Float](repeating: 0, count: 6), loss.name)
            s.zeroGradient()
        }
        // hinton on an unlabelled batch is α times the soft term
        let soft = HintonLoss(alpha: 1).loss(batch).item
        XCTAssertEqual(HintonLoss(alpha: 0.9).loss(batch).item, 0.9 * soft, accuracy: 1e-6)
    }

    func testNoisyTeacher() throws {
        let x = try inputs()
        let batch = DistillationBatch(studentLogits: x.student, teacherLogits: x.teacher, labels: x.labels)
        let plain = LogitRegressionLoss().loss(batch).item
        // no noise, or no perturbed rows: the logit regression exactly
        XCTAssertEqual(try MethodRegistry.make("noisy", options: ["sigma": "0"]).loss(batch).item, plain)
        XCTAssertEqual(NoisyTeacherLoss(alpha: 0).loss(batch).item, plain)
        XCTAssertEqual(NoisyTeacherLoss(alpha: 0.05, sigma: 0.5).loss(batch).item, plain)   // ⌊0.3 + ½⌋ = 0 rows
        XCTAssertNotEqual(NoisyTeacherLoss(alpha: 0.1, sigma: 0.5).loss(batch).item, plain)  // ⌊0.6 + ½⌋ = 1 row
        // the same seed reproduces a sequence of batches; another seed differs
        let a = NoisyTeacherLoss(seed: 3), b = NoisyTeacherLoss(seed: 3), c = NoisyTeacherLoss(seed: 4)
        for _ in 0..<3 {
            let va = a.loss(batch).item
            XCTAssertEqual(va, b.loss(batch).item)
            XCTAssertNotEqual(va, c.loss(batch).item)
        }
        // half the rows (3 of 6) perturbed, multiplicatively: ratios 1 + ξ elsewhere exactly 1
        let n = NoisyTeacherLoss(alpha: 0.5, sigma: 0.1, seed: 1)
        let p = n.perturb(x.teacher), ratio = zip(p.scalars, x.teacher.scalars).map { $0 / $1 }
        let touched = (0..<6).filter { i in (0..<5).contains { abs(ratio[i * 5 + $0] - 1) > 1e-7 } }
        XCTAssertEqual(touched.count, 3)
        XCTAssertLessThan(ratio.map { abs($0 - 1) }.max()!, 0.6)
        // the KD form at σ = 0 is kd; gradients against a fixed perturbed target
        let kd = try MethodRegistry.make("noisy", options: ["sigma": "0", "loss": "kd", "temperature": "2"])
        XCTAssertEqual(kd.loss(batch).item, HintonLoss(temperature: 2, alpha: 1).loss(batch).item, accuracy: 1e-6)
        for kind in NoisyTeacherLoss.Kind.allCases {
            let loss = NoisyTeacherLoss(kind: kind, seed: 5)
            let target = loss.perturb(x.teacher)
            let failures = GradientCheck.firstOrder([x.student]) { loss.loss(student: $0[0], target: target) }
            XCTAssertTrue(failures.isEmpty, "noisy \(kind): \(failures.prefix(3))")
        }
    }

    func testRegistryNamesAndOptions() {
        for name in ["hinton", "kd", "ce", "logits", "noisy", "dkd", "pseudo"] {
            XCTAssertTrue(MethodRegistry.names.contains(name), name)
            XCTAssertNoThrow(try MethodRegistry.make(name))
            XCTAssertEqual(try MethodRegistry.make(name).name, name)
        }
        XCTAssertThrowsError(try MethodRegistry.make("hintn")) { e in
            XCTAssertTrue("\(e)".contains("unknown distillation method 'hintn'") && "\(e)".contains("hinton"), "\(e)")
        }
        XCTAssertThrowsError(try MethodRegistry.make("hinton", options: ["temprature": "4"])) { e in
            XCTAssertEqual(e as? DistillationError, .badOption(method: "hinton", option: "temprature",
                                                                detail: "is not an option of this method; options: temperature, alpha, t2, standardize"))
        }
        XCTAssertThrowsError(try MethodRegistry.make("logits", options: ["alpha": "1"])) { XCTAssertTrue("\($0)".contains("'alpha'"), "\($0)") }
        XCTAssertThrowsError(try MethodRegistry.make("noisy", options: ["temperature": "2"])) { XCTAssertTrue("\($0)".contains("'temperature' is not an option"), "\($0)") }
        let bad: [(String, [String: String], String)] = [
            ("hinton", ["temperature": "hot"], "temperature"), ("hinton", ["temperature": "0"], "temperature"),
            ("hinton", ["alpha": "1.5"], "alpha"), ("kd", ["temperature": "-1"], "temperature"),
            ("ce", ["label_smoothing": "2"], "label_smoothing"), ("dkd", ["beta": "-8"], "beta"), ("dkd", ["warmup": "-1"], "warmup"),
            ("noisy", ["sigma": "-0.1"], "sigma"), ("noisy", ["seed": "x"], "seed"), ("noisy", ["loss": "l1"], "loss"),
        ]
        for (m, o, key) in bad {
            XCTAssertThrowsError(try MethodRegistry.make(m, options: o), "\(m) \(o)") { e in
                guard case let .badOption(method, option, _)? = e as? DistillationError else { return XCTFail("\(e)") }
                XCTAssertEqual(method, m); XCTAssertEqual(option, key, "\(e)")
            }
        }
    }

    func testObjectiveOfRegistryTerms() throws {
        let x = try inputs()
        let obj = try Objective([("ce", 0.1, try MethodRegistry.make("ce")), ("kd", 0.9, try MethodRegistry.make("kd"))])
        let batch = DistillationBatch(studentLogits: x.student, teacherLogits: x.teacher, labels: x.labels)
        XCTAssertEqual(obj(batch).item, HintonLoss().loss(batch).item, accuracy: 1e-5)
    }
}
