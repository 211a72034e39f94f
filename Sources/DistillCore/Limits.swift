import Foundation

/// Every size the tool accepts from its input, in one place (DESIGN.md: "one place for size
/// limits"). Specs and files come from users, experiment files and checkpoint metadata, so each
/// count is bounded before anything is allocated; a refusal names the limit and how to raise it.
public enum Limits {
    /// A width, channel count, vocabulary or sequence length in a model spec.
    public static let maxDimension = 1 << 20
    /// Layers, heads, depth: repeated blocks in a model spec.
    public static let maxRepeats = 1024
    /// Epochs of a training run (so step counts never overflow).
    public static let maxEpochs = 100_000
    /// Examples in one batch.
    public static let maxBatchSize = 65_536
    /// Examples in a training set or subset.
    public static let maxExamples = 1 << 31

    /// Parameters of one model: an eighth of this machine's memory in float32 weights, since
    /// training holds about four copies (weights, gradients, two Adam moments) besides
    /// activations. `DISTILL_MAX_PARAMETERS` (a count) sets it.
    public static var maxParameters: Int {
        if let v = ProcessInfo.processInfo.environment["DISTILL_MAX_PARAMETERS"], let n = Int(v), n > 0 { return n }
        return Int(clamping: ProcessInfo.processInfo.physicalMemory / 32)
    }

    /// Bytes of one file read (or inflated) at once: a quarter of this machine's memory.
    public static var maxFileBytes: Int { Int(clamping: ProcessInfo.processInfo.physicalMemory / 4) }
    /// Pixels (channels × height × width) of one image.
    public static let maxImagePixels = 1 << 24
    /// Bytes of one decoded data split held in memory (its float32 images, as `Dataset` keeps
    /// them): half of this machine's memory, checked before an image folder, array or CSV file is
    /// converted.
    public static var maxDatasetBytes: Int { Int(clamping: ProcessInfo.processInfo.physicalMemory / 2) }
    /// Bytes of one line of a CSV data file: room for a row of `maxImagePixels` values of up to 7
    /// characters each.
    public static let maxLineBytes = 1 << 27
    /// Folder levels searched below a class folder of an image folder (torchvision walks them
    /// all; the bound stops a symbolic-link loop).
    public static let maxFolderDepth = 16
    /// Bytes of one batch of float32 images: a sixteenth of this machine's memory.
    public static var maxBatchBytes: Int { Int(clamping: ProcessInfo.processInfo.physicalMemory / 16) }

    /// Bytes the teacher's cached outputs on a non-augmented transfer set may take
    /// (`TeacherFeatureCache`: logits and every tapped feature, float32, for every row): 2 GiB, or
    /// an eighth of this machine's memory when that is less. `DISTILL_TEACHER_CACHE_BYTES` (a
    /// count) sets it; 0 turns the cache off, so the teacher runs on every batch.
    public static var teacherCacheBytes: Int {
        if let v = ProcessInfo.processInfo.environment["DISTILL_TEACHER_CACHE_BYTES"], let n = Int(v), n >= 0 { return n }
        return min(2 << 30, Int(clamping: ProcessInfo.processInfo.physicalMemory / 8))
    }

    /// A byte count for messages: "1.5 GB" (a Double, so counts past `Int` can be described).
    public static func describe(bytes: Double) -> String {
        bytes >= 1e9 ? String(format: "%.1f GB", bytes / 1e9) : String(format: "%.1f MB", bytes / 1e6)
    }
    public static func describe(bytes: Int) -> String { describe(bytes: Double(bytes)) }

    /// Kernel threads: 8 per core this process may run on, at least 16 (more only queue on the
    /// cores, and OpenMP fails outright at tens of thousands).
    public static var maxThreads: Int { Threads.maxCount }
}
