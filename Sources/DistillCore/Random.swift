#if canImport(Glibc)
import Glibc
#else
import Darwin
#endif

/// Seeded pseudo-random generator (xoshiro256**, seeded through SplitMix64).
/// The same seed gives the same stream on every platform and thread count.
public struct SeededGenerator: RandomNumberGenerator, Sendable {
    private var s0, s1, s2, s3: UInt64

    public init(seed: UInt64) {
        var z = seed
        func splitmix(_ z: inout UInt64) -> UInt64 {
            z &+= 0x9E37_79B9_7F4A_7C15
            var x = z
            x = (x ^ (x >> 30)) &* 0xBF58_476D_1CE4_E5B9
            x = (x ^ (x >> 27)) &* 0x94D0_49BB_1331_11EB
            return x ^ (x >> 31)
        }
        s0 = splitmix(&z); s1 = splitmix(&z); s2 = splitmix(&z); s3 = splitmix(&z)
    }

    /// The full state, for checkpoints; `init(state:)` restores it exactly.
    public var state: [UInt64] { [s0, s1, s2, s3] }
    public init(state: [UInt64]) {
        ensure(state.count == 4, "SeededGenerator(state:): expected 4 words, got \(state.count)")
        s0 = state[0]; s1 = state[1]; s2 = state[2]; s3 = state[3]
    }

    @inline(__always)
    public mutating func next() -> UInt64 {
        let result = ((s1 &* 5) << 7 | (s1 &* 5) >> 57) &* 9
        let t = s1 << 17
        s2 ^= s0; s3 ^= s1; s1 ^= s2; s0 ^= s3
        s2 ^= t
        s3 = (s3 << 45) | (s3 >> 19)
        return result
    }

    /// Uniform in [0, 1) with 24 bits of resolution.
    @inline(__always)
    public mutating func nextFloat() -> Float { Float(next() >> 40) * 0x1p-24 }

    /// Uniform integer in 0 ..< bound.
    public mutating func nextInt(below bound: Int) -> Int {
        ensure(bound > 0, "nextInt(below:): bound must be positive, got \(bound)")
        return Int(next() % UInt64(bound))
    }

    /// Standard normal sample (Box–Muller).
    public mutating func nextNormal() -> Float {
        let u1 = Double(next() >> 11) * 0x1p-53, u2 = Double(next() >> 11) * 0x1p-53
        return Float((-2 * Foundation.log(Swift.max(u1, 1e-300))).squareRoot() * Foundation.cos(2 * Double.pi * u2))
    }

    /// A seeded Fisher–Yates permutation of 0 ..< n.
    public mutating func permutation(_ n: Int) -> [Int] {
        var p = Array(0..<n)
        if n > 1 { for i in stride(from: n - 1, to: 0, by: -1) { p.swapAt(i, nextInt(below: i + 1)) } }
        return p
    }
}

private enum Foundation {
    static func log(_ x: Double) -> Double { Glibc.log(x) }
    static func cos(_ x: Double) -> Double { Glibc.cos(x) }
}

/// Initialisers. Fan-in and fan-out follow PyTorch: for a weight [out, in, kh, kw] fan-in is
/// in·kh·kw and fan-out out·kh·kw.
extension Tensor {
    public static func uniform(_ shape: [Int], low: Float = 0, high: Float = 1, using g: inout SeededGenerator) -> Tensor {
        Tensor.make(shape) { o in for i in 0..<Shape.count(shape) { o[i] = low + (high - low) * g.nextFloat() } }
    }

    public static func normal(_ shape: [Int], mean: Float = 0, std: Float = 1, using g: inout SeededGenerator) -> Tensor {
        Tensor.make(shape) { o in for i in 0..<Shape.count(shape) { o[i] = mean + std * g.nextNormal() } }
    }

    public static func fans(_ shape: [Int]) -> (fanIn: Int, fanOut: Int) {
        ensure(shape.count >= 2, "fans: a weight needs rank ≥ 2, got \(Shape.describe(shape))")
        let receptive = Shape.count(Array(shape.dropFirst(2)))
        return (shape[1] * receptive, shape[0] * receptive)
    }

    /// Kaiming/He uniform: U(−b, b), b = gain·√(3 / fan_in), gain √2 for ReLU (He et al., ICCV 2015).
    public static func kaimingUniform(_ shape: [Int], gain: Float = Float(2).squareRoot(), using g: inout SeededGenerator) -> Tensor {
        let b = gain * (3 / Float(fans(shape).fanIn)).squareRoot()
        return uniform(shape, low: -b, high: b, using: &g)
    }

    /// Kaiming/He normal: N(0, gain² / fan_in).
    public static func kaimingNormal(_ shape: [Int], gain: Float = Float(2).squareRoot(), using g: inout SeededGenerator) -> Tensor {
        normal(shape, std: gain / Float(fans(shape).fanIn).squareRoot(), using: &g)
    }

    /// Xavier/Glorot uniform: U(−b, b), b = gain·√(6 / (fan_in + fan_out)) (Glorot & Bengio, AISTATS 2010).
    public static func xavierUniform(_ shape: [Int], gain: Float = 1, using g: inout SeededGenerator) -> Tensor {
        let (i, o) = fans(shape)
        let b = gain * (6 / Float(i + o)).squareRoot()
        return uniform(shape, low: -b, high: b, using: &g)
    }

    /// Xavier/Glorot normal: N(0, gain²·2 / (fan_in + fan_out)).
    public static func xavierNormal(_ shape: [Int], gain: Float = 1, using g: inout SeededGenerator) -> Tensor {
        let (i, o) = fans(shape)
        return normal(shape, std: gain * (2 / Float(i + o)).squareRoot(), using: &g)
    }
}

/// Anything that draws from its own `SeededGenerator` while training (dropout masks, attention
/// and LSTM dropout, a noisy teacher's noise): the one mechanism by which checkpoints save and
/// restore random streams, so a resumed run draws exactly what an uninterrupted one would.
public protocol RandomStateOwner: AnyObject {
    /// The generator's full state (4 words); assigning it back continues the same stream.
    var generatorState: [UInt64] { get set }
}

/// A `SeededGenerator` held by reference, for the generators a scheme or loss owns itself
/// (samplers, input noise): checkpointed through `RandomStateOwner` like every other one.
public final class RandomSource: RandomStateOwner {
    public var generator: SeededGenerator

    public init(seed: UInt64) { generator = SeededGenerator(seed: seed) }

    public var generatorState: [UInt64] {
        get { generator.state }
        set { generator = SeededGenerator(state: newValue) }
    }
}
