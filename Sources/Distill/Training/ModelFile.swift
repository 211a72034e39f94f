import DistillCore
import DistillData
import DistillNN
import Foundation

/// A model file (safetensors with PyTorch names): the one loader behind every command and
/// experiment that reads a model — `eval`, `compare`, teachers of `distill` and experiment files.
///
/// Files written by the tool describe themselves in their metadata (`ModelFile.metadata`): the
/// model spec (`model`), the data it was trained on (`data`), the class count (`classes`), the
/// input shape (`input_shape`, C×H×W), the class names (`class_names`, a JSON array) and the input
/// transform (`input_transform`, `none` or `normalize:MEANS:STDS`). Loading refuses data the model
/// was not trained for (another class count, input shape or set of class names) and applies the
/// input transform wherever the model runs. Files from PyTorch carry none of it: the spec comes
/// from `--model`, and wrapper prefixes (`module.` of DistributedDataParallel) are removed.
/// Files that are not safetensors (torch.save zip or pickle, NumPy arrays, HDF5) and training
/// checkpoints are recognised and refused with what to do instead.
public struct ModelFile {
    public let path: String
    public let spec: String
    public let metadata: [String: String]
    public let tensors: [String: Tensor]

    /// What the tool writes in every model file besides `input_transform` (which `Module.save` adds).
    public static func metadata(spec: String, data: String, dataset: Dataset) -> [String: String] {
        var m = ["model": spec, "data": data, "classes": "\(dataset.classCount)",
                 "input_shape": dataset.imageShape.map(String.init).joined(separator: "x"),
                 "producer": "swift-distill \(DistillVersion.string)"]
        if let names = dataset.classNames, let json = try? JSONEncoder().encode(names) {
            m["class_names"] = String(decoding: json, as: UTF8.self)
        }
        return m
    }

    /// Reads `path`; `model` overrides (or supplies) the spec, and `modelFlag` is the option a
    /// user passes it with, named in the error when neither is there.
    public static func read(_ path: String, model: String? = nil, modelFlag: String = "--model") throws -> ModelFile {
        try refuseOtherFormats(path)
        let file = try SafeTensors.read(from: path)
        if let f = file.metadata["format"], f.hasPrefix("swift-distill-checkpoint") {
            let beside = (path as NSString).deletingLastPathComponent
            let model = (beside.isEmpty ? "." : beside) + "/model.safetensors"
            throw TrainingError.checkpointMismatch(path: path, detail: "is a training checkpoint (the resumable state of a run: every member's weights, the optimizer state and the counters), not a model file; the run's model is "
                + (FileManager.default.fileExists(atPath: model) ? model : "model.safetensors in the run directory"))
        }
        return try ModelFile(path: path, file: file, model: model, modelFlag: modelFlag)
    }

    /// The model file `file` read from `path` (what `read` does after reading and sniffing).
    public init(path: String, file: SafeTensors, model: String? = nil, modelFlag: String = "--model") throws {
        guard let spec = model ?? file.metadata["model"] else {
            throw TrainingError.checkpointMismatch(path: path, detail: "records no model spec (files written by PyTorch have none); pass \(modelFlag) SPEC, e.g. \(modelFlag) resnet20 (see distill models)")
        }
        self.path = path; self.spec = spec; metadata = file.metadata; tensors = file.tensors
    }

    /// The class count the file records (nil for files without it).
    public var classCount: Int? { metadata["classes"].flatMap { Int($0) } }
    /// The input shape [C, H, W] the file records.
    public var inputShape: [Int]? {
        guard let s = metadata["input_shape"] else { return nil }
        let dims = s.split(separator: "x").compactMap { Int($0) }
        return dims.isEmpty ? nil : dims
    }
    /// The class names the file records.
    public var classNames: [String]? {
        metadata["class_names"].flatMap { try? JSONDecoder().decode([String].self, from: Data($0.utf8)) }
    }
    /// The input transform the file records (nil: none, or not recorded).
    public func normalization() throws -> InputNormalization? {
        guard let t = metadata[InputNormalization.metadataKey] else { return nil }
        do { return try InputNormalization.parse(t) } catch {
            throw TrainingError.checkpointMismatch(path: path, detail: "metadata '\(InputNormalization.metadataKey)': \(error)")
        }
    }

    /// Throws unless `dataset` is data this model was trained for: the class count, input shape
    /// and class names it records (where it records them) must be the data set's.
    public func check(fits dataset: Dataset, data: String) throws {
        if let c = classCount, c != dataset.classCount {
            throw TrainingError.checkpointMismatch(path: path, detail: "is a model of \(c) classes (trained on \(metadata["data"] ?? "other data")); \(data) has \(dataset.classCount)")
        }
        if let s = inputShape, s != dataset.imageShape {
            throw TrainingError.checkpointMismatch(path: path, detail: "takes inputs \(s.map(String.init).joined(separator: "×")) (trained on \(metadata["data"] ?? "other data")); the images of \(data) are \(dataset.imageShape.map(String.init).joined(separator: "×"))")
        }
        if let mine = classNames, let theirs = dataset.classNames, mine != theirs {
            throw TrainingError.checkpointMismatch(path: path, detail: "was trained on the classes \(Self.brief(mine)) (\(metadata["data"] ?? "other data")), but the classes of \(data) are \(Self.brief(theirs)): a model of other data with the same shape")
        }
    }

    static func brief(_ names: [String]) -> String {
        names.count <= 6 ? names.joined(separator: ", ") : names.prefix(5).joined(separator: ", ") + ", … (\(names.count))"
    }

    /// The model built from the spec for `input`, with the file's weights and input transform;
    /// `note` says when a wrapper prefix was removed from the keys.
    public func module(input: ModelInput) throws -> (module: Module, note: String?) {
        let m = try ModelZoo.make(spec, input: input)
        let (state, prefix) = m.strippingWrapperPrefix(tensors)
        if let mismatch = StateDictMismatch.between(expected: m.expectedStateShapes(), state: state.mapValues(\.shape)) {
            let source = metadata["model"] == spec ? "its recorded model \(spec)" : "the model \(spec)"
            throw TrainingError.checkpointMismatch(path: path, detail: "does not match \(source): \(mismatch)")
        }
        try m.loadStateDict(state)
        let norm = try normalization()
        if let norm {
            do { try norm.check(channels: input.channels) } catch {
                throw TrainingError.checkpointMismatch(path: path, detail: "\(error)")
            }
        }
        m.inputNormalization = norm
        return (m, prefix.map { "\(path): removed the prefix '\($0)' from every key (DataParallel and DistributedDataParallel save models so)" })
    }

    /// Reads the model at `path` for `dataset` (named `data` in errors), checking that it fits.
    public static func load(_ path: String, for dataset: Dataset, data: String, model: String? = nil,
                            modelFlag: String = "--model", notes: ((String) -> Void)? = nil) throws -> Module {
        let file = try read(path, model: model, modelFlag: modelFlag)
        try file.check(fits: dataset, data: data)
        let (m, note) = try file.module(input: DataSpec.modelInput(for: dataset))
        if let note { notes?(note) }
        return m
    }

    /// Recognises files that are not safetensors by their first bytes, and says how to convert them.
    static func refuseOtherFormats(_ path: String) throws {
        guard let h = FileHandle(forReadingAtPath: path) else { return }   // SafeTensors.read names the error
        let head = [UInt8]((try? h.read(upToCount: 8)) ?? Data())
        try? h.close()
        let convert = "convert a PyTorch state dict with: python3 -c \"import torch; from safetensors.torch import save_file; "
            + "sd = torch.load('\(path)', map_location='cpu'); sd = sd.get('state_dict', sd) if isinstance(sd, dict) else sd.state_dict(); "
            + "save_file({k: v.float().contiguous() for k, v in sd.items()}, 'model.safetensors')\" (pip install safetensors), then pass --model SPEC"
        if head.starts(with: [0x50, 0x4B, 0x03, 0x04]) {
            throw TrainingError.checkpointMismatch(path: path, detail: "is a zip archive — a PyTorch file written by torch.save (.pt, .pth, .th) or a NumPy .npz — not a safetensors model file; \(convert)")
        }
        if head.count >= 2 && head[0] == 0x80 && (2...5).contains(head[1]) {
            throw TrainingError.checkpointMismatch(path: path, detail: "is a Python pickle (torch.save's legacy format, or pickle.dump), not a safetensors model file; \(convert)")
        }
        if head.starts(with: [0x93] + Array("NUMPY".utf8)) {
            throw TrainingError.checkpointMismatch(path: path, detail: "is a NumPy array, not a model file (precomputed teacher logits are passed with --teacher-logits)")
        }
        if head.starts(with: [0x89] + Array("HDF".utf8)) {
            throw TrainingError.checkpointMismatch(path: path, detail: "is an HDF5 file (a Keras .h5 model?), not a safetensors model file")
        }
    }
}

/// The version of the tool (`distill --version`, and `producer` in model files).
public enum DistillVersion {
    public static let string = "0.9.0"
}
