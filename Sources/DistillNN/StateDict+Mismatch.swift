import DistillCore

/// How a state dict differs from a module: both sides of the key sets, shape mismatches, and a
/// likely mapping of each missing key to an unexpected one of the same shape (the most similar
/// name), so a user can see at once that `features.0.weight` is what `conv1.weight` was called.
public struct StateDictMismatch: Error, CustomStringConvertible, Equatable {
    public struct Entry: Equatable, Sendable { public let key: String, shape: [Int] }
    /// Keys the module has and the dict lacks, and keys the dict has and the module lacks.
    public let missing: [Entry], unexpected: [Entry]
    /// Keys on both sides whose shapes differ: (key, the module's shape, the dict's shape).
    public let shapes: [(key: String, expected: [Int], got: [Int])]
    /// Missing key ← unexpected key of the same shape, one-to-one, best name match first.
    public let mapping: [(missing: String, from: String)]

    /// How many keys of each list a message shows.
    static let shown = 12

    public static func == (a: StateDictMismatch, b: StateDictMismatch) -> Bool {
        a.missing == b.missing && a.unexpected == b.unexpected && a.mapping.map { [$0.missing, $0.from] } == b.mapping.map { [$0.missing, $0.from] }
            && a.shapes.map(\.key) == b.shapes.map(\.key)
    }

    public var description: String {
        func list(_ e: [Entry]) -> String {
            let head = e.prefix(Self.shown).map { "\($0.key) \(Shape.describe($0.shape))" }.joined(separator: ", ")
            return e.count > Self.shown ? head + ", and \(e.count - Self.shown) more" : head
        }
        var parts: [String] = []
        if !missing.isEmpty { parts.append("\(missing.count) missing key\(missing.count == 1 ? "" : "s") (the model has them, the file does not): \(list(missing))") }
        if !unexpected.isEmpty { parts.append("\(unexpected.count) unexpected key\(unexpected.count == 1 ? "" : "s") (the file has them, the model does not): \(list(unexpected))") }
        if !shapes.isEmpty {
            let s = shapes.prefix(Self.shown).map { "\($0.key): model \(Shape.describe($0.expected)), file \(Shape.describe($0.got))" }
            parts.append("\(shapes.count) shape mismatch\(shapes.count == 1 ? "" : "es"): \(s.joined(separator: "; "))\(shapes.count > Self.shown ? "; and \(shapes.count - Self.shown) more" : "")")
        }
        if !mapping.isEmpty {
            let m = mapping.prefix(Self.shown).map { "\($0.missing) ← \($0.from)" }.joined(separator: ", ")
            parts.append("likely mapping (same shape, similar name): \(m)\(mapping.count > Self.shown ? ", and \(mapping.count - Self.shown) more" : "") — rename the file's keys accordingly")
        }
        return parts.joined(separator: "; ")
    }

    /// The differences between `expected` (key → shape) and `state`; nil when they match.
    /// BatchNorm's `num_batches_tracked` in the dict is ignored, as `loadStateDict` ignores it.
    public static func between(expected: [String: [Int]], state: [String: [Int]]) -> StateDictMismatch? {
        let missing = expected.keys.filter { state[$0] == nil }.sorted().map { Entry(key: $0, shape: expected[$0]!) }
        let unexpected = state.keys.filter { expected[$0] == nil && !$0.hasSuffix("num_batches_tracked") }.sorted()
            .map { Entry(key: $0, shape: state[$0]!) }
        let shapes = expected.keys.sorted().compactMap { k -> (String, [Int], [Int])? in
            guard let g = state[k], g != expected[k]! else { return nil }
            return (k, expected[k]!, g)
        }
        guard !missing.isEmpty || !unexpected.isEmpty || !shapes.isEmpty else { return nil }
        return StateDictMismatch(missing: missing, unexpected: unexpected, shapes: shapes.map { (key: $0.0, expected: $0.1, got: $0.2) },
                                 mapping: likelyMapping(missing, unexpected))
    }

    /// Greedy one-to-one pairing of same-shape keys by name similarity (shared trailing path
    /// components first, then shorter edit distance); at most 256 × 256 keys of at most 96
    /// bytes each are compared (a quarter of a second for adversarial files, milliseconds for models).
    static func likelyMapping(_ missing: [Entry], _ unexpected: [Entry]) -> [(missing: String, from: String)] {
        var candidates: [(score: Int, m: Int, u: Int)] = []
        for (i, m) in missing.prefix(256).enumerated() {
            for (j, u) in unexpected.prefix(256).enumerated() where u.shape == m.shape {
                candidates.append((similarity(m.key, u.key), i, j))
            }
        }
        candidates.sort { ($0.score, $1.m, $1.u) > ($1.score, $0.m, $0.u) }
        var usedM = Set<Int>(), usedU = Set<Int>(), out: [(Int, String, String)] = []
        for c in candidates where !usedM.contains(c.m) && !usedU.contains(c.u) {
            usedM.insert(c.m); usedU.insert(c.u)
            out.append((c.m, missing[c.m].key, unexpected[c.u].key))
        }
        return out.sorted { $0.0 < $1.0 }.map { (missing: $0.1, from: $0.2) }
    }

    /// Higher is more similar: 1000 per equal trailing dotted component, minus the edit distance.
    static func similarity(_ a: String, _ b: String) -> Int {
        let pa = a.split(separator: "."), pb = b.split(separator: ".")
        var tail = 0
        while tail < min(pa.count, pb.count) && pa[pa.count - 1 - tail] == pb[pb.count - 1 - tail] { tail += 1 }
        return 1000 * tail - editDistance(Array(a.utf8.prefix(96)), Array(b.utf8.prefix(96)))
    }

    static func editDistance(_ a: [UInt8], _ b: [UInt8]) -> Int {
        var row = Array(0...b.count)
        for (i, x) in a.enumerated() {
            var prev = row[0]
            row[0] = i + 1
            for (j, y) in b.enumerated() {
                let cur = row[j + 1]
                row[j + 1] = min(row[j + 1] + 1, row[j] + 1, prev + (x == y ? 0 : 1))
                prev = cur
            }
        }
        return row[b.count]
    }
}

extension Module {
    /// Keys and shapes `loadStateDict` expects (parameters and buffers).
    public func expectedStateShapes() -> [String: [Int]] {
        var expected: [String: [Int]] = [:]
        for (p, x) in namedParameters() { expected[p] = x.shape }
        for (p, b) in namedBuffers() { expected[p] = b.shape }
        return expected
    }

    /// `state` with a wrapper's prefix removed when every key carries it and the rest then fits
    /// this module exactly (`module.` of DataParallel/DistributedDataParallel, `_orig_mod.` of
    /// `torch.compile`, `model.` of Lightning, or any other single leading component); the prefix
    /// removed, or nil when the keys are used as they are.
    public func strippingWrapperPrefix(_ state: [String: Tensor]) -> (state: [String: Tensor], prefix: String?) {
        let expected = expectedStateShapes()
        guard StateDictMismatch.between(expected: expected, state: state.mapValues(\.shape)) != nil else { return (state, nil) }
        var current = state, removed = ""
        for _ in 0..<3 {   // nested wrappers (module.model.) too
            guard let first = current.keys.first, let dot = first.firstIndex(of: ".") else { break }
            let prefix = String(first[...dot])
            guard current.keys.allSatisfy({ $0.hasPrefix(prefix) && $0.count > prefix.count }) else { break }
            current = Dictionary(uniqueKeysWithValues: current.map { (String($0.key.dropFirst(prefix.count)), $0.value) })
            removed += prefix
            if StateDictMismatch.between(expected: expected, state: current.mapValues(\.shape)) == nil { return (current, removed) }
        }
        return (state, nil)
    }
}
