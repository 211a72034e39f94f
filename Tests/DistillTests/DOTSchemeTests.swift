import XCTest
import DistillCore
import DistillNN
@testable import DistillData
@testable import Distill

/// `optimizer: dot` in offline distillation: the task (`ce`) and distillation parts get separate
/// gradients and momenta (DOT, Zhao et al., ICCV 2023), the config is checked, and training runs.
final class DOTSchemeTests: XCTestCase {
    func config(_ optimizer: String) -> TrainingConfig {
        var c = TrainingConfig()
        c.optimizer = optimizer; c.learningRate = 0.1; c.momentum = 0.9; c.weightDecay = 0.01
        return c
    }

    func scheme(_ methods: [MethodSpec], optimizer: String = "dot", seed: UInt64 = 3) throws -> (OfflineDistillation, Linear, Linear) {
        var g = SeededGenerator(seed: seed)
        let teacherNet = Linear(4, 3, using: &g), student = Linear(4, 3, using: &g)
        let s = try DistillationSession(student: student, teacher: ModelTeacher(teacherNet, classCount: 3), methods: methods,
                                        probe: seeded([2, 4], seed: 1), datasetSize: 6)
        return (OfflineDistillation(session: s, spec: "linear", config: config(optimizer), identity: "dot-test"), student, teacherNet)
    }

    let methods = [MethodSpec(name: "ce"), MethodSpec(name: "kd", weight: 0.5, options: ["temperature": "2"])]
    let x = seeded([6, 4], seed: 2), y = IntTensor([0, 1, 2, 0, 1, 2])
    func context(_ step: Int) -> StepContext { StepContext(epoch: 0, step: step, batch: step, stepsPerEpoch: 10, epochs: 1, learningRate: 0.1) }

    /// Two steps of the scheme against the rule applied by hand to the two separately taken
    /// gradients (every parameter has both): b_task = μ_task·b_task + g_task + λθ, b_kd = μ_kd·b_kd + g_kd.
    func testTheStepUpdatesWithSeparateTaskAndDistillationMomenta() throws {
        let (scheme, student, teacher) = try scheme(methods)
        XCTAssertTrue(scheme.groups[0].optimizer is DistillationOrientedTrainer)
        let updater = StepUpdater(scheme: scheme)
        var w = student.weight.value.scalars.map(Double.init), bt = [Double](repeating: 0, count: w.count), bk = bt
        for step in 0..<2 {
            // the two gradients, taken by hand on the current weights
            let wt = Parameter(Tensor(shape: student.weight.shape, scalars: w.map(Float.init))).value, bias = student.bias!.value.detached()
            let z = x.matmul(wt.transposed()) + bias
            let zt = withoutGradients { teacher(x) }
            let gTask = gradients(of: crossEntropy(logits: z, labels: y), wrt: [wt], retainGraph: true)[0].scalars.map(Double.init)
            let kd = HintonLoss(temperature: 2, alpha: 1, name: "kd").loss(DistillationBatch(studentLogits: z, teacherLogits: zt, labels: y)) * 0.5
            let gKD = gradients(of: kd, wrt: [wt])[0].scalars.map(Double.init)
            for i in w.indices {
                let d = gTask[i] + 0.01 * w[i]
                bt[i] = step == 0 ? d : 0.825 * bt[i] + d
                bk[i] = step == 0 ? gKD[i] : 0.975 * bk[i] + gKD[i]
                w[i] -= 0.1 * bt[i] + 0.1 * bk[i]
            }
            let out = try scheme.step(Batch(images: x, labels: y, indices: Array(0..<6)), context: context(step), updater: updater)
            XCTAssertTrue(out.loss.isFinite)
            XCTAssertEqual(out.terms.map(\.name), ["ce", "kd"])
            for (a, e) in zip(student.weight.value.scalars, w) { XCTAssertEqual(Double(a), e, accuracy: 1e-5, "step \(step + 1)") }
        }
        // and it is not SGD: the same two steps with plain momentum 0.9 end elsewhere
        let (sgdScheme, sgdStudent, _) = try self.scheme(methods, optimizer: "sgd")
        let u = StepUpdater(scheme: sgdScheme)
        for step in 0..<2 { _ = try sgdScheme.step(Batch(images: x, labels: y, indices: Array(0..<6)), context: context(step), updater: u) }
        let gap = zip(sgdStudent.weight.value.scalars, student.weight.value.scalars).map { abs($0 - $1) }.max()!
        XCTAssertGreaterThan(gap, 1e-4)
    }

    func testTrainingWithDOTLowersTheObjectiveWithoutNaN() throws {
        let (scheme, _, _) = try scheme(methods, seed: 9)
        let updater = StepUpdater(scheme: scheme)
        var losses: [Float] = []
        for step in 0..<40 {
            losses.append(try scheme.step(Batch(images: x, labels: y, indices: Array(0..<6)), context: context(step), updater: updater).loss)
        }
        XCTAssertTrue(losses.allSatisfy(\.isFinite))
        XCTAssertLessThan(losses.last!, 0.7 * losses.first!, "\(losses.first!) → \(losses.last!)")
    }

    func testAnObjectiveWithoutBothPartsAndBadDeltasAreRefused() throws {
        let (scheme, _, _) = try scheme([MethodSpec(name: "kd")])
        XCTAssertThrowsError(try scheme.step(Batch(images: x, labels: y, indices: Array(0..<6)), context: context(0), updater: StepUpdater(scheme: scheme))) { e in
            XCTAssertTrue("\(e)".contains("dot") && "\(e)".contains("ce"), "\(e)")
        }
        XCTAssertNoThrow(try config("dot").validate())
        XCTAssertEqual(try config("dot").dotDelta(), 0.075)
        XCTAssertEqual(try config("dot:0.05").dotDelta(), 0.05)
        XCTAssertNil(try config("sgd").dotDelta())
        for bad in ["dot:0.2", "dot:-1", "dot:x", "dots"] {
            XCTAssertThrowsError(try config(bad).validate(), bad) { e in XCTAssertTrue("\(e)".contains("optimizer"), "\(e)") }
        }
    }
}
