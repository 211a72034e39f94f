import DistillCore
import DistillNN
import Foundation

/// Why a model could not be exported; each case names the op, the module path it ran in and
/// the shapes involved.
public enum ExportError: Error, CustomStringConvertible, Equatable {
    /// An op the ONNX writer has no rule for (or not in the form it ran).
    case unsupported(op: String, module: String?, reason: String)
    /// The model's output does not depend on its input (nothing was recorded).
    case outputNotTraced(shape: [Int])
    /// A tape leaf that is neither the input nor a registered parameter of the model.
    case unknownLeaf(shape: [Int], module: String?)
    /// The example input shape does not fit the model.
    case badInputShape([Int], reason: String)
    /// A parameter or buffer holding NaN or infinity (a diverged run): the file would be wrong.
    case nonFinite(path: String)

    public var description: String {
        func inModule(_ m: String?) -> String { m.map { " in module '\($0)'" } ?? " in the model's own forward" }
        switch self {
        case let .unsupported(op, module, reason):
            return "ONNX export: op '\(op)'\(inModule(module)) \(reason)"
        case let .outputNotTraced(shape):
            return "ONNX export: the model's output \(Shape.describe(shape)) does not depend on its input, so there is no graph to export"
        case let .unknownLeaf(shape, module):
            return "ONNX export: a trainable tensor \(Shape.describe(shape))\(inModule(module)) is not a registered parameter of the model (register it, or the exported graph could not name it)"
        case let .badInputShape(shape, reason):
            return "ONNX export: input shape \(Shape.describe(shape)) \(reason)"
        case let .nonFinite(path):
            return "ONNX export: '\(path)' holds NaN or infinite values (a diverged run?); nothing was written"
        }
    }
}

/// Exports a model to ONNX by tracing what it computes: one eval-mode forward of an example batch
/// is recorded on the tape (`Trace.capture`), and every recorded op becomes ONNX nodes by the
/// rules of `ONNXGraphBuilder` — layers' forwards and the inline activations, poolings and
/// reshapes of models alike. There is no table per model: an op without a rule throws naming
/// the op and the module path it ran in (`ExportError.unsupported`).
///
/// The graph: input `input` [batch, C, H, W] (symbolic `batch`), output `logits` [batch, classes];
/// parameters and buffers are initializers under their state-dict names (`layer1.0.conv1.weight`,
/// `bn1.running_mean`), batch norm is `BatchNormalization` with the running statistics, dropout is
/// absent (eval mode), and a model's `inputNormalization` is the graph's first Mul and Add.
/// Opset 13 (IR version 7): accepted by onnx ≥ 1.8, Debian's python3-onnx 1.12 and onnxruntime.
public struct ONNXExporter {
    public static let opset = 13
    public static let irVersion = 7
    /// The batch size of the trace. Reshapes must keep it on axis 0 (exported as 0, "copy").
    public static let traceBatch = 3

    public let model: Module
    /// The shape of one example, e.g. [1, 28, 28].
    public let inputShape: [Int]
    /// Written to the model's metadata_props (model spec, classes, input shape, …), sorted by key.
    public let metadata: [String: String]

    public init(model: Module, inputShape: [Int], metadata: [String: String] = [:]) {
        self.model = model; self.inputShape = inputShape; self.metadata = metadata
    }

    /// Traces the model in eval mode (its train/eval flags are restored afterwards) and builds the
    /// ONNX model.
    public func export() throws -> ONNX.Model {
        guard !inputShape.isEmpty, inputShape.allSatisfy({ (1...Limits.maxDimension).contains($0) }),
              inputShape.reduce(1, *) <= Limits.maxImagePixels else {
            throw ExportError.badInputShape(inputShape, reason: "is not a list of positive sizes")
        }
        for (path, p) in model.namedParameters() where !p.value.allFinite { throw ExportError.nonFinite(path: path) }
        for (path, b) in model.namedBuffers() where !b.value.allFinite { throw ExportError.nonFinite(path: path) }
        let modes = model.namedModules().map { ($0.module, $0.module.isTraining) }
        defer { for (m, on) in modes { m.train(on) } }
        model.eval()
        var names: [ObjectIdentifier: String] = [:]
        for (path, m) in model.namedModules() { names[ObjectIdentifier(m)] = (path.isEmpty ? "" : path + " ") + "(\(type(of: m)))" }
        // zeros: a valid input for every model (token ids included); the graph does not depend on values
        let x = Tensor.zeros([Self.traceBatch] + inputShape).requiringGradient()
        let y = Trace.capture(scopeNames: names) { model(x) }
        guard let root = y.node, root !== x.node else { throw ExportError.outputNotTraced(shape: y.shape) }
        var builder = ONNXGraphBuilder(input: x.node!, batch: Self.traceBatch, named: model.namedParameters().map { ($0.path, $0.parameter.value) }
                                       + model.namedBuffers().map { ($0.path, $0.buffer.value) })
        for n in root.tracedOrder() where !n.isLeaf { try builder.add(n) }
        let out = try builder.value(of: y, scope: nil)
        builder.emit("Identity", [out], output: "logits", scope: nil)
        return ONNX.Model(graphName: "distill", nodes: builder.nodes, initializers: builder.initializers,
                          inputs: [.init(name: "input", dims: [.symbol("batch")] + inputShape.map { .size($0) })],
                          outputs: [.init(name: "logits", dims: [.symbol("batch")] + y.shape.dropFirst().map { .size($0) })],
                          opset: Self.opset, irVersion: Self.irVersion, producer: "swift-distill",
                          producerVersion: metadata["producer_version"] ?? "", docString: "exported by distill export (eval mode)",
                          metadata: metadata.sorted { $0.key < $1.key }.map { ($0.key, $0.value) })
    }

    /// Exports and writes the file at `path`.
    public func write(to path: String) throws {
        let bytes = try export().serialized()
        try Data(bytes).write(to: URL(fileURLWithPath: path))
    }
}
