/// Spec strings: comma-separated steps, each `name[:arg[:arg]]`, lists separated by `/`.
///
/// | step | arguments | default |
/// |---|---|---|
/// | `jitter[:k]` | max shift in pixels | 2 |
/// | `crop[:padding[:size]]` | zero padding, crop size | 4, input size |
/// | `flip[:p]` | probability | 0.5 |
/// | `normalize:preset` or `normalize:m1/m2/m3:s1/s2/s3` | preset name or means and stds | — |
/// | `mixup[:alpha]` | Beta(α, α) parameter | 0.2 |
///
/// `""` and `"none"` give no augmentation. Example: `"crop:4,flip,normalize:cifar10"`.
extension Augmentation {
    /// The step names `parse` knows.
    public static let knownNames = ["jitter", "crop", "flip", "normalize", "mixup"]

    public static func parse(_ spec: String) throws -> Augmentation {
        let trimmed = spec.filter { !$0.isWhitespace }
        if trimmed.isEmpty || trimmed == "none" { return Augmentation() }
        var steps: [Step] = []
        for item in trimmed.split(separator: ",", omittingEmptySubsequences: false) {
            let parts = item.split(separator: ":", omittingEmptySubsequences: false).map(String.init)
            let name = parts[0], args = Array(parts.dropFirst())
            func fail(_ why: String) -> DataError { .badAugmentationSpec(spec: spec, detail: "step '\(item)': \(why)") }
            func arity(_ most: Int) throws {
                if args.count > most { throw fail("takes at most \(most) argument\(most == 1 ? "" : "s"), got \(args.count)") }
            }
            func int(_ i: Int, _ what: String, default d: Int?) throws -> Int? {
                guard i < args.count else { return d }
                guard let v = Int(args[i]), (0...65_536).contains(v) else { throw fail("\(what) must be an integer in 0…65536, got '\(args[i])'") }
                return v
            }
            func float(_ i: Int, _ what: String, default d: Float, in range: ClosedRange<Float>) throws -> Float {
                guard i < args.count else { return d }
                guard let v = Float(args[i]), range.contains(v) else { throw fail("\(what) must be a number in \(range), got '\(args[i])'") }
                return v
            }
            func floats(_ s: String, _ what: String) throws -> [Float] {
                let v = s.split(separator: "/", omittingEmptySubsequences: false).map { Float($0) }
                guard !v.isEmpty, v.allSatisfy({ $0 != nil }) else { throw fail("\(what) must be numbers separated by '/', got '\(s)'") }
                return v.map { $0! }
            }
            switch name {
            case "jitter":
                try arity(1)
                steps.append(.jitter(try int(0, "shift", default: 2)!))
            case "crop":
                try arity(2)
                let size = try int(1, "crop size", default: nil)
                if size == 0 { throw fail("crop size must be positive") }
                steps.append(.crop(padding: try int(0, "padding", default: 4)!, size: size))
            case "flip":
                try arity(1)
                steps.append(.flip(try float(0, "probability", default: 0.5, in: 0...1)))
            case "normalize":
                if args.count == 1 {
                    guard let p = normalizationPresets[args[0]] else {
                        throw fail("unknown preset '\(args[0])' (known: \(normalizationPresets.keys.sorted().joined(separator: ", ")))")
                    }
                    steps.append(.normalize(mean: p.mean, std: p.std))
                } else if args.count == 2 {
                    let m = try floats(args[0], "means"), s = try floats(args[1], "stds")
                    guard m.count == s.count else { throw fail("\(m.count) means but \(s.count) stds") }
                    guard s.allSatisfy({ $0 > 0 }) else { throw fail("stds must be positive") }
                    steps.append(.normalize(mean: m, std: s))
                } else {
                    throw fail("needs a preset or means:stds")
                }
            case "mixup":
                try arity(1)
                let a = try float(0, "alpha", default: 0.2, in: 0.000_001...1_000)
                steps.append(.mixup(alpha: a))
            default:
                throw DataError.badAugmentationSpec(spec: spec, detail: "unknown step '\(name)' (known: \(knownNames.joined(separator: ", ")))")
            }
        }
        return Augmentation(steps)
    }
}
