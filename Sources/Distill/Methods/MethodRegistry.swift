import DistillCore
import DistillNN

/// Typed access to a method's options (from YAML or the command line), recording which were
/// read so unknown options can be refused by name.
public final class MethodOptions {
    public let method: String
    public let values: [String: String]
    private var read = Set<String>()

    public init(method: String, values: [String: String] = [:]) {
        self.method = method; self.values = values
    }

    public func float(_ key: String, default d: Float) throws -> Float {
        read.insert(key)
        guard let v = values[key] else { return d }
        guard let f = Float(v), f.isFinite else { throw DistillationError.badOption(method: method, option: key, detail: "expects a number, got '\(v)'") }
        return f
    }

    public func int(_ key: String, default d: Int) throws -> Int {
        read.insert(key)
        guard let v = values[key] else { return d }
        guard let i = Int(v) else { throw DistillationError.badOption(method: method, option: key, detail: "expects an integer, got '\(v)'") }
        return i
    }

    public func string(_ key: String, default d: String) -> String {
        read.insert(key)
        return values[key] ?? d
    }

    /// A comma- or space-separated list of strings (tap paths, for example).
    public func list(_ key: String, default d: [String]) -> [String] {
        read.insert(key)
        guard let v = values[key] else { return d }
        return v.split(whereSeparator: { $0 == "," || $0 == " " }).map(String.init)
    }

    /// Throws for any option that no accessor read.
    public func finish() throws {
        for k in values.keys.sorted() where !read.contains(k) {
            throw DistillationError.badOption(method: method, option: k, detail: "is not an option of this method; options: \(read.sorted().joined(separator: ", "))")
        }
    }
}

/// One registry entry: a method name, a one-line summary with its paper, and a factory.
public struct MethodEntry {
    public let name: String
    public let summary: String
    public let make: (MethodOptions) throws -> DistillationLoss

    public init(name: String, summary: String, make: @escaping (MethodOptions) throws -> DistillationLoss) {
        self.name = name; self.summary = summary; self.make = make
    }
}

/// The explicit registry of distillation methods (DESIGN.md): names map to factories; unknown
/// names throw listing the known ones. Each family contributes one array.
public enum MethodRegistry {
    public static var entries: [MethodEntry] { response + feature + relation }

    public static var names: [String] { entries.map(\.name) }

    public static func make(_ name: String, options: [String: String] = [:]) throws -> DistillationLoss {
        guard let e = entries.first(where: { $0.name == name }) else {
            throw DistillationError.unknownMethod(name, known: names)
        }
        let o = MethodOptions(method: name, values: options)
        let loss = try e.make(o)
        try o.finish()
        return loss
    }
}
