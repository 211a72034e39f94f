import XCTest
import DistillTestSupport
import DistillCore
import DistillNN
@testable import Distill

/// CRD: golden loss, gradients, Z and memory update against PyTorch; sampling, state, refusals.
final class RelationCRDTests: XCTestCase {
    let fx = JSONFixture.relation

    /// The fixture's CRD with its embeddings and banks loaded (Z unset).
    func fixtureLoss() throws -> (ContrastiveRepresentationLoss, Tensor, Tensor, [Int], IntTensor) {
        let s = try fx.tensor("crd.s"), t = try fx.tensor("crd.t")
        let n = try fx.int("crd.dataset_size"), d = try fx.int("crd.feat_dim"), k = try fx.int("crd.nce_k")
        let loss = try MethodRegistry.make("crd", options: ["student": "s", "teacher": "t", "feat_dim": "\(d)", "nce_k": "\(k)",
                                                            "dataset_size": "\(n)"]) as! ContrastiveRepresentationLoss
        try loss.prepare(studentShapes: [s.shape], teacherShapes: [t.shape])
        try loss.adapters!.loadStateDict(try fx.tensorDict("crd.state"))
        loss.setMemory(student: try fx.tensor("crd.memory_student"), teacher: try fx.tensor("crd.memory_teacher"))
        return (loss, s, t, try fx.ints("crd.rows"), try fx.intMatrix("crd.contrast"))
    }

    func testCRDMatchesPyTorch() throws {
        let (loss, s, t, rows, contrast) = try fixtureLoss()
        let r = backpropagate(loss, student: [s], teacher: [t], indices: rows) { b in
            loss.loss(student: b.studentFeatures[0], teacher: b.teacherFeatures[0], rows: rows, contrast: contrast)
        }
        XCTAssertEqual(r.value, try fx.number("crd.loss"), accuracy: 1e-4 * r.value)
        XCTAssertEqual(loss.normalizers.student, try fx.number("crd.z_student"), accuracy: 1e-4 * loss.normalizers.student)
        XCTAssertEqual(loss.normalizers.teacher, try fx.number("crd.z_teacher"), accuracy: 1e-4 * loss.normalizers.teacher)
        assertClose(r.student[0], try fx.tensor("crd.grad_s"), rtol: 1e-3, atol: 1e-4, "crd ∂/∂s")
        for (name, g) in try fx.tensorDict("crd.grads") {
            assertClose(r.params[name] ?? Tensor.zeros(g.shape), g, rtol: 1e-3, atol: 1e-4, "crd ∂/∂\(name)")
        }
        assertClose(loss.studentMemory!, try fx.tensor("crd.memory_student_after"), atol: 1e-5, "student bank after update")
        assertClose(loss.teacherMemory!, try fx.tensor("crd.memory_teacher_after"), atol: 1e-5, "teacher bank after update")
    }

    func testCRDGradients() throws {
        let (loss, s, t, rows, contrast) = try fixtureLoss()
        // fix Z first (the first call sets it), then freeze the banks while differences are taken
        loss.updatesMemory = false
        _ = loss.loss(student: s, teacher: t, rows: rows, contrast: contrast)
        // the fixture's τ = 0.07 makes the loss steep: small steps
        checkLossGradients(loss, student: [s], teacher: [t], indices: rows, eps: 1e-3, atol: 5e-3, rtol: 2e-2, "crd") { b in
            loss.loss(student: b.studentFeatures[0], teacher: b.teacherFeatures[0], rows: rows, contrast: contrast)
        }
    }

    func testNegativeSamplingIsSeededAndAvoidsTheAnchor() throws {
        func make() throws -> ContrastiveRepresentationLoss {
            try ContrastiveRepresentationLoss(studentTap: FeatureTap(path: "s"), teacherTap: FeatureTap(path: "t"), featureDim: 4, negatives: 50, datasetSize: 6, seed: 9)
        }
        let a = try make(), b = try make()
        let ia = a.sampleContrastIndices(for: [0, 5, 3]), ib = b.sampleContrastIndices(for: [0, 5, 3])
        XCTAssertEqual(ia, ib)
        XCTAssertEqual(ia.shape, [3, 51])
        for (r, y) in [0, 5, 3].enumerated() {
            let row = Array(ia.scalars[(r * 51)..<((r + 1) * 51)])
            XCTAssertEqual(row[0], y)
            XCTAssertFalse(row.dropFirst().contains(y))
            XCTAssertTrue(row.allSatisfy { $0 >= 0 && $0 < 6 })
            XCTAssertEqual(Set(row.dropFirst()).count, 5, "all other rows drawn at least once in 50 draws")
        }
    }

    func testStateRoundTripGivesTheSameNextStep() throws {
        let s = seeded([3, 4], seed: 11), t = seeded([3, 5], seed: 12)
        func make() throws -> ContrastiveRepresentationLoss {
            let l = try ContrastiveRepresentationLoss(studentTap: FeatureTap(path: "s"), teacherTap: FeatureTap(path: "t"), featureDim: 3, negatives: 4, seed: 5)
            try l.prepare(studentShapes: [s.shape], teacherShapes: [t.shape])
            try l.setDatasetSize(10)
            return l
        }
        let a = try make()
        XCTAssertEqual(a.lossState.keys.sorted(), ["memory_student", "memory_teacher", "normalizers", "rng"])
        _ = a.loss(featureBatch([s], [t], indices: [1, 4, 9]))
        let saved = a.lossState
        XCTAssertEqual(saved["memory_student"]!.shape, [10, 3])
        XCTAssertGreaterThan(saved["normalizers"]!.scalars[0], 0)
        let next = a.loss(featureBatch([s], [t], indices: [2, 4, 7])).item

        let b = try make()
        try b.adapters!.loadStateDict(a.adapters!.stateDict())
        try b.loadLossState(saved)
        XCTAssertEqual(b.loss(featureBatch([s], [t], indices: [2, 4, 7])).item, next)
        XCTAssertEqual(b.lossState["memory_teacher"]!.scalars, a.lossState["memory_teacher"]!.scalars)

        var broken = saved
        broken["rng"] = nil
        XCTAssertThrowsError(try b.loadLossState(broken)) { XCTAssertTrue("\($0)".contains("'rng'"), "\($0)") }
        broken = saved
        broken["memory_student"] = Tensor.zeros([10, 5])
        XCTAssertThrowsError(try b.loadLossState(broken)) { XCTAssertTrue("\($0)".contains("[10, 5]"), "\($0)") }
    }

    func testDatasetSizeOptionAndTrainerHook() throws {
        let l = try MethodRegistry.make("crd", options: ["student": "s", "teacher": "t", "nce_k": "7"]) as! ContrastiveRepresentationLoss
        XCTAssertNil(l.datasetSize)
        XCTAssertEqual(l.negatives, 7)
        XCTAssertEqual(l.featureDim, 128)
        XCTAssertEqual(l.temperature, 0.07)
        XCTAssertEqual(l.momentum, 0.5)
        XCTAssertTrue(l.lossState.isEmpty)
        let sized: DatasetSizedDistillationLoss = l
        try sized.setDatasetSize(100)
        XCTAssertEqual(l.studentMemory?.shape, [100, 128])
        XCTAssertNoThrow(try l.setDatasetSize(100))
        XCTAssertThrowsError(try l.setDatasetSize(50)) { XCTAssertTrue("\($0)".contains("cannot be resized"), "\($0)") }
        XCTAssertThrowsError(try MethodRegistry.make("crd", options: ["student": "s", "teacher": "t", "dataset_size": "1"])) {
            XCTAssertTrue("\($0)".contains("dataset_size"), "\($0)")
        }
        XCTAssertThrowsError(try MethodRegistry.make("crd", options: ["student": "s", "teacher": "t", "nce_t": "0"]))
        let d = try MethodRegistry.make("crd", options: ["student": "s", "teacher": "t", "dataset_size": "20"]) as! ContrastiveRepresentationLoss
        XCTAssertEqual(d.datasetSize, 20)
    }

    func testCRDRefusesBatchMismatchNamingBoth() throws {
        let l = try MethodRegistry.make("crd", options: ["student": "fc:input", "teacher": "avgpool"])
        XCTAssertThrowsError(try l.prepare(studentShapes: [[16, 64]], teacherShapes: [[8, 256]])) { e in
            let m = "\(e)"
            for part in ["fc:input", "[16, 64]", "avgpool:output", "[8, 256]", "batch sizes 16 and 8"] {
                XCTAssertTrue(m.contains(part), "'\(part)' not in: \(m)")
            }
        }
    }
}
