import ArgumentParser
import DistillNN
import Foundation

struct Models: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "List the model families with an example spec and its parameter count.",
        discussion: "With specs (distill models cnn:8x16x32,fc=64,bn=1 resnet20), prints the parameter count of each instead.")

    @Argument(help: "Model specs to count instead of listing the families.") var specs: [String] = []

    @Option(help: "Input shape C,H,W for the parameter counts.") var input = "1,28,28"
    @Option var classes = 10

    /// Token input for the text families, the given image shape for the others.
    static func input(_ spec: String, images: ModelInput) -> ModelInput {
        ModelZoo.textFamilies.contains(ModelZoo.family(of: spec)) ? .tokens(classes: images.classes) : images
    }

    func run() throws {
        try reportingErrors {
            let dims = input.split(separator: ",").compactMap { Int($0) }
            guard dims.count == 3, dims.allSatisfy({ $0 > 0 }) else {
                throw ModelError.badOption(model: "models", option: "input", detail: "expects C,H,W, got '\(input)'")
            }
            let shape = ModelInput(channels: dims[0], height: dims[1], width: dims[2], classes: classes)
            if !specs.isEmpty {
                for spec in specs { print("\(spec)  \(try ModelZoo.make(spec, input: Models.input(spec, images: shape)).parameterCount())") }
                return
            }
            print("model".padding(toLength: 24, withPad: " ", startingAt: 0) + "parameters".padding(toLength: 13, withPad: " ", startingAt: 0) + "description")
            for e in ModelZoo.entries {
                let count: String
                do { count = String(try ModelZoo.make(e.example, input: Models.input(e.example, images: shape)).parameterCount()) } catch { count = "n/a" }
                print(e.example.padding(toLength: 24, withPad: " ", startingAt: 0) + count.padding(toLength: 13, withPad: " ", startingAt: 0) + e.summary)
            }
        }
    }
}
