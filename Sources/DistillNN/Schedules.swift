import DistillCore
#if canImport(Glibc)
import Glibc
#else
import Darwin
#endif

/// A learning-rate schedule: a pure function of the step (or epoch) index t ≥ 0, so a resumed
/// run gets exactly the rate it would have had. Apply with `optimizer.learningRate = s.learningRate(at: t)`.
public protocol LearningRateSchedule: Sendable {
    func learningRate(at t: Int) -> Float
}

/// Constant rate.
public struct ConstantSchedule: LearningRateSchedule {
    public let base: Float
    public init(_ base: Float) { self.base = base }
    public func learningRate(at t: Int) -> Float { base }
}

/// η_t = η₀ · γ^⌊t / stepSize⌋ (PyTorch `StepLR`; default γ = 0.1).
public struct StepSchedule: LearningRateSchedule {
    public let base: Float, stepSize: Int, gamma: Float
    public init(base: Float, stepSize: Int, gamma: Float = 0.1) {
        ensure(stepSize > 0, "StepSchedule: stepSize must be positive, got \(stepSize)")
        self.base = base; self.stepSize = stepSize; self.gamma = gamma
    }
    public func learningRate(at t: Int) -> Float { base * Float(pow(Double(gamma), Double(max(t, 0) / stepSize))) }
}

/// η_t = η₀ · γ^(number of milestones ≤ t) (PyTorch `MultiStepLR`; default γ = 0.1).
public struct MultiStepSchedule: LearningRateSchedule {
    public let base: Float, milestones: [Int], gamma: Float
    public init(base: Float, milestones: [Int], gamma: Float = 0.1) {
        self.base = base; self.milestones = milestones.sorted(); self.gamma = gamma
    }
    public func learningRate(at t: Int) -> Float {
        base * Float(pow(Double(gamma), Double(milestones.filter { $0 <= t }.count)))
    }
}

/// Cosine annealing (Loshchilov & Hutter, "SGDR: Stochastic Gradient Descent with Warm
/// Restarts", ICLR 2017) without restarts, PyTorch `CosineAnnealingLR`'s closed form:
/// η_t = η_min + (η₀ − η_min)·(1 + cos(π·t / T))/2 for t ≤ T, η_min after.
public struct CosineSchedule: LearningRateSchedule {
    public let base: Float, totalSteps: Int, minimum: Float
    public init(base: Float, totalSteps: Int, minimum: Float = 0) {
        ensure(totalSteps > 0, "CosineSchedule: totalSteps must be positive, got \(totalSteps)")
        self.base = base; self.totalSteps = totalSteps; self.minimum = minimum
    }
    public func learningRate(at t: Int) -> Float {
        let c = Double(min(max(t, 0), totalSteps)) / Double(totalSteps)
        return minimum + (base - minimum) * Float((1 + cos(Double.pi * c)) / 2)
    }
}

/// Linear warm-up composed with any schedule: for t < W the rate ramps linearly from
/// `startFactor`·η(0) to η(0), η_t = η(0)·(s + (1 − s)·t/W); afterwards it follows the wrapped
/// schedule shifted by W, η_t = inner(t − W) (PyTorch `SequentialLR(LinearLR, inner)`).
/// Default start factor 1/3 as in PyTorch `LinearLR`.
public struct WarmupSchedule<Inner: LearningRateSchedule>: LearningRateSchedule {
    public let inner: Inner, warmupSteps: Int, startFactor: Float
    public init(_ inner: Inner, warmupSteps: Int, startFactor: Float = 1.0 / 3.0) {
        ensure(warmupSteps >= 0, "WarmupSchedule: negative warm-up \(warmupSteps)")
        self.inner = inner; self.warmupSteps = warmupSteps; self.startFactor = startFactor
    }
    public func learningRate(at t: Int) -> Float {
        if t >= warmupSteps { return inner.learningRate(at: t - warmupSteps) }
        let f = startFactor + (1 - startFactor) * Float(max(t, 0)) / Float(warmupSteps)
        return inner.learningRate(at: 0) * f
    }
}
