import DistillCore
import DistillNN

/// Initialisation of a student between a random draw and its teacher (Stanton et al. 2021, §5:
/// "initializing the student closer to the teacher"): θ = λ·θ_teacher + (1 − λ)·θ_random.
public enum StudentInitialisation {
    /// Replaces every parameter and buffer of `student` (BatchNorm's running statistics too) by
    /// λ·teacher + (1 − λ)·student. The two must share an architecture: mismatched keys or shapes
    /// throw, naming them, and leave the student as it was.
    public static func interpolate(_ student: Module, towards teacher: Module, lambda: Float) throws {
        ensure((0...1).contains(lambda), "StudentInitialisation: λ must lie in [0, 1], got \(lambda)")
        let s = student.stateDict(), t = teacher.stateDict()
        if Set(s.keys) != Set(t.keys) || s.contains(where: { t[$0.key]!.shape != $0.value.shape }) {
            try student.loadStateDict(t)   // throws, naming the keys or both shapes
            failCheck("StudentInitialisation: the teacher's state loaded into a student it does not match")
        }
        var blended: [String: Tensor] = [:]
        for (key, value) in s {
            let other = t[key]!
            blended[key] = lambda == 1 ? other : lambda == 0 ? value : other * lambda + value * (1 - lambda)
        }
        try student.loadStateDict(blended)
    }
}
