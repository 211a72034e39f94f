import Foundation
import Yams

/// An error in an experiment file, naming the file, the line and the key.
public struct ExperimentError: Error, CustomStringConvertible, Equatable {
    public let file: String
    public let line: Int?
    public let message: String

    public init(file: String, line: Int?, _ message: String) {
        self.file = file; self.line = line; self.message = message
    }

    public var description: String { "\(file)\(line.map { ":\($0)" } ?? ""): \(message)" }
}

/// Typed, strict reading of a YAML mapping: each accessor records the key it read, and
/// `finish()` refuses any other key, naming it and its line.
final class MapReader {
    let file: String
    let path: String
    let mapping: Node.Mapping
    let line: Int?
    private var read: [String] = []

    init(_ node: Node, file: String, path: String) throws {
        guard let m = node.mapping else {
            throw ExperimentError(file: file, line: node.mark.map { $0.line }, "'\(path.isEmpty ? "the document" : path)' must be a mapping of keys to values")
        }
        self.file = file; self.path = path; mapping = m; line = node.mark.map { $0.line }
    }

    private func qualified(_ key: String) -> String { path.isEmpty ? key : "\(path).\(key)" }

    func node(_ key: String) -> Node? {
        read.append(key)
        return mapping[Node(key)]
    }

    func fail(_ key: String, _ node: Node?, _ expected: String) -> ExperimentError {
        let found = node.flatMap { $0.string }.map { "'\($0)'" } ?? "a \(node.map(kind) ?? "missing value")"
        return ExperimentError(file: file, line: (node?.mark ?? nil).map { $0.line } ?? line, "key '\(qualified(key))' expects \(expected), got \(found)")
    }

    private func kind(_ n: Node) -> String {
        switch n { case .mapping: return "mapping"; case .sequence: return "list"; default: return "scalar" }
    }

    func has(_ key: String) -> Bool { mapping[Node(key)] != nil }

    func string(_ key: String) throws -> String? {
        guard let n = node(key) else { return nil }
        guard case .scalar = n, let s = n.string else { throw fail(key, n, "a string") }
        return s
    }

    func requiredString(_ key: String) throws -> String {
        guard let s = try string(key) else {
            throw ExperimentError(file: file, line: line, "'\(path.isEmpty ? "the document" : path)' needs the key '\(key)'")
        }
        return s
    }

    func int(_ key: String, min: Int = Int.min) throws -> Int? {
        guard let n = node(key) else { return nil }
        guard case .scalar = n, let s = n.string, let v = Int(s), v >= min else {
            throw fail(key, n, min == Int.min ? "an integer" : "an integer ≥ \(min)")
        }
        return v
    }

    func float(_ key: String) throws -> Float? {
        guard let n = node(key) else { return nil }
        guard case .scalar = n, let s = n.string, let v = Float(s), v.isFinite else { throw fail(key, n, "a number") }
        return v
    }

    /// A number read as a Double (`0.1` stays 0.1, not the nearest Float).
    func double(_ key: String) throws -> Double? {
        guard let n = node(key) else { return nil }
        guard case .scalar = n, let s = n.string, let v = Double(s), v.isFinite else { throw fail(key, n, "a number") }
        return v
    }

    func bool(_ key: String) throws -> Bool? {
        guard let n = node(key) else { return nil }
        guard case .scalar = n, let s = n.string?.lowercased(), ["true", "false", "yes", "no", "on", "off"].contains(s) else {
            throw fail(key, n, "true or false")
        }
        return ["true", "yes", "on"].contains(s)
    }

    /// A list of scalars, or a single scalar read as a one-element list.
    func strings(_ key: String) throws -> [String]? {
        guard let n = node(key) else { return nil }
        switch n {
        case .scalar: return [n.string ?? ""]
        case .sequence(let seq):
            return try seq.map { item in
                guard case .scalar = item, let s = item.string else { throw fail(key, item, "a list of scalars") }
                return s
            }
        default: throw fail(key, n, "a scalar or a list of scalars")
        }
    }

    func ints(_ key: String, min: Int = Int.min) throws -> [Int]? {
        guard let ss = try strings(key) else { return nil }
        return try ss.map { s in
            guard let v = Int(s), v >= min else { throw fail(key, mapping[Node(key)], "a list of integers" + (min == Int.min ? "" : " ≥ \(min)")) }
            return v
        }
    }

    func floats(_ key: String) throws -> [Float]? {
        guard let ss = try strings(key) else { return nil }
        return try ss.map { s in
            guard let v = Float(s), v.isFinite else { throw fail(key, mapping[Node(key)], "a list of numbers") }
            return v
        }
    }

    func map(_ key: String) throws -> MapReader? {
        guard let n = node(key) else { return nil }
        return try MapReader(n, file: file, path: qualified(key))
    }

    /// The raw node of a key (for values with several accepted forms).
    func raw(_ key: String) -> Node? { node(key) }

    /// Refuses every key that no accessor read.
    func finish() throws {
        for (k, _) in mapping {
            guard let name = k.string else { throw ExperimentError(file: file, line: k.mark.map { $0.line }, "keys must be strings") }
            if !read.contains(name) {
                let known = Array(Set(read)).sorted().joined(separator: ", ")
                throw ExperimentError(file: file, line: k.mark.map { $0.line },
                                      "unknown key '\(qualified(name))'" + (known.isEmpty ? "" : "; known keys here: \(known)"))
            }
        }
    }
}

/// Applies `a.b.c=value` overrides to a YAML document before it is read; a path through a
/// non-mapping is an error naming the override.
enum YAMLOverrides {
    static func apply(_ overrides: [String], to root: Node, file: String) throws -> Node {
        var doc = root
        for o in overrides {
            let kv = o.split(separator: "=", maxSplits: 1).map(String.init)
            guard kv.count == 2, !kv[0].isEmpty else {
                throw ExperimentError(file: "command line", line: nil, "override '\(o)' is not KEY.PATH=VALUE")
            }
            let keys = kv[0].split(separator: ".").map(String.init)
            let value = unmarked(((try? Yams.compose(yaml: kv[1])) ?? nil) ?? Node(kv[1]))
            doc = try set(doc, keys[...], value, override: o)
        }
        return doc
    }

    /// The same value without source positions (it came from the command line, not the file).
    static func unmarked(_ n: Node) -> Node {
        switch n {
        case .scalar(let s): return Node(s.string)
        case .sequence(let s): return Node(s.map(unmarked))
        case .mapping(let m): return Node(m.map { (unmarked($0.key), unmarked($0.value)) })
        default: return n
        }
    }

    private static func set(_ node: Node, _ keys: ArraySlice<String>, _ value: Node, override: String) throws -> Node {
        guard let key = keys.first else { return value }
        var pairs: [(Node, Node)]
        switch node {
        case .mapping(let m): pairs = m.map { ($0.key, $0.value) }
        case .scalar where node.string == nil || node.string == "": pairs = []
        default: throw ExperimentError(file: "command line", line: nil, "override '\(override)': '\(key)' is inside a value that is not a mapping")
        }
        if let i = pairs.firstIndex(where: { $0.0.string == key }) {
            pairs[i].1 = try set(pairs[i].1, keys.dropFirst(), value, override: override)
        } else {
            pairs.append((Node(key), try set(Node.mapping(Node.Mapping([])), keys.dropFirst(), value, override: override)))
        }
        return Node.mapping(Node.Mapping(pairs))
    }
}
