import DistillCore

/// The training schemes an experiment file can name in `scheme.kind`, with what each needs.
/// Unknown names are refused with the list of known ones.
public enum SchemeRegistry {
    public struct Kind: Sendable {
        public let name: String
        public let summary: String
        /// Participants the scheme needs (`scheme.participants`); 0...0 for schemes that take
        /// theirs from `teacher:` and `student:`.
        public let participants: ClosedRange<Int>
        /// Roles a participant may have (the first is the default).
        public let roles: [String]
        /// Options of the scheme block beyond kind, participants and generations, with their meaning.
        public let options: [String: String]
        /// Whether the scheme distils from the experiment's `teacher:` (and reads `method:`).
        public let usesTeacher: Bool
    }

    public static let kinds: [Kind] = [
        Kind(name: "offline", summary: "a fixed teacher, a student trained on the method objective (Hinton et al. 2015 and every registry method)",
             participants: 0...0, roles: [], options: [:], usesTeacher: true),
        Kind(name: "mutual-learning", summary: "deep mutual learning: a cohort of students, each taught by its peers' detached predictions (Zhang et al., CVPR 2018)",
             participants: 2...16, roles: ["student"],
             options: ["temperature": "softmax temperature of the peer KL (default 1, the paper's)",
                       "update": "simultaneous (default, the common code) or sequential (the paper's Algorithm 1)"],
             usesTeacher: false),
    ]

    public static var names: [String] { kinds.map(\.name) }

    /// The kind called `name`; throws listing the known kinds.
    public static func kind(_ name: String) throws -> Kind {
        guard let k = kinds.first(where: { $0.name == name }) else {
            throw TrainingError.badValue(field: "scheme.kind", value: name, expected: "one of \(names.joined(separator: ", "))")
        }
        return k
    }
}
