import DistillCore
import Foundation

/// One term of a distillation objective as written in an experiment: a registry method, its
/// weight in the sum, and its options (strings, parsed by the method).
public struct MethodSpec: Codable, Equatable, Sendable {
    public var name: String
    public var weight: Float
    public var options: [String: String]

    public init(name: String, weight: Float = 1, options: [String: String] = [:]) {
        self.name = name; self.weight = weight; self.options = options
    }

    /// Parses `hinton:temperature=20,alpha=0.9` or `kd*0.9:temperature=4` (weight after `*`).
    /// A comma-separated item without `=` continues the previous value, so lists of tap paths
    /// read naturally: `at:student=conv1,conv2,teacher=layer1,layer2`.
    public init(parsing text: String) throws {
        let parts = text.split(separator: ":", maxSplits: 1, omittingEmptySubsequences: false).map(String.init)
        let head = parts[0].split(separator: "*", maxSplits: 1, omittingEmptySubsequences: false).map(String.init)
        name = head[0].trimmingCharacters(in: .whitespaces)
        guard !name.isEmpty else {
            throw DistillationError.invalidObjective("method spec '\(text)' names no method; expected NAME[*WEIGHT][:key=value,…], e.g. hinton:temperature=4,alpha=0.9")
        }
        weight = 1
        if head.count == 2 {
            guard let w = Float(head[1]), w.isFinite, w >= 0 else {
                throw DistillationError.badOption(method: name, option: "weight", detail: "expects a number ≥ 0 after '*', got '\(head[1])'")
            }
            weight = w
        }
        options = [:]
        if parts.count == 2 {
            var last: String? = nil
            for kv in parts[1].split(separator: ",") {
                let p = kv.split(separator: "=", maxSplits: 1).map(String.init)
                if p.count == 2, !p[0].isEmpty {
                    options[p[0]] = p[1]
                    last = p[0]
                } else if p.count == 1, let key = last {
                    options[key, default: ""] += "," + p[0]
                } else {
                    throw DistillationError.badOption(method: name, option: String(kv), detail: "is not key=value")
                }
            }
        }
    }
}
