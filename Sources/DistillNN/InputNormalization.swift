import DistillCore

/// The per-channel input transform a model applies to its images before its first layer,
/// x' = (x − mean[c]) / std[c] on pixels in [0, 1] (pixel / 255), as torchvision's `Normalize`.
///
/// It belongs to the model, not to the data: a model trained with `--augment normalize:…` keeps
/// it in `Module.inputNormalization`, writes it to every model file (`input_transform` in the
/// safetensors metadata) and applies it wherever it runs — evaluation, `compare`, as a teacher
/// beside a student with another (or no) normalisation, and after a reload. A single mean and
/// std apply to every channel.
public struct InputNormalization: Equatable, Sendable, CustomStringConvertible {
    public let mean: [Float]
    public let std: [Float]

    /// The metadata key of model files.
    public static let metadataKey = "input_transform"

    public init(mean: [Float], std: [Float]) throws {
        guard !mean.isEmpty, mean.count == std.count else {
            throw NormalizationError("needs as many means as stds (at least one), got \(mean.count) and \(std.count)")
        }
        guard mean.allSatisfy(\.isFinite), std.allSatisfy({ $0.isFinite && $0 > 0 }) else {
            throw NormalizationError("needs finite means and finite positive stds, got \(mean) and \(std)")
        }
        self.mean = mean; self.std = std
    }

    /// `normalize:m1/m2/m3:s1/s2/s3`, the syntax of the augmentation step that trained it.
    public var description: String {
        "normalize:" + mean.map { "\($0)" }.joined(separator: "/") + ":" + std.map { "\($0)" }.joined(separator: "/")
    }

    /// Parses `description` (nil for `none`); what a model file's `input_transform` holds.
    public static func parse(_ text: String) throws -> InputNormalization? {
        if text == "none" { return nil }
        let parts = text.split(separator: ":", omittingEmptySubsequences: false)
        guard parts.count == 3, parts[0] == "normalize" else {
            throw NormalizationError("'\(text)' is neither none nor normalize:MEANS:STDS (values joined by /)")
        }
        func floats(_ s: Substring) throws -> [Float] {
            try s.split(separator: "/", omittingEmptySubsequences: false).map {
                guard let v = Float($0) else { throw NormalizationError("'\(text)': '\($0)' is not a number") }
                return v
            }
        }
        return try InputNormalization(mean: floats(parts[1]), std: floats(parts[2]))
    }

    /// Throws unless it fits images of `channels` channels.
    public func check(channels: Int) throws {
        guard mean.count == 1 || mean.count == channels else {
            throw NormalizationError("\(self) has \(mean.count) means for images of \(channels) channels")
        }
    }

    /// (x − mean) / std of images [N, C, H, W], as differentiable ops (input gradients flow
    /// through it), computed as x · (1/std) + (−mean/std) like the augmentation step.
    public func apply(_ x: Tensor) -> Tensor {
        ensure(x.rank == 4 && (mean.count == 1 || mean.count == x.shape[1]),
               "InputNormalization: \(self) does not fit images \(Shape.describe(x.shape)) ([N, C, H, W])")
        let c = mean.count
        let scale = Tensor(shape: [1, c, 1, 1], scalars: std.map { 1 / $0 })
        let shift = Tensor(shape: [1, c, 1, 1], scalars: zip(mean, std).map { -$0 / $1 })
        return x * scale + shift
    }
}

/// A normalisation that cannot be built or does not fit.
public struct NormalizationError: Error, CustomStringConvertible, Equatable {
    public let description: String
    init(_ d: String) { description = "input normalisation " + d }
}
