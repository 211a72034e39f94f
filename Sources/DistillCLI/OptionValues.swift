import DistillCore
import DistillData
import Distill

/// The checks of option values several commands share, so each is written once.
enum OptionValues {
    /// Sets the kernels' thread count from `--threads` (nil: leaves it), refusing values outside 1…`Limits.maxThreads`.
    static func setThreads(_ t: Int?) throws {
        guard let t else { return }
        guard (1...Limits.maxThreads).contains(t) else {
            throw TrainingError.badValue(field: "threads", value: "\(t)", expected: "an integer in 1…\(Limits.maxThreads) (8 per core of this machine)")
        }
        Threads.set(t)
    }

    /// The first `subset` examples of `dataset` (nil: all), refusing a count below 1.
    static func first(_ subset: Int?, of dataset: Dataset) throws -> Dataset {
        guard let n = subset else { return dataset }
        guard n >= 1 else { throw TrainingError.badValue(field: "subset", value: "\(n)", expected: "a positive number of examples") }
        return dataset.first(n)
    }
}
