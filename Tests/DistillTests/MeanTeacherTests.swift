import XCTest
import DistillCore
import DistillData
import DistillNN
@testable import Distill

/// Mean teacher: the EMA update after every step with the paper's α (not 1 − α), the
/// consistency weight and decay schedules, the step's loss against a hand computation.
final class MeanTeacherTests: XCTestCase {
    func config() -> TrainingConfig {
        var c = TrainingConfig()
        c.model = "linear"; c.momentum = 0; c.weightDecay = 0; c.learningRate = 0.5
        return c
    }

    func pool() -> Dataset {
        var g = SeededGenerator(seed: 4)
        return Dataset(name: "pool", images: Tensor.uniform([6, 1, 1, 2], using: &g), labels: IntTensor([0, 1, 2, 0, 1, 2]), classCount: 3)
    }

    /// A flattening linear model on 1×1×2 images.
    final class Net: Module {
        let fc: Linear
        init(seed: UInt64) {
            var g = SeededGenerator(seed: seed)
            fc = Linear(2, 3, using: &g)
            super.init()
            register(child: fc, as: "fc")
        }
        override func forward(_ x: Tensor) -> Tensor { fc(x.reshaped([x.shape[0], 2])) }
    }

    func scheme(_ o: MeanTeacher.Options = MeanTeacher.Options()) throws -> MeanTeacher {
        try MeanTeacher(student: Net(seed: 1), makeTeacher: { Net(seed: 99) }, spec: "net", labelled: pool(), config: config(), options: o)
    }

    func params(_ m: Module) -> [Float] { m.namedParameters().sorted { $0.path < $1.path }.flatMap { $0.parameter.value.scalars } }

    func testTheTeacherStartsAsASeparateCopyWithoutGradients() throws {
        let s = try scheme()
        let student = s.member("student").module, teacher = s.member("teacher").module
        XCTAssertFalse(student === teacher)
        XCTAssertEqual(params(student), params(teacher))
        XCTAssertTrue(teacher.namedParameters().allSatisfy { !$0.parameter.requiresGradient })
        XCTAssertEqual(s.groups.count, 1)
        XCTAssertTrue(s.groups[0].parameters.allSatisfy { $0.path.hasPrefix("student.") }, "only the student is optimised")
    }

    func testEMAUpdateAfterEveryStepWithThePapersFactor() throws {
        let s = try scheme()
        let student = s.member("student").module, teacher = s.member("teacher").module
        // move the student away from the teacher, then apply the update of step 10 (α = min(1 − 1/11, 0.99))
        for (_, p) in student.namedParameters() { p.value = p.value + 1 }
        let before = params(teacher), current = params(student)
        try s.afterUpdate(context: StepContext(epoch: 0, step: 9, batch: 9, stepsPerEpoch: 100, epochs: 10, learningRate: 0.5))
        let a: Float = 1 - 1 / 11
        for (t, (b, c)) in zip(params(teacher), zip(before, current)) { XCTAssertEqual(t, a * b + (1 - a) * c, accuracy: 1e-6) }
        // and again at the next step of the same epoch: the teacher moves every step, not once per epoch
        let mid = params(teacher)
        try s.afterUpdate(context: StepContext(epoch: 0, step: 10, batch: 10, stepsPerEpoch: 100, epochs: 10, learningRate: 0.5))
        let a2: Float = 1 - 1 / 12
        for (t, (b, c)) in zip(params(teacher), zip(mid, current)) { XCTAssertEqual(t, a2 * b + (1 - a2) * c, accuracy: 1e-6) }
    }

    func testSchedules() throws {
        let s = try scheme()
        XCTAssertEqual(s.consistencyWeight(atEpoch: 0), 100 * Float(exp(-5.0)), accuracy: 1e-4)
        XCTAssertEqual(s.consistencyWeight(atEpoch: 2.5), 100 * Float(exp(-1.25)), accuracy: 1e-3)
        XCTAssertEqual(s.consistencyWeight(atEpoch: 5), 100)
        XCTAssertEqual(s.consistencyWeight(atEpoch: 12), 100)
        XCTAssertEqual(s.emaDecay(steps: 1, epoch: 0), 0.5)
        XCTAssertEqual(s.emaDecay(steps: 1000, epoch: 1), 0.99)
        XCTAssertEqual(s.emaDecay(steps: 500, epoch: 6), 1 - 1 / Float(501))
        XCTAssertEqual(s.emaDecay(steps: 100_000, epoch: 6), 0.999)
    }

    func testTheStepLossIsCEPlusWeightedSoftmaxMSE() throws {
        var o = MeanTeacher.Options()
        o.inputNoise = 0; o.labelledBatch = 2; o.rampupEpochs = 0; o.consistencyWeight = 10
        let s = try scheme(o)
        let teacher = s.member("teacher").module, student = s.member("student").module
        for (_, p) in teacher.namedParameters() { p.value = p.value * 0.5 }
        var g = SeededGenerator(seed: 8)
        let batch = Batch(images: Tensor.uniform([3, 1, 1, 2], using: &g), labels: IntTensor([1, -1, -1]), indices: [0, 1, 2])
        // the rows the sampler will add, drawn from a copy of its generator
        var copy = SeededGenerator(state: s.sampler.generator.state)
        let rows = (0..<2).map { _ in copy.nextInt(below: 6) }
        let images = Tensor.concatenated([batch.images, pool().subset(rows).images], alongAxis: 0)
        let labels = [1] + rows.map { pool().labels.scalars[$0] }
        let zs = withoutGradients { student(images) }, zt = withoutGradients { teacher(images) }
        let ps = zs.softmax(alongAxis: 1).scalars, pt = zt.softmax(alongAxis: 1).scalars
        var mse: Float = 0
        for i in 0..<ps.count { mse += (ps[i] - pt[i]) * (ps[i] - pt[i]) }
        mse /= Float(ps.count)
        let labelledRows = [0, 3, 4]
        var ce: Float = 0
        for (r, y) in zip(labelledRows, labels) { ce -= log(ps[r * 3 + y]) }
        ce /= 3
        let out = try s.step(batch, context: StepContext(epoch: 0, step: 0, batch: 0, stepsPerEpoch: 1, epochs: 1, learningRate: 0.5),
                             updater: StepUpdater(scheme: s))
        let terms = Dictionary(uniqueKeysWithValues: out.terms.map { ($0.name, $0.value) })
        XCTAssertEqual(terms["ce"]!, ce, accuracy: 1e-5)
        XCTAssertEqual(terms["consistency"]!, mse, accuracy: 1e-6)
        XCTAssertEqual(out.loss, ce + 10 * mse, accuracy: 1e-5)
        XCTAssertEqual(out.logits?.shape, [3, 3], "train accuracy is counted on the loop's batch")
        XCTAssertTrue(teacher.namedParameters().allSatisfy { $0.parameter.gradient == nil }, "no gradient reaches the teacher")
    }

    func testBadOptionsAreRefused() {
        for change in [{ (o: inout MeanTeacher.Options) in o.decay = 1 }, { $0.decayAfterRampup = -0.1 }, { $0.inputNoise = -1 },
                       { $0.labelledBatch = 0 }, { $0.consistencyWeight = .nan }] {
            var o = MeanTeacher.Options()
            change(&o)
            XCTAssertThrowsError(try scheme(o)) { XCTAssertTrue("\($0)".contains("scheme."), "\($0)") }
        }
        let empty = Dataset(name: "e", images: Tensor.zeros([0, 1, 1, 2]), labels: IntTensor([Int]()), classCount: 3)
        XCTAssertThrowsError(try MeanTeacher(student: Net(seed: 1), makeTeacher: { Net(seed: 2) }, spec: "net", labelled: empty, config: config()))
        let same = Net(seed: 1)
        XCTAssertThrowsError(try MeanTeacher(student: same, makeTeacher: { same }, spec: "net", labelled: pool(), config: config()))
    }
}
