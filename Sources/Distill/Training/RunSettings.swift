import Foundation

/// What defines a run, as `config.json` and the checkpoint store it: one JSON object
///
///     {"config": {…TrainingConfig keys…}, "data": "DATA IDENTITY", "scheme": "SCHEME IDENTITY"}
///
/// (keys sorted, one line). `config` is the training configuration, `scheme` the scheme's
/// identity (objective, teacher, link of a chain; empty for a network trained alone), `data`
/// what defines the training data beyond the config (label noise; often empty). Resume and
/// reuse compare two of them key by key, so a refusal names only the keys that differ.
///
/// Checkpoints written before this format stored the config's JSON followed by ` SCHEME` and
/// ` data DATA`; `parse` reads those too, so older runs still resume and are still reused.
struct RunSettings {
    /// The training configuration as a JSON object (values as `JSONSerialization` reads them).
    var config: [String: Any]
    var scheme: String
    var data: String

    init(config: TrainingConfig, scheme: String, data: String) throws {
        let text = try JSONEncoder().encode(config)
        self.config = (try JSONSerialization.jsonObject(with: text) as? [String: Any]) ?? [:]
        self.scheme = scheme
        self.data = data
    }

    init(config: [String: Any], scheme: String, data: String) {
        self.config = config; self.scheme = scheme; self.data = data
    }

    /// The stored form: the JSON object above, keys sorted, on one line.
    func json() throws -> String {
        let object: [String: Any] = ["config": config, "scheme": scheme, "data": data]
        return String(decoding: try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys, .withoutEscapingSlashes]), as: UTF8.self)
    }

    /// Reads a stored form: this format, or the one before it (given the scheme and data
    /// identities of the run it is compared with, which make the old suffix unambiguous when
    /// they match). Nil when `text` is neither.
    static func parse(_ text: String, scheme: String, data: String) -> RunSettings? {
        let bytes = Data(text.utf8)
        if let o = try? JSONSerialization.jsonObject(with: bytes) as? [String: Any],
           let c = o["config"] as? [String: Any], let s = o["scheme"] as? String, let d = o["data"] as? String {
            return RunSettings(config: c, scheme: s, data: d)
        }
        // the former format: CONFIG-JSON[ SCHEME][ data DATA]
        guard let end = endOfObject(text),
              let c = try? JSONSerialization.jsonObject(with: Data(text[..<end].utf8)) as? [String: Any] else { return nil }
        let rest = String(text[end...])
        let formerSuffix = (scheme.isEmpty ? "" : " " + scheme) + (data.isEmpty ? "" : " data " + data)
        if rest == formerSuffix { return RunSettings(config: c, scheme: scheme, data: data) }
        var s = Substring(rest), d = ""
        if let r = s.range(of: " data ", options: .backwards) { d = String(s[r.upperBound...]); s = s[..<r.lowerBound] }
        return RunSettings(config: c, scheme: String(s.hasPrefix(" ") ? s.dropFirst() : s), data: d)
    }

    /// The index just past the JSON object that `text` starts with (strings and escapes skipped).
    static func endOfObject(_ text: String) -> String.Index? {
        guard text.first == "{" else { return nil }
        var depth = 0, inString = false, escaped = false
        var i = text.startIndex
        while i < text.endIndex {
            let ch = text[i]
            if inString {
                if escaped { escaped = false } else if ch == "\\" { escaped = true } else if ch == "\"" { inString = false }
            } else if ch == "\"" {
                inString = true
            } else if ch == "{" {
                depth += 1
            } else if ch == "}" {
                depth -= 1
                if depth == 0 { return text.index(after: i) }
            }
            i = text.index(after: i)
        }
        return nil
    }

    /// One setting that differs: its key (a config key, `scheme` or `data_identity`) and its JSON
    /// value in each run (`(absent)` where a run does not have it).
    struct Difference: Equatable {
        var key: String
        var stored: String
        var current: String

        /// `key: stored → current`.
        var description: String { "\(key): \(stored) → \(current)" }
    }

    /// The settings of `self` (this run) that differ from `stored` (the checkpoint's), in key
    /// order, leaving out the config keys in `ignoring`.
    func differences(from stored: RunSettings, ignoring: Set<String> = []) -> [Difference] {
        var out: [Difference] = []
        for key in Set(config.keys).union(stored.config.keys).subtracting(ignoring).sorted() {
            let a = RunSettings.render(stored.config[key]), b = RunSettings.render(config[key])
            if a != b { out.append(Difference(key: key, stored: a, current: b)) }
        }
        if stored.scheme != scheme { out.append(Difference(key: "scheme", stored: RunSettings.render(stored.scheme), current: RunSettings.render(scheme))) }
        if stored.data != data { out.append(Difference(key: "data_identity", stored: RunSettings.render(stored.data), current: RunSettings.render(data))) }
        return out
    }

    /// A JSON value as compact text with sorted keys; `(absent)` for nil.
    static func render(_ value: Any?) -> String {
        guard let value else { return "(absent)" }
        guard let d = try? JSONSerialization.data(withJSONObject: value, options: [.fragmentsAllowed, .sortedKeys, .withoutEscapingSlashes]) else { return "\(value)" }
        return String(decoding: d, as: UTF8.self)
    }
}
