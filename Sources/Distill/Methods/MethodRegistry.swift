import DistillCore
import DistillNN

/// Typed access to a method's options (from YAML or the command line), recording which were
/// read so unknown options can be refused by name.
public final class MethodOptions {
    public let method: String
    public let values: [String: String]
    private var read = Set<String>()
    /// The options the method lists (its `MethodEntry.options`), named when one is refused.
    var listed: [String] = []

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

    /// Reads a boolean option: true/false, yes/no, 1/0, on/off.
    public func bool(_ key: String, default d: Bool) throws -> Bool {
        read.insert(key)
        guard let v = values[key] else { return d }
        switch v.lowercased() {
        case "true", "yes", "1", "on": return true
        case "false", "no", "0", "off": return false
        default: throw DistillationError.badOption(method: method, option: key, detail: "expects true or false, got '\(v)'")
        }
    }

    /// Reads a string that must be one of `choices`; anything else is refused naming them.
    public func choice(_ key: String, _ choices: [String], default d: String) throws -> String {
        let v = string(key, default: d)
        guard choices.contains(v) else {
            throw DistillationError.badOption(method: method, option: key, detail: "must be one of \(choices.joined(separator: ", ")), got '\(v)'")
        }
        return v
    }

    /// The keys the factory has read so far (a registry test checks they are all listed).
    var readKeys: Set<String> { read }

    /// Throws for any option that no accessor read.
    public func finish() throws {
        for k in values.keys.sorted() where !read.contains(k) {
            let known = (listed.isEmpty ? read.sorted() : listed).joined(separator: ", ")
            throw DistillationError.badOption(method: method, option: k, detail: "is not an option of this method; options: \(known)")
        }
    }
}

/// One option of a method as `distill methods` lists it: its name, its default as written in
/// YAML or `--option` (nil: required), what it means, and, for an option read only in one mode
/// of the method, that mode as `key=value` (e.g. `temperature` of `noisy` only with `loss=kd`).
public struct MethodOption: Equatable {
    public let name: String
    public let defaultValue: String?
    public let meaning: String
    public let onlyWith: String?

    public init(_ name: String, _ defaultValue: String?, _ meaning: String, onlyWith: String? = nil) {
        self.name = name; self.defaultValue = defaultValue; self.meaning = meaning; self.onlyWith = onlyWith
    }
}

/// One registry entry: a method name, a one-line summary, its paper, the options its factory
/// reads (listed so `distill methods` cannot drift from the factory: a registry test builds every
/// method with every listed option set to its default), optional notes for its card, and a factory.
public struct MethodEntry {
    public let name: String
    public let summary: String
    public let paper: String
    public let options: [MethodOption]
    public let notes: String
    public let make: (MethodOptions) throws -> DistillationLoss

    public init(name: String, summary: String, paper: String, options: [MethodOption], notes: String = "",
                make: @escaping (MethodOptions) throws -> DistillationLoss) {
        self.name = name; self.summary = summary; self.paper = paper; self.options = options; self.notes = notes; self.make = make
    }

    /// The method card `distill methods NAME` prints: summary, paper, options with defaults, notes.
    public var card: String {
        var lines = ["\(name): \(summary)", "paper: \(paper)", "options:"]
        let width = (options.map(\.name.count).max() ?? 0) + 2
        for o in options {
            let d = o.defaultValue.map { $0.isEmpty ? "(unset)" : $0 } ?? "(required)"
            let mode = o.onlyWith.map { " [only with \($0)]" } ?? ""
            lines.append("  " + o.name.padding(toLength: width, withPad: " ", startingAt: 0) + "default \(d). \(o.meaning)\(mode)")
        }
        if options.isEmpty { lines.append("  (none)") }
        if !notes.isEmpty { lines.append(""); lines.append(notes) }
        return lines.joined(separator: "\n")
    }
}

/// The explicit registry of distillation methods (DESIGN.md): names map to factories; unknown
/// names throw listing the known ones. Each family contributes one array.
public enum MethodRegistry {
    public static var entries: [MethodEntry] { response + feature + relation }

    public static var names: [String] { entries.map(\.name) }

    /// The entry named `name`; unknown names throw listing the known ones.
    public static func entry(_ name: String) throws -> MethodEntry {
        guard let e = entries.first(where: { $0.name == name }) else { throw DistillationError.unknownMethod(name, known: names) }
        return e
    }

    public static func make(_ name: String, options: [String: String] = [:]) throws -> DistillationLoss {
        let e = try entry(name)
        let o = MethodOptions(method: name, values: options)
        o.listed = e.options.map(\.name)
        let loss = try e.make(o)
        try o.finish()
        return loss
    }
}
