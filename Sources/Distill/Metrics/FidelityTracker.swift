import DistillCore
import DistillData
import DistillNN

/// Agreement and predictive KL between a student and its teacher at one point of training, on
/// the distillation data ("train") and on the test split (Stanton et al. 2021, Fig. 5–6).
public struct FidelityPoint: Codable, Equatable, Sendable {
    public var trainAgreement: Double
    public var trainKL: Double
    public var testAgreement: Double?
    public var testKL: Double?
    public var testAccuracy: Double?
}

/// Measures `FidelityPoint`s of a student against fixed teacher logits: on the first `examples`
/// rows of the transfer set (without augmentation) and on the whole test split.
public struct FidelityTracker {
    let sample: Dataset
    let teacherSample: Tensor
    let test: Dataset
    let teacherTest: Tensor?

    /// - Parameters:
    ///   - teacherTrain: teacher logits on every transfer example, in order.
    ///   - teacherTest: teacher logits on the test split (nil: test fidelity is not measured).
    public init(transfer: Dataset, teacherTrain: Tensor, test: Dataset, teacherTest: Tensor?, examples: Int) {
        let n = min(max(examples, 1), transfer.count)
        sample = transfer.first(n)
        teacherSample = n == teacherTrain.shape[0] ? teacherTrain : teacherTrain.slice(axis: 0, start: 0, length: n)
        self.test = test
        self.teacherTest = teacherTest
    }

    /// Runs `model` in eval mode (its flags are restored) over the sample and the test split.
    public func measure(_ model: Module) throws -> FidelityPoint {
        let train = FidelityReport.measure(try Evaluation.logits(of: model, on: sample), teacher: teacherSample,
                                           labels: sample.labels, split: "train")
        var p = FidelityPoint(trainAgreement: train.agreement ?? .nan, trainKL: train.predictiveKL ?? .nan)
        if let tt = teacherTest {
            let r = FidelityReport.measure(try Evaluation.logits(of: model, on: test), teacher: tt, labels: test.labels, split: "test")
            p.testAgreement = r.agreement
            p.testKL = r.predictiveKL
            p.testAccuracy = r.student.accuracy
        }
        return p
    }
}
