import DistillCore
import DistillData
import DistillNN
import Foundation

/// The distillation loss around a self-distilled student (Stanton et al. 2021, Fig. 7): on the
/// plane through the student's initialisation θᵢ, the trained student θₛ and the teacher θₜ, and
/// along the line from θₛ to θₜ.
///
/// Plane coordinates: origin θᵢ, first axis e₁ = (θₛ − θᵢ)/‖θₛ − θᵢ‖, second axis e₂ the part of
/// θₜ − θᵢ orthogonal to e₁, normalised (Gram–Schmidt), so distances on the plot are distances in
/// parameter space. When θₜ lies on the first axis (a student initialised at the teacher), e₂ is a
/// seeded random direction orthogonal to e₁. Every parameter and buffer is part of the vector;
/// BatchNorm running variances enter as their logarithms, so no point of the plane has a
/// negative variance (a linear blend extrapolated past the teacher did, and a variance clamped
/// at 0 turned the loss there into 10¹⁰).
///
/// The loss at θ is T²·mean KL(softmax(z_t/T) ‖ softmax(z_θ/T)) over a fixed set of transfer
/// examples (the `kd` term at the experiment's temperature), with the network in eval mode.
public struct LandscapeResult: Codable, Equatable, Sendable {
    /// How the plane is built (a cached result of another version is measured again).
    public static let currentVersion = 2
    public var version: Int? = LandscapeResult.currentVersion
    public var seed: UInt64
    public var temperature: Double
    public var examples: Int
    /// Plane coordinates of "init", "student" and "teacher".
    public var points: [String: [Double]]
    /// Grid: `loss[i][j]` at (x[j], y[i]).
    public var x: [Double]
    public var y: [Double]
    public var loss: [[Double]]
    /// Positions on the line θₛ + a·(θₜ − θₛ) (0: student, 1: teacher; `Landscape.linePositions`), the loss there and the
    /// top-1 agreement with the teacher's logits.
    public var line: [Double]
    public var lineLoss: [Double]
    public var lineAgreement: [Double]
}

public enum Landscape {
    /// Flattened state in sorted key order.
    struct Flat {
        var keys: [String]
        var shapes: [[Int]]
        var values: [Float]

        init(_ state: [String: Tensor], keys: [String]) {
            self.keys = keys
            shapes = keys.map { state[$0]!.shape }
            values = keys.flatMap { k in
                Flat.isVariance(k) ? state[k]!.scalars.map { Foundation.log(Swift.max($0, Flat.floor)) } : state[k]!.scalars
            }
        }

        /// BatchNorm running variances live in log space, so every point of the plane (and of the
        /// line beyond its ends) has positive variances.
        static func isVariance(_ key: String) -> Bool { key.hasSuffix("running_var") }
        static let floor: Float = 1e-12

        func state(_ v: [Float]) -> [String: Tensor] {
            var out: [String: Tensor] = [:], o = 0
            for (k, s) in zip(keys, shapes) {
                let n = s.reduce(1, *)
                var chunk = Array(v[o..<(o + n)])
                if Flat.isVariance(k) { chunk = chunk.map { Foundation.exp($0) } }
                out[k] = Tensor(shape: s, scalars: chunk)
                o += n
            }
            return out
        }
    }

    static func dot(_ a: [Float], _ b: [Float]) -> Double {
        var s = 0.0
        for i in a.indices { s += Double(a[i]) * Double(b[i]) }
        return s
    }

    /// Mean KD loss T²·KL(teacher ‖ student at T) and top-1 agreement of logits against teacher
    /// logits (the metrics' predictive KL on logits divided by T; argmaxes do not depend on T).
    public static func kdLoss(student: Tensor, teacher: Tensor, temperature: Float) -> (loss: Double, agreement: Double) {
        let m = Metrics.paired(teacher: teacher / temperature, student: student / temperature)
        let t = Double(temperature)
        return (t * t * (m.predictiveKL ?? .nan), m.agreement ?? .nan)
    }

    /// Measures the plane and the line. `model` is a scratch network of the architecture (its
    /// state is overwritten); `images` and `teacherLogits` are the examples the loss averages over.
    public static func measure(model: Module, initial: [String: Tensor], student: [String: Tensor], teacher: [String: Tensor],
                               images: Tensor, teacherLogits: Tensor, temperature: Float, spec: LandscapeSpec,
                               seed: UInt64) throws -> LandscapeResult {
        let keys = student.keys.sorted()
        for (name, s) in [("initialisation", initial), ("teacher", teacher)] where Set(s.keys) != Set(keys) {
            throw TrainingError.badValue(field: "landscape", value: name, expected: "the student's parameters and buffers \(keys.prefix(3))…, got \(s.keys.sorted().prefix(3))…")
        }
        let fi = Flat(initial, keys: keys), fs = Flat(student, keys: keys), ft = Flat(teacher, keys: keys)
        let d = fi.values.count
        let u = (0..<d).map { fs.values[$0] - fi.values[$0] }, v = (0..<d).map { ft.values[$0] - fi.values[$0] }
        let nu = dot(u, u).squareRoot()
        guard nu > 0 else { throw TrainingError.badValue(field: "landscape", value: "student", expected: "a trained student that moved from its initialisation") }
        let e1 = u.map { Float(Double($0) / nu) }
        let tx = dot(v, e1)
        var w = (0..<d).map { v[$0] - Float(tx) * e1[$0] }
        var ty = dot(w, w).squareRoot()
        if ty < 1e-6 * max(nu, 1) {
            var g = SeededGenerator(seed: seed &+ 77)
            w = (0..<d).map { _ in g.nextNormal() }
            let p = dot(w, e1)
            w = (0..<d).map { w[$0] - Float(p) * e1[$0] }
            ty = 0
        }
        let nw = dot(w, w).squareRoot()
        let e2 = w.map { Float(Double($0) / nw) }

        let xsPts = [0, nu, tx], ysPts = [0, 0, ty]
        let span = max(xsPts.max()! - xsPts.min()!, ysPts.max()! - ysPts.min()!, 1e-3)
        let pad = spec.margin * span
        var (y0, y1) = (ysPts.min()! - pad, ysPts.max()! + pad)
        if ty == 0 { (y0, y1) = (-span / 2, span / 2) }
        let x0 = xsPts.min()! - pad, x1 = xsPts.max()! + pad
        func grid(_ a: Double, _ b: Double, _ n: Int) -> [Double] { (0..<n).map { a + (b - a) * Double($0) / Double(n - 1) } }
        let gx = grid(x0, x1, spec.grid), gy = grid(y0, y1, spec.grid)

        model.eval()
        func evaluate(_ theta: [Float]) throws -> (loss: Double, agreement: Double) {
            try model.loadStateDict(fi.state(theta))
            let logits = withoutGradients { () -> Tensor in
                var parts: [Tensor] = []
                var start = 0
                while start < images.shape[0] {
                    let len = min(500, images.shape[0] - start)
                    parts.append(model(images.slice(axis: 0, start: start, length: len)))
                    start += len
                }
                return parts.count == 1 ? parts[0] : Tensor.concatenated(parts, alongAxis: 0)
            }
            return kdLoss(student: logits, teacher: teacherLogits, temperature: temperature)
        }
        var loss: [[Double]] = []
        for yv in gy {
            var row: [Double] = []
            for xv in gx {
                let a = Float(xv), b = Float(yv)
                row.append(try evaluate((0..<d).map { fi.values[$0] + a * e1[$0] + b * e2[$0] }).loss)
            }
            loss.append(row)
        }
        let line = linePositions(spec)
        var lineLoss: [Double] = [], lineAgreement: [Double] = []
        for a in line {
            let r = try evaluate((0..<d).map { fs.values[$0] + Float(a) * (ft.values[$0] - fs.values[$0]) })
            lineLoss.append(r.loss); lineAgreement.append(r.agreement)
        }
        return LandscapeResult(seed: seed, temperature: Double(temperature), examples: images.shape[0],
                               points: ["init": [0, 0], "student": [nu, 0], "teacher": [tx, ty]],
                               x: gx, y: gy, loss: loss, line: line, lineLoss: lineLoss, lineAgreement: lineAgreement)
    }

    /// Positions on the line: `linePoints` evenly spaced from the student (0) to the teacher (1),
    /// both included, continued at the same spacing for `margin` beyond each end.
    public static func linePositions(_ spec: LandscapeSpec) -> [Double] {
        let h = 1 / Double(spec.linePoints - 1)
        let extra = Int((spec.margin / h).rounded(.up))
        return (-extra...(spec.linePoints - 1 + extra)).map { Double($0) * h }
    }

    /// The heat map of log₁₀ loss on the plane with the three points marked, and the line plots.
    public static func plots(_ r: LandscapeResult, title: String) -> (plane: String, line: String) {
        // losses below 10⁻³ (the teacher's own point is 0 up to rounding) are drawn at 10⁻³
        func lg(_ v: Double) -> Double { v.isFinite ? log10(max(v, 1e-3)) : .nan }
        let z = r.loss.map { $0.map(lg) }
        let finite = z.flatMap { $0 }.filter(\.isFinite)
        var levels: [Double] = []
        if let lo = finite.min(), let hi = finite.max(), hi > lo { levels = (1...6).map { lo + (hi - lo) * Double($0) / 7 } }
        let marks = ["init", "student", "teacher"].compactMap { k in r.points[k].map { (label: k, x: $0[0], y: $0[1]) } }
        let plane = SVGPlot.heatMap(title: "\(title): log₁₀ distillation loss (T = \(format(r.temperature)))",
                                    xLabel: "distance along init → student", yLabel: "distance towards the teacher",
                                    x: r.x, y: r.y, z: z, contours: levels, markers: marks)
        let line = SVGPlot.lineChart(title: "\(title): from the student (0) to the teacher (1)", xLabel: "position a", yLabel: "value",
                                     series: [Series(name: "log₁₀ loss", points: zip(r.line, r.lineLoss).map { ($0, lg($1)) }),
                                              Series(name: "agreement", points: zip(r.line, r.lineAgreement).map { ($0, $1) })])
        return (plane, line)
    }

    static func format(_ v: Double) -> String { v == v.rounded() ? String(Int(v)) : String(format: "%g", v) }
}
