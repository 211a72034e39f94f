import Foundation
import Yams

/// What an experiment file runs, from its top-level `kind:` (default `distill`): a distillation
/// experiment (`ExperimentConfig`), a dataset condensation (`CondenseExperiment`) or a data-free
/// distillation (`DataFreeExperiment`). `distill run` reads the kind first and hands the file to
/// the matching parser, so every kind shares `--set`, `--short` and `--out`.
public enum ExperimentKind: String, CaseIterable, Sendable {
    case distill, condense, datafree

    /// The kind a file declares (after the command line's overrides, so `--set kind=…` works).
    public static func of(path: String, overrides: [String] = []) throws -> ExperimentKind {
        try of(text: try DataExperimentDocument.read(path: path), file: path, overrides: overrides)
    }

    /// The kind the experiment text declares; `file` names it in errors.
    public static func of(text: String, file: String = "<experiment>", overrides: [String] = []) throws -> ExperimentKind {
        let doc = try DataExperimentDocument.compose(text: text, file: file)
        let root = try YAMLOverrides.apply(overrides.filter { $0.hasPrefix("kind=") }, to: doc, file: file)
        guard let m = root.mapping, let n = m[Node("kind")] else { return .distill }
        guard let s = n.string, let k = ExperimentKind(rawValue: s) else {
            throw ExperimentError(file: file, line: n.mark.map { $0.line },
                                  "key 'kind' expects one of \(allCases.map(\.rawValue).joined(separator: ", ")), got '\(n.string ?? "a non-scalar")'")
        }
        return k
    }
}

/// The parts `kind: condense` and `kind: datafree` files share: reading the YAML, the file's
/// `short:` overrides (with `--short`), then the command line's `--set`, and the common keys.
struct DataExperimentDocument {
    var name: String
    var data = "fashion-mnist"
    var seeds: [UInt64] = [0]
    var short: [String] = []
    /// The reader over the document root; the caller reads its own section and calls `finish`.
    let root: MapReader

    /// The text of an experiment file.
    static func read(path: String) throws -> String {
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else {
            throw ExperimentError(file: path, line: nil, "cannot read the file")
        }
        return text
    }

    static func compose(text: String, file path: String) throws -> Node {
        do {
            guard let doc = try Yams.compose(yaml: text) else {
                throw ExperimentError(file: path, line: nil, "is empty (or holds only comments)")
            }
            return doc
        } catch let e as YamlError {
            throw ExperimentError(file: path, line: nil, "is not valid YAML: \(e)")
        }
    }

    /// Parses `text` (the file `path`) with its `short:` list applied first when `short`, then
    /// `overrides`.
    static func parse(_ text: String, file path: String, overrides: [String], short: Bool, defaultName: String) throws -> DataExperimentDocument {
        let doc = try compose(text: text, file: path)
        var all = overrides
        if short {
            let plain = try YAMLOverrides.apply(overrides, to: doc, file: path)
            let list = try MapReader(plain, file: path, path: "").strings("short") ?? []
            guard !list.isEmpty else {
                throw ExperimentError(file: path, line: nil, "has no 'short:' list of overrides, so there is no short version to run")
            }
            all = list + overrides
        }
        let r = try MapReader(try YAMLOverrides.apply(all, to: doc, file: path), file: path, path: "")
        _ = try r.string("kind")
        var d = DataExperimentDocument(name: try r.string("name") ?? defaultName, root: r)
        guard ExperimentConfig.isSafeName(d.name) else {
            throw r.fail("name", r.mapping[Node("name")], "a name of 1 to 100 letters, digits, '.', '-' or '_', not starting with '.' (it names the run directory runs/NAME)")
        }
        d.data = try r.string("data") ?? d.data
        do { _ = try DataSpec(d.data) } catch {
            throw ExperimentError(file: path, line: r.mapping[Node("data")]?.mark.map { $0.line }, "key 'data': \(error)")
        }
        if let s = try r.ints("seeds", min: 0) {
            guard !s.isEmpty, s.count <= 100 else { throw r.fail("seeds", r.mapping[Node("seeds")], "1 to 100 seeds") }
            d.seeds = s.map { UInt64($0) }
        }
        d.short = try r.strings("short") ?? []
        return d
    }

    /// `key: N` or `key: [N, …]` as a list of integers.
    static func intList(_ r: MapReader, _ key: String) throws -> [Int]? {
        guard let n = r.mapping[Node(key)] else { return nil }
        if case .scalar = n { return try r.int(key).map { [$0] } }
        return try r.ints(key)
    }

    /// `key: a,b` or `key: [a, b]` as a list of strings.
    static func stringList(_ r: MapReader, _ key: String) throws -> [String]? {
        guard let n = r.mapping[Node(key)] else { return nil }
        if case .scalar = n { return try r.string(key).map { $0.isEmpty ? [] : $0.split(separator: ",").map(String.init) } }
        return try r.strings(key)
    }
}

/// Mean and sample standard deviation of a few numbers (0 for one value).
func meanAndStd(_ v: [Double]) -> (mean: Double, std: Double) {
    guard !v.isEmpty else { return (0, 0) }
    let m = v.reduce(0, +) / Double(v.count)
    guard v.count > 1 else { return (m, 0) }
    return (m, (v.map { ($0 - m) * ($0 - m) }.reduce(0, +) / Double(v.count - 1)).squareRoot())
}
