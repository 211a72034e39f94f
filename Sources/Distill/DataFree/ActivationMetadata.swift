import DistillCore
import DistillData
import DistillNN
import Foundation

/// The metadata Lopes, Fenu & Starner ("Data-Free Knowledge Distillation for Deep Neural
/// Networks", NIPS 2017 LLD workshop; reference iRapha/replayed_distillation,
/// `procedures/compute_stats.py`) release with a trained model in place of its training data:
/// per class, the mean and standard deviation of every unit of every layer's activations over the
/// training examples of that class, and the covariance of the top layer.
///
/// Layers are the outputs of the teacher's Conv2d and Linear layers before any normalisation or
/// nonlinearity (the reference taps `conv1`, `conv2`, `fc1`, `fc2` of its LeNet-5 before their
/// ReLU), except the last Linear, whose place is taken by the top layer: the logits divided by the
/// distillation temperature (the reference's `logits_soft`, T = 8 in its `distill` feed). Standard
/// deviations and the covariance are the biased (÷ n) ones, as the reference computes them.
///
/// The reference samples the top layer as `mean + gauss @ cov`, multiplying by the covariance
/// itself; that draw has covariance Σ², not Σ. Here the top layer is drawn as μ + L·z with L the
/// Cholesky factor of Σ (the paper's "sample from a Gaussian with those statistics"), and the
/// hidden layers unit by unit (the reference's fallback for layers without a usable covariance).
public struct ActivationMetadata {
    /// One hidden layer's statistics.
    public struct Layer {
        public var path: String
        /// The activation's shape per example ([C, H, W] or [F]).
        public var shape: [Int]
        /// Per class [K, D] (D = shape's product).
        public var mean: Tensor, std: Tensor
    }

    public var layers: [Layer]
    /// The top layer (logits / temperature): per-class mean [K, K] and Cholesky factor of the
    /// covariance [K, K, K] (lower triangular, a small ridge added when Σ is singular).
    public var topMean: Tensor, topCholesky: Tensor
    public var temperature: Float
    /// Training examples per class the statistics were computed from.
    public var classCounts: [Int]
    /// The teacher the metadata describes (its model spec).
    public var model: String

    public var classCount: Int { classCounts.count }

    /// Runs `teacher` (eval mode, no gradients) over `data` and accumulates the statistics in
    /// double precision. Throws when a class has no example (its Gaussian would be undefined).
    public static func record(teacher: FrozenTeacher, on data: Dataset, temperature: Float = 8, batchSize: Int = 500) throws -> ActivationMetadata {
        try teacher.requireActivationLayers(method: "lopes")
        guard temperature > 0, temperature.isFinite else {
            throw DataFreeError.badValue(field: "lopes-temperature", value: "\(temperature)", expected: "a positive number")
        }
        let k = teacher.classCount
        let hiddenPaths = teacher.hiddenActivationPaths
        var sums: [[Double]] = [], squares: [[Double]] = [], shapes: [[Int]] = []
        var topSum = [Double](repeating: 0, count: k * k), topOuter = [Double](repeating: 0, count: k * k * k)
        var counts = [Int](repeating: 0, count: k)
        let loader = try DataLoader(dataset: data, batchSize: batchSize, shuffle: false)
        for b in loader.batches(epoch: 0) {
            let (top, hidden) = withoutGradients { () -> ([Float], [Tensor]) in
                let out = teacher(b.images)
                return ((out.logits / temperature).scalars, teacher.hidden(out))
            }
            if sums.isEmpty {
                shapes = hidden.map { Array($0.shape.dropFirst()) }
                sums = shapes.map { [Double](repeating: 0, count: k * $0.reduce(1, *)) }
                squares = sums
            }
            let labels = b.labels.scalars
            for (l, h) in hidden.enumerated() {
                let d = shapes[l].reduce(1, *), v = h.scalars
                sums[l].withUnsafeMutableBufferPointer { s in
                    squares[l].withUnsafeMutableBufferPointer { q in
                        for (i, y) in labels.enumerated() {
                            for j in 0..<d { let a = Double(v[i * d + j]); s[y * d + j] += a; q[y * d + j] += a * a }
                        }
                    }
                }
            }
            for (i, y) in labels.enumerated() {
                counts[y] += 1
                for a in 0..<k {
                    let za = Double(top[i * k + a])
                    topSum[y * k + a] += za
                    for c in 0..<k { topOuter[(y * k + a) * k + c] += za * Double(top[i * k + c]) }
                }
            }
        }
        if let empty = counts.firstIndex(of: 0) {
            throw DataFreeError.badValue(field: "metadata", value: data.name, expected: "training examples of every class to record their statistics, but class \(empty) has none")
        }
        var layers: [Layer] = []
        for (l, path) in hiddenPaths.enumerated() {
            let d = shapes[l].reduce(1, *)
            var mean = [Float](repeating: 0, count: k * d), std = mean
            for y in 0..<k {
                let n = Double(counts[y])
                for j in 0..<d {
                    let m = sums[l][y * d + j] / n
                    mean[y * d + j] = Float(m)
                    std[y * d + j] = Float(max(squares[l][y * d + j] / n - m * m, 0).squareRoot())
                }
            }
            layers.append(Layer(path: path, shape: shapes[l], mean: Tensor(shape: [k, d], scalars: mean), std: Tensor(shape: [k, d], scalars: std)))
        }
        var topMean = [Float](repeating: 0, count: k * k), chol = [Float](repeating: 0, count: k * k * k)
        for y in 0..<k {
            let n = Double(counts[y])
            let mu = (0..<k).map { topSum[y * k + $0] / n }
            var cov = [Double](repeating: 0, count: k * k)
            for a in 0..<k { for c in 0..<k { cov[a * k + c] = topOuter[(y * k + a) * k + c] / n - mu[a] * mu[c] } }
            let factor = Self.cholesky(cov, k)
            for a in 0..<k { topMean[y * k + a] = Float(mu[a]) }
            for i in 0..<(k * k) { chol[y * k * k + i] = Float(factor[i]) }
        }
        return ActivationMetadata(layers: layers, topMean: Tensor(shape: [k, k], scalars: topMean), topCholesky: Tensor(shape: [k, k, k], scalars: chol),
                                  temperature: temperature, classCounts: counts, model: teacher.spec)
    }

    /// The lower-triangular L with L·Lᵀ = Σ + ridge·I for a symmetric positive semi-definite Σ
    /// [n, n], the ridge growing from 0 (1e-9, 1e-8, … of the mean diagonal) until the factor exists.
    static func cholesky(_ sigma: [Double], _ n: Int) -> [Double] {
        let scale = max((0..<n).map { sigma[$0 * n + $0] }.reduce(0, +) / Double(max(n, 1)), 1e-30)
        var ridge = 0.0
        while true {
            var l = [Double](repeating: 0, count: n * n)
            var ok = true
            outer: for i in 0..<n {
                for j in 0...i {
                    var s = sigma[i * n + j] + (i == j ? ridge : 0)
                    for p in 0..<j { s -= l[i * n + p] * l[j * n + p] }
                    if i == j {
                        guard s > 0 else { ok = false; break outer }
                        l[i * n + i] = s.squareRoot()
                    } else {
                        l[i * n + j] = s / l[j * n + j]
                    }
                }
            }
            if ok { return l }
            ridge = ridge == 0 ? scale * 1e-9 : ridge * 10
        }
    }

    /// `count` draws of the top layer for class `y` [count, K]: μ_y + L_y·z, z ~ N(0, I).
    public func sampleTop(classIndex y: Int, count: Int, using g: inout SeededGenerator) -> Tensor {
        let k = classCount
        let z = Tensor.normal([count, k], using: &g)
        let l = topCholesky.slice(axis: 0, start: y, length: 1).reshaped([k, k])
        return z.matmul(l.transposed()) + topMean.slice(axis: 0, start: y, length: 1)
    }

    /// `count` draws of hidden layer `layer` for class `y` [count] + shape, unit by unit.
    public func sampleHidden(_ layer: Int, classIndex y: Int, count: Int, using g: inout SeededGenerator) -> Tensor {
        let m = layers[layer]
        let d = m.shape.reduce(1, *)
        let z = Tensor.normal([count, d], using: &g)
        let draw = z * m.std.slice(axis: 0, start: y, length: 1) + m.mean.slice(axis: 0, start: y, length: 1)
        return draw.reshaped([count] + m.shape)
    }

    // MARK: the file released with the model

    /// Writes the metadata as safetensors (`layerN.mean`/`.std` [K, D], `top.mean`, `top.cholesky`,
    /// `class_counts`; paths, shapes and the temperature in the header's metadata).
    public func save(to path: String) throws {
        var t: [String: Tensor] = ["top.mean": topMean, "top.cholesky": topCholesky]
        for (i, l) in layers.enumerated() { t["layer\(i).mean"] = l.mean; t["layer\(i).std"] = l.std }
        var meta = ["kind": "lopes-activation-metadata", "model": model, "temperature": "\(temperature)", "layers": "\(layers.count)"]
        for (i, l) in layers.enumerated() { meta["layer\(i).path"] = l.path; meta["layer\(i).shape"] = l.shape.map(String.init).joined(separator: ",") }
        try SafeTensors(tensors: t, intTensors: ["class_counts": IntTensor(classCounts)], metadata: meta).write(to: path)
    }

    /// Reads metadata written by `save` and checks it against `teacher` (layer paths, activation
    /// shapes for `input`, class count); every mismatch names the file and the entry. `input`
    /// [C, H, W] must be the shape the teacher takes (checked before, from its model file).
    public static func load(_ path: String, for teacher: FrozenTeacher, input: [Int]) throws -> ActivationMetadata {
        let f = try SafeTensors.read(from: path)
        func bad(_ what: String) -> DataFreeError { .badValue(field: "metadata", value: path, expected: what) }
        guard f.metadata["kind"] == "lopes-activation-metadata" else { throw bad("activation metadata written by distill (kind lopes-activation-metadata)") }
        guard let n = f.metadata["layers"].flatMap(Int.init), (0...Limits.maxRepeats).contains(n),
              let temperature = f.metadata["temperature"].flatMap(Float.init), temperature > 0, temperature.isFinite,
              let counts = f.intTensors["class_counts"]?.scalars, let topMean = f.tensors["top.mean"], let chol = f.tensors["top.cholesky"] else {
            throw bad("the entries layers, temperature, class_counts, top.mean and top.cholesky")
        }
        let k = teacher.classCount
        guard counts.count == k, counts.allSatisfy({ $0 > 0 }), topMean.shape == [k, k], chol.shape == [k, k, k] else {
            throw bad("statistics of \(k) classes (the teacher's), got class_counts \(counts.count), top.mean \(Shape.describe(topMean.shape)), top.cholesky \(Shape.describe(chol.shape))")
        }
        let expected = try teacher.hiddenActivationShapes(input: input)
        guard n == expected.count else { throw bad("\(expected.count) hidden layers (the teacher's Conv2d and Linear layers but its last), got \(n)") }
        var layers: [Layer] = []
        for (i, (p, shape)) in expected.enumerated() {
            guard f.metadata["layer\(i).path"] == p else { throw bad("layer\(i) to be the teacher's '\(p)', got '\(f.metadata["layer\(i).path"] ?? "none")'") }
            let d = shape.reduce(1, *)
            guard let m = f.tensors["layer\(i).mean"], let s = f.tensors["layer\(i).std"], m.shape == [k, d], s.shape == [k, d] else {
                throw bad("layer\(i).mean and .std of shape [\(k), \(d)] for '\(p)' \(Shape.describe(shape))")
            }
            layers.append(Layer(path: p, shape: shape, mean: m, std: s))
        }
        return ActivationMetadata(layers: layers, topMean: topMean, topCholesky: chol, temperature: temperature, classCounts: counts, model: f.metadata["model"] ?? "")
    }
}

extension FrozenTeacher {
    /// The Conv2d and Linear layers whose outputs are the metadata's hidden layers: all but the
    /// last Linear (the logits, recorded as the top layer).
    public var hiddenActivationPaths: [String] {
        guard let head = headPath, activationPaths.last == head else { return activationPaths }
        return Array(activationPaths.dropLast())
    }

    /// The hidden layers' activations of one forward pass, in `hiddenActivationPaths` order.
    public func hidden(_ out: Output) -> [Tensor] {
        Array(out.activations.prefix(hiddenActivationPaths.count))
    }

    /// The hidden layers and their per-example activation shapes for inputs of shape `input` [C, H, W].
    public func hiddenActivationShapes(input: [Int]) throws -> [(String, [Int])] {
        let acts = withoutGradients { hidden(self(Tensor.zeros([1] + input))) }
        return zip(hiddenActivationPaths, acts.map { Array($0.shape.dropFirst()) }).map { ($0, $1) }
    }
}
