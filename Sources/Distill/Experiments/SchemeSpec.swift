import DistillCore
import Foundation
import Yams

/// A network taking part in a scheme: its name (checkpoint prefix and file name), model spec and role.
public struct Participant: Equatable, Sendable, Codable {
    public var name: String
    public var model: String
    public var role: String
}

/// The `scheme:` block of an experiment file: which training scheme runs and who takes part.
///
///     scheme:
///       kind: mutual-learning        # offline (default) or one of SchemeRegistry.names
///       participants:
///         - {name: a, model: "mlp:800x800"}
///         - {name: b, model: "mlp:800x800", role: student}
///       temperature: 1               # options of the kind (SchemeRegistry.Kind.options)
///
/// Every key is checked before anything trains: an unknown kind, too few or too many
/// participants, a duplicate or malformed name, an unknown role, a model that does not parse, an
/// option the kind does not have, or zero generations each name the file, the line and the key.
public struct SchemeSpec: Equatable, Sendable {
    public var kind: String = "offline"
    public var participants: [Participant] = []
    /// Generations of chained schemes (born-again networks); nil where the kind has none.
    public var generations: Int? = nil
    public var options: [String: String] = [:]

    public init() {}

    /// An integer option, validated when read.
    public func int(_ key: String, default d: Int, min: Int) throws -> Int {
        guard let s = options[key] else { return d }
        guard let v = Int(s), v >= min else { throw TrainingError.badValue(field: "scheme.\(key)", value: s, expected: "an integer ≥ \(min)") }
        return v
    }

    /// The options of a mean-teacher scheme (defaults: `MeanTeacher.Options`).
    public func meanTeacherOptions(seed: UInt64 = 0) throws -> MeanTeacher.Options {
        var o = MeanTeacher.Options()
        o.labelledBatch = try int("labelled_batch", default: o.labelledBatch, min: 1)
        o.consistencyWeight = try float("consistency", default: o.consistencyWeight)
        o.rampupEpochs = Double(try float("rampup", default: Float(o.rampupEpochs)))
        o.decay = try float("ema_decay", default: o.decay)
        o.decayAfterRampup = try float("ema_decay_after", default: o.decayAfterRampup)
        o.inputNoise = try float("input_noise", default: o.inputNoise)
        o.seed = seed
        func bad(_ f: String, _ v: Any, _ e: String) -> TrainingError { .badValue(field: "scheme.\(f)", value: "\(v)", expected: e) }
        guard o.consistencyWeight >= 0 else { throw bad("consistency", o.consistencyWeight, "a number ≥ 0") }
        guard o.rampupEpochs >= 0 else { throw bad("rampup", o.rampupEpochs, "a number of epochs ≥ 0") }
        for (f, d) in [("ema_decay", o.decay), ("ema_decay_after", o.decayAfterRampup)] where !(d >= 0 && d < 1) { throw bad(f, d, "a number in [0, 1)") }
        guard o.inputNoise >= 0 else { throw bad("input_noise", o.inputNoise, "a number ≥ 0") }
        return o
    }

    /// The options of a co-teaching scheme; τ defaults to `noiseRate` (the paper sets τ = ε).
    public func coTeachingOptions(noiseRate: Double?) throws -> CoTeaching.Options {
        let tau: Double
        if options["forget_rate"] != nil { tau = Double(try float("forget_rate", default: 0)) } else {
            guard let r = noiseRate else {
                throw TrainingError.badValue(field: "scheme.forget_rate", value: "none", expected: "a forget rate in [0, 1), or label_noise: whose rate it defaults to")
            }
            tau = r
        }
        guard tau >= 0, tau < 1 else { throw TrainingError.badValue(field: "scheme.forget_rate", value: "\(tau)", expected: "a number in [0, 1)") }
        var o = CoTeaching.Options(forgetRate: tau)
        o.gradualEpochs = try int("gradual", default: o.gradualEpochs, min: 0)
        o.exponent = Double(try float("exponent", default: Float(o.exponent)))
        guard o.exponent > 0 else { throw TrainingError.badValue(field: "scheme.exponent", value: "\(o.exponent)", expected: "a positive number") }
        let sched = options["schedule"] ?? o.schedule.rawValue
        guard let sc = CoTeaching.Schedule(rawValue: sched) else {
            throw TrainingError.badValue(field: "scheme.schedule", value: sched, expected: CoTeaching.Schedule.allCases.map(\.rawValue).joined(separator: " or "))
        }
        o.schedule = sc
        return o
    }

    /// A numeric option, validated when read.
    public func float(_ key: String, default d: Float) throws -> Float {
        guard let s = options[key] else { return d }
        guard let v = Float(s), v.isFinite else {
            throw TrainingError.badValue(field: "scheme.\(key)", value: s, expected: "a number")
        }
        return v
    }

    static func parse(_ r: MapReader) throws -> SchemeSpec {
        var s = SchemeSpec()
        s.kind = try r.string("kind") ?? s.kind
        let kind: SchemeRegistry.Kind
        do { kind = try SchemeRegistry.kind(s.kind) } catch {
            throw r.fail("kind", r.node("kind"), "one of \(SchemeRegistry.names.joined(separator: ", "))")
        }
        if let g = r.node("generations") {
            guard kind.generations else { throw r.fail("generations", g, "no such key: scheme \(kind.name) has no generations") }
            guard let n = try r.int("generations", min: 1) else { throw r.fail("generations", g, "an integer ≥ 1") }
            s.generations = n
        }
        if let p = r.node("participants") {
            guard kind.participants.upperBound > 0 else {
                throw r.fail("participants", p, "no participants: scheme \(kind.name) takes its networks from teacher: and student:")
            }
            guard case .sequence(let items) = p else { throw r.fail("participants", p, "a list of {name:, model:, role:} mappings") }
            for (i, item) in items.enumerated() {
                let pr = try MapReader(item, file: r.file, path: "\(r.path).participants.\(i)")
                let name = try pr.string("name") ?? "\(kind.roles.first ?? "member")\(i)"
                guard !name.isEmpty, name.allSatisfy({ $0.isLetter || $0.isNumber || "-_".contains($0) }) else {
                    throw pr.fail("name", pr.node("name"), "letters, digits, '-' or '_'")
                }
                guard !s.participants.contains(where: { $0.name == name }) else { throw pr.fail("name", pr.node("name"), "a name no other participant has") }
                let model = try pr.requiredString("model")
                _ = try ExperimentConfig.modelCheck(model, pr, "model")
                let role = try pr.string("role") ?? kind.roles.first ?? ""
                guard kind.roles.contains(role) else { throw pr.fail("role", pr.node("role"), "one of \(kind.roles) for scheme \(kind.name)") }
                try pr.finish()
                s.participants.append(Participant(name: name, model: model, role: role))
            }
        }
        for key in r.mapping.keys.compactMap(\.string) where !["kind", "generations", "participants"].contains(key) {
            guard kind.options[key] != nil else {
                throw r.fail(key, r.node(key), kind.options.isEmpty ? "no such key: scheme \(kind.name) has no options"
                                                                    : "an option of scheme \(kind.name): \(kind.options.keys.sorted().joined(separator: ", "))")
            }
            guard let v = r.node(key), case .scalar = v, let text = v.string else { throw r.fail(key, r.node(key), "a scalar") }
            s.options[key] = text
        }
        guard kind.participants.contains(s.participants.count) else {
            throw r.fail("participants", r.node("participants"), kind.participants.upperBound == 0
                         ? "no participants: scheme \(kind.name) takes its networks from teacher: and student:"
                         : "\(kind.participants.lowerBound) to \(kind.participants.upperBound) participants for scheme \(kind.name), got \(s.participants.count)")
        }
        do { try s.validateOptions() } catch { throw ExperimentError(file: r.file, line: r.line, "\(r.path): \(error)") }
        return s
    }

    /// Checks the kind's options can be read (the scheme's factory reads them the same way).
    func validateOptions() throws {
        switch kind {
        case "mutual-learning":
            let t = try float("temperature", default: 1)
            guard t > 0 else { throw TrainingError.badValue(field: "scheme.temperature", value: "\(t)", expected: "a positive number") }
            let u = options["update"] ?? MutualLearning.Update.simultaneous.rawValue
            guard MutualLearning.Update(rawValue: u) != nil else {
                throw TrainingError.badValue(field: "scheme.update", value: u, expected: MutualLearning.Update.allCases.map(\.rawValue).joined(separator: " or "))
            }
        case "one":
            let t = try float("temperature", default: 3)
            guard t > 0 else { throw TrainingError.badValue(field: "scheme.temperature", value: "\(t)", expected: "a positive number") }
            guard let model = participants.first?.model, model.hasPrefix("one:") || model == "one" else {
                throw TrainingError.badValue(field: "scheme.participants.0.model", value: participants.first?.model ?? "", expected: "a multi-branch network, one:WIDTHS,branches=M,trunk=K")
            }
        case "co-teaching":
            _ = try coTeachingOptions(noiseRate: 0)   // whether τ is given at all is checked with label_noise
        case "mean-teacher":
            _ = try int("labels", default: 1000, min: 1)
            _ = try meanTeacherOptions()
        default: break
        }
    }
}
