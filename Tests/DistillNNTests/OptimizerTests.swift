import XCTest
import DistillTestSupport
import DistillCore
@testable import DistillNN

/// Optimizers against torch.optim trajectories on L(θ) = Σ a⊙θ²/2 + b⊙θ, state export, schedules.
final class OptimizerTests: XCTestCase {
    func makeOptimizer(_ name: String, _ params: [(path: String, parameter: Parameter)]) throws -> Optimizer {
        let o = try Fixture.object("optimizers.runs.\(name).options")
        let lr = Float(o["lr"] as! Double), wd = Float((o["weight_decay"] as? Double) ?? 0)
        switch name {
        case "sgd": return SGD(params, learningRate: lr)
        case "sgd_momentum":
            return SGD(params, learningRate: lr, momentum: Float(o["momentum"] as! Double),
                       dampening: Float(o["dampening"] as! Double), weightDecay: wd)
        case "sgd_nesterov":
            return SGD(params, learningRate: lr, momentum: Float(o["momentum"] as! Double), weightDecay: wd, nesterov: true)
        case "adam": return Adam(params, learningRate: lr, weightDecay: wd)
        case "adamw":
            let b = o["betas"] as! [Double]
            return Adam.adamW(params, learningRate: lr, beta1: Float(b[0]), beta2: Float(b[1]), weightDecay: wd)
        default: throw Fixture.Missing(key: name)
        }
    }

    func quadraticLoss(_ theta: Tensor) throws -> Tensor {
        let a = try Fixture.tensor("optimizers.a"), b = try Fixture.tensor("optimizers.b")
        return (a * theta * theta / 2 + b * theta).sum()
    }

    func testTrajectoriesMatchTorch() throws {
        for name in ["sgd", "sgd_momentum", "sgd_nesterov", "adam", "adamw"] {
            let theta = Parameter(try Fixture.tensor("optimizers.theta0"))
            let opt = try makeOptimizer(name, [("theta", theta)])
            let expected = try Fixture.value("optimizers.runs.\(name).trajectory") as! [Any]
            for (k, e) in expected.enumerated() {
                theta.zeroGradient()
                try quadraticLoss(theta.value).backward()
                opt.step()
                assertClose(theta.value, try Fixture.tensor(e, key: "\(name)[\(k)]"), "\(name) step \(k + 1)")
            }
            XCTAssertTrue(theta.value.node!.isLeaf, "\(name): the parameter stays a leaf")
        }
    }

    func testResumeFromExportedStateIsExact() throws {
        for name in ["sgd_momentum", "sgd_nesterov", "adam", "adamw"] {
            let theta0 = try Fixture.tensor("optimizers.theta0")
            let a = Parameter(theta0), b = Parameter(theta0)
            let optA = try makeOptimizer(name, [("w", a)])
            var optB = try makeOptimizer(name, [("w", b)])
            for step in 0..<4 {
                for (p, o) in [(a, optA), (b, optB)] {
                    p.zeroGradient(); try quadraticLoss(p.value).backward(); o.step()
                }
                if step == 1 {
                    // B is "restarted" from a checkpoint: a fresh optimizer loaded with exported state
                    let state = optB.stateDict()
                    XCTAssertFalse(state.isEmpty)
                    XCTAssertTrue(state.keys.allSatisfy { $0.hasPrefix("w.") }, "\(state.keys)")
                    optB = try makeOptimizer(name, [("w", b)])
                    try optB.loadStateDict(state)
                }
            }
            XCTAssertEqual(a.value.scalars, b.value.scalars, name)
        }
        let p = Parameter(Tensor.zeros([2]))
        let sgd = SGD([("w", p)], learningRate: 0.1, momentum: 0.9)
        XCTAssertThrowsError(try sgd.loadStateDict(["w.momentum_buffer": Tensor.zeros([3])]))
        XCTAssertThrowsError(try sgd.loadStateDict(["v.momentum_buffer": Tensor.zeros([2])]))
    }

    func testFrozenAndUnusedParametersAreSkipped() {
        let used = Parameter(Tensor([1])), frozen = Parameter(Tensor([1]), requiresGradient: false), unused = Parameter(Tensor([1]))
        let opt = Adam([("u", used), ("f", frozen), ("n", unused)], learningRate: 0.1)
        ((used.value + frozen.value) * 2).sum().backward()
        opt.step()
        XCTAssertNotEqual(used.value.scalars, [1])
        XCTAssertEqual(frozen.value.scalars, [1])
        XCTAssertEqual(unused.value.scalars, [1])
        XCTAssertEqual(Set(opt.stateDict().keys), ["u.exp_avg", "u.exp_avg_sq", "u.step"])
    }

    func testLineFitConverges() {
        // y = 2x − 1 learned by a Linear layer with SGD + momentum, in a few hundred tiny steps
        var g = SeededGenerator(seed: 1)
        let fc = Linear(1, 1, using: &g)
        let opt = SGD(fc.namedParameters(), learningRate: 0.1, momentum: 0.9)
        let x = Tensor(shape: [8, 1], scalars: (0..<8).map { Float($0) / 4 - 1 })
        let y = x * 2 - 1
        for _ in 0..<200 {
            fc.zeroGradients()
            mseLoss(fc(x), y).backward()
            opt.step()
        }
        XCTAssertEqual(fc.weight.value.item, 2, accuracy: 1e-3)
        XCTAssertEqual(fc.bias!.value.item, -1, accuracy: 1e-3)
    }

    func testSchedules() {
        let step = StepSchedule(base: 1, stepSize: 3, gamma: 0.5)
        XCTAssertEqual((0..<7).map { step.learningRate(at: $0) }, [1, 1, 1, 0.5, 0.5, 0.5, 0.25])
        let multi = MultiStepSchedule(base: 0.1, milestones: [5, 2], gamma: 0.1)
        XCTAssertEqual(multi.learningRate(at: 1), 0.1, accuracy: 1e-9)
        XCTAssertEqual(multi.learningRate(at: 2), 0.01, accuracy: 1e-9)
        XCTAssertEqual(multi.learningRate(at: 5), 0.001, accuracy: 1e-9)
        let cos = CosineSchedule(base: 1, totalSteps: 10, minimum: 0.1)
        XCTAssertEqual(cos.learningRate(at: 0), 1, accuracy: 1e-6)
        XCTAssertEqual(cos.learningRate(at: 5), 0.55, accuracy: 1e-6)
        XCTAssertEqual(cos.learningRate(at: 10), 0.1, accuracy: 1e-6)
        XCTAssertEqual(cos.learningRate(at: 15), 0.1, accuracy: 1e-6)
        let warm = WarmupSchedule(cos, warmupSteps: 4, startFactor: 0.2)
        XCTAssertEqual(warm.learningRate(at: 0), 0.2, accuracy: 1e-6)
        XCTAssertEqual(warm.learningRate(at: 2), 0.6, accuracy: 1e-6)
        XCTAssertEqual(warm.learningRate(at: 4), 1, accuracy: 1e-6)
        XCTAssertEqual(warm.learningRate(at: 9), cos.learningRate(at: 5))
        // pure functions of t: evaluating out of order gives the same values
        XCTAssertEqual(warm.learningRate(at: 7), WarmupSchedule(cos, warmupSteps: 4, startFactor: 0.2).learningRate(at: 7))
    }
}
