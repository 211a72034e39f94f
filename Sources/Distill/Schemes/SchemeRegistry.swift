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
        /// Whether `scheme.generations` applies.
        public var generations: Bool = false
    }

    public static let kinds: [Kind] = [
        Kind(name: "offline", summary: "a fixed teacher, a student trained on the method objective (Hinton et al. 2015 and every registry method)",
             participants: 0...0, roles: [], options: [:], usesTeacher: true),
        Kind(name: "mutual-learning", summary: "deep mutual learning: a cohort of students, each taught by its peers' detached predictions (Zhang et al., CVPR 2018)",
             participants: 2...16, roles: ["student"],
             options: ["temperature": "softmax temperature of the peer KL (default 1, the paper's)",
                       "update": "simultaneous (default, the common code) or sequential (the paper's Algorithm 1)"],
             usesTeacher: false),
        Kind(name: "born-again", summary: "born-again networks: generations of the teacher's architecture, each distilled from the one before; their ensemble (Furlanello et al., ICML 2018)",
             participants: 0...0, roles: [], options: [:], usesTeacher: true, generations: true),
        Kind(name: "teacher-assistant", summary: "a chain teacher → assistant(s) → student, against the student distilled directly (Mirzadeh et al., AAAI 2020)",
             participants: 1...8, roles: ["assistant"], options: [:], usesTeacher: true),
        Kind(name: "one", summary: "ONE: a multi-branch network (one: spec) whose gated ensemble of branches teaches every branch on the fly (Lan, Zhu & Gong, NeurIPS 2018)",
             participants: 1...1, roles: ["student"],
             options: ["temperature": "softmax temperature of the ensemble's KL to each branch (default 3, the paper's)"], usesTeacher: false),
        Kind(name: "mean-teacher", summary: "a student and the exponential moving average of its weights as teacher, a consistency cost on unlabelled data (Tarvainen & Valpola, NeurIPS 2017)",
             participants: 1...1, roles: ["student"],
             options: ["labels": "labelled training examples, the first ones (default 1000); the rest are unlabelled",
                       "labelled_batch": "labelled rows added to every batch (default 32)",
                       "consistency": "the largest consistency weight (default 100)",
                       "rampup": "epochs of the sigmoid-shaped ramp-up of the weight (default 5)",
                       "ema_decay": "EMA decay during the ramp-up (default 0.99)",
                       "ema_decay_after": "EMA decay after it (default 0.999)",
                       "input_noise": "std of the Gaussian noise added to each view (default 0.15)"],
             usesTeacher: false),
        Kind(name: "co-teaching", summary: "two networks on noisy labels, each updated on the small-loss examples its peer picks (Han et al., NeurIPS 2018)",
             participants: 2...2, roles: ["student"],
             options: ["forget_rate": "τ, the largest fraction of each batch dropped (default: label_noise.rate, as in the paper)",
                       "gradual": "T_k, epochs over which the forget rate rises to τ (default 10, the paper's)",
                       "exponent": "c, the exponent of the schedule (default 1, the paper's)",
                       "schedule": "code (default, the authors' linspace) or paper (R(T) = 1 − min(T·τ/T_k, τ))"],
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
