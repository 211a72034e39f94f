import ArgumentParser
import DistillCore
import DistillNN
import DistillData
import Distill
import Foundation

struct Predict: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Classify images with a model file: PNG/JPEG files, folders of them, or .npy arrays; prints the top classes and their probabilities.")

    @Option(help: "A model.safetensors.") var checkpoint: String
    @Option(help: "Model spec; defaults to the one recorded in the file.") var model: String?
    @Option(name: .customLong("input-shape"), help: "C×H×W the model takes, e.g. 1x28x28 (default: recorded in the file).") var inputShape: String?
    @Option(name: .customLong("classes"), help: "Class count (default: recorded in the file).") var classes: Int?
    @Option(help: "How many classes to print per image.") var top = 3
    @Flag(help: "Print JSON lines.") var json = false
    @Argument(help: "Images (.png, .jpg), folders of them, or .npy arrays of images.") var inputs: [String]

    func run() throws {
        try reportingErrors {
            guard !inputs.isEmpty else { throw TrainingError.badValue(field: "inputs", value: "", expected: "at least one image, folder or .npy file") }
            let file = try ModelFile.read(checkpoint, model: model)
            let shape = try inputShape.map(Self.parseShape) ?? file.inputShape
            guard let shape, shape.count == 3 else {
                throw TrainingError.checkpointMismatch(path: checkpoint, detail: "records no input shape (files written by PyTorch have none); pass --input-shape C×H×W, e.g. --input-shape 1x28x28")
            }
            guard let k = classes ?? file.classCount, (1...Limits.maxDimension).contains(k) else {
                throw TrainingError.checkpointMismatch(path: checkpoint, detail: "records no class count; pass --classes N")
            }
            guard (1...1000).contains(top) else { throw TrainingError.badValue(field: "top", value: "\(top)", expected: "an integer in 1…1000") }
            let (net, note) = try file.module(input: ModelInput(channels: shape[0], height: shape[1], width: shape[2], classes: k))
            if let note { FileHandle.standardError.write(Data("note: \(note)\n".utf8)) }
            net.eval()
            let names = file.classNames.flatMap { $0.count == k ? $0 : nil } ?? (0..<k).map(String.init)
            let items = try ImageInputs.load(inputs, channels: shape[0])
            for item in items where Array(item.image.shape.dropFirst()) != [shape[1], shape[2]] {
                throw TrainingError.badValue(field: "input", value: item.name, expected: "an image of \(shape[1])×\(shape[2]) pixels, the model's input (it is \(item.image.shape[1])×\(item.image.shape[2]); resize it first)")
            }
            for start in stride(from: 0, to: items.count, by: 256) {
                let batch = Array(items[start..<min(start + 256, items.count)])
                let x = Tensor.concatenated(batch.map { Tensor(storage: $0.image.storage, shape: [1] + $0.image.shape) }, alongAxis: 0)
                let logits = withoutGradients { net(x) }
                try Evaluation.checkFinite(logits)
                let p = logits.softmax(alongAxis: 1)
                for (i, item) in batch.enumerated() {
                    let row = Array(p.scalars[(i * k)..<((i + 1) * k)])
                    let best = row.indices.sorted { row[$0] != row[$1] ? row[$0] > row[$1] : $0 < $1 }.prefix(top)
                    if json {
                        let obj: [String: Any] = ["input": item.name, "class": names[best.first!], "index": best.first!,
                                                  "top": best.map { ["class": names[$0], "index": $0, "probability": Double(row[$0])] }]
                        print(String(decoding: try JSONSerialization.data(withJSONObject: obj, options: [.sortedKeys]), as: UTF8.self))
                    } else {
                        print("\(item.name): " + best.map { String(format: "%@ %.4f", names[$0], row[$0]) }.joined(separator: ", "))
                    }
                }
            }
        }
    }

    static func parseShape(_ s: String) throws -> [Int] {
        let dims = s.lowercased().split(separator: "x", omittingEmptySubsequences: false).map { Int($0) }
        guard dims.count == 3, dims.allSatisfy({ $0 != nil && (1...Limits.maxDimension).contains($0!) }) else {
            throw TrainingError.badValue(field: "input-shape", value: s, expected: "C×H×W as three positive integers joined by x, e.g. 1x28x28")
        }
        return dims.map { $0! }
    }
}
