import ArgumentParser
import DistillCore
import DistillNN
import DistillData
import DistillExport
import Distill
import Foundation

/// `distill export`: a model file to ONNX, for serving outside Swift (onnxruntime and friends).
struct Export: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Export a model file to ONNX (eval mode, dynamic batch, parameters as named initializers, the model's input normalisation inside the graph).")

    @Option(help: "A model.safetensors (a student written by `distill`, or a PyTorch checkpoint with --model).") var checkpoint: String
    @Option(help: "Model spec; defaults to the one recorded in the file.") var model: String?
    @Option(help: "Output format (onnx).") var format = "onnx"
    @Option(help: "Where to write the exported model, e.g. student.onnx.") var out: String
    @Option(name: .customLong("input-shape"), help: "C×H×W the model takes, e.g. 1x28x28 (default: recorded in the file); for the text models (bilstm, transformer) the sequence length T, exported fixed.") var inputShape: String?
    @Option(name: .customLong("classes"), help: "Class count (default: recorded in the file).") var classes: Int?

    func run() throws {
        try reportingErrors {
            guard format == "onnx" else { throw TrainingError.badValue(field: "format", value: format, expected: "onnx") }
            let file = try ModelFile.read(checkpoint, model: model)
            let text = ModelZoo.textFamilies.contains(ModelZoo.family(of: file.spec))
            let shape = try inputShape.map { try text ? [Self.parseLength($0)] : Predict.parseShape($0) } ?? file.inputShape
            guard let shape, shape.count == (text ? 1 : 3) else {
                throw TrainingError.checkpointMismatch(path: checkpoint, detail: text
                    ? "records no sequence length; pass --input-shape T (the token count the exported graph takes), e.g. --input-shape 64"
                    : "records no input shape (files written by PyTorch have none); pass --input-shape C×H×W, e.g. --input-shape 1x28x28")
            }
            guard let k = classes ?? file.classCount, (1...Limits.maxDimension).contains(k) else {
                throw TrainingError.checkpointMismatch(path: checkpoint, detail: "records no class count; pass --classes N")
            }
            let input = text ? ModelInput.tokens(classes: k) : ModelInput(channels: shape[0], height: shape[1], width: shape[2], classes: k)
            let (net, note) = try file.module(input: input)
            if let note { FileHandle.standardError.write(Data("note: \(note)\n".utf8)) }
            var meta = file.metadata.filter { ["model", "data", "class_names", InputNormalization.metadataKey].contains($0.key) }
            meta["model"] = file.spec
            meta["classes"] = "\(k)"
            meta["input_shape"] = shape.map(String.init).joined(separator: "x")
            meta["producer_version"] = DistillVersion.string
            do {
                try ONNXExporter(model: net, inputShape: shape, metadata: meta).write(to: out)
            } catch let e as ExportError {
                throw TrainingError.checkpointMismatch(path: checkpoint, detail: "\(e)")
            }
            print("wrote \(out): \(file.spec), \(k) classes, input [batch, \(shape.map(String.init).joined(separator: ", "))], ONNX opset \(ONNXExporter.opset)")
        }
    }

    static func parseLength(_ s: String) throws -> Int {
        guard let t = Int(s), (1...Limits.maxDimension).contains(t) else {
            throw TrainingError.badValue(field: "input-shape", value: s, expected: "the sequence length of a text model, a positive integer, e.g. 64")
        }
        return t
    }
}
