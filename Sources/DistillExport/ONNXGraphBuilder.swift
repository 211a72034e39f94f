import DistillCore

/// Turns traced tape nodes into ONNX nodes, one rule per `OpName` (opset 13).
///
/// Values are named `input` (the example input's leaf), by state-dict path (leaves and constants
/// that are a registered parameter or buffer, same storage and shape), `const.K` (any other
/// constant: the input normalisation's scale and shift, scalars of inline arithmetic) or `tK`
/// (op results). Shapes that mention the batch use ONNX's 0 ("copy this axis") so that the graph
/// runs at any batch size; an op that would bake the trace's batch size in throws.
struct ONNXGraphBuilder {
    private(set) var nodes: [ONNX.Node] = []
    private(set) var initializers: [ONNX.TensorValue] = []
    private let inputNode: GradNode
    private let batch: Int
    /// Registered tensors by storage identity: (path, shape).
    private let registered: [ObjectIdentifier: (path: String, shape: [Int])]
    private var values: [ObjectIdentifier: String] = [:]
    /// Nodes whose value depends on the input, so carry the (dynamic) batch on axis 0.
    private var batched = Set<ObjectIdentifier>()
    private var constants: [String: String] = [:]
    private var emitted = Set<String>()
    private var counter = 0

    init(input: GradNode, batch: Int, named: [(String, Tensor)]) {
        inputNode = input; self.batch = batch
        var r: [ObjectIdentifier: (String, [Int])] = [:]
        for (path, t) in named where r[ObjectIdentifier(t.storage)] == nil { r[ObjectIdentifier(t.storage)] = (path, t.shape) }
        registered = r
    }

    // MARK: values

    /// The ONNX value name of an operand: the input, an earlier result, a parameter or a constant.
    mutating func value(of t: Tensor, scope: String?) throws -> String {
        if let n = t.node {
            if n === inputNode { return "input" }
            if let v = values[ObjectIdentifier(n)] { return v }
            guard n.isLeaf else { throw ExportError.unsupported(op: n.op?.rawValue ?? "?", module: scope, reason: "was recorded outside the trace") }
            guard let name = initializer(t) else { throw ExportError.unknownLeaf(shape: t.shape, module: scope) }
            return name
        }
        return initializer(t) ?? constant(t)
    }

    /// Whether `t` depends on the input (and so has the batch on axis 0).
    private func carriesBatch(_ t: Tensor) -> Bool {
        guard let n = t.node else { return false }
        return n === inputNode || batched.contains(ObjectIdentifier(n))
    }

    /// The registered parameter or buffer `t` is (same storage and shape), added once.
    private mutating func initializer(_ t: Tensor) -> String? {
        guard let (path, shape) = registered[ObjectIdentifier(t.storage)], shape == t.shape else { return nil }
        if emitted.insert(path).inserted { initializers.append(.init(name: path, dims: t.shape, floats: t.scalars)) }
        return path
    }

    /// A constant made inside a forward. One of the trace's batch size whose rows are all equal (an
    /// LSTM's zero initial state [N, H]) is written with axis 0 of size 1, so it broadcasts over any
    /// batch instead of fixing it.
    private mutating func constant(_ t: Tensor) -> String {
        let batch = batch
        return interned("\(ObjectIdentifier(t.storage)):\(t.shape)") { name in
            var dims = t.shape, values = t.scalars
            if t.rank >= 2, dims[0] == batch, batch > 1 {
                let row = values.count / batch
                if (1..<batch).allSatisfy({ values[($0 * row)..<($0 * row + row)] == values[0..<row] }) {
                    dims[0] = 1; values = Array(values[0..<row])
                }
            }
            return .init(name: name, dims: dims, floats: values)
        }
    }

    private mutating func scalar(_ v: Float) -> String {
        interned("scalar:\(v.bitPattern)") { .init(name: $0, dims: [], floats: [v]) }
    }

    private mutating func int64s(_ v: [Int]) -> String {
        interned("int64:\(v)") { .init(name: $0, dims: [v.count], int64s: v) }
    }

    /// The initializer `const.K` made once per `key`.
    private mutating func interned(_ key: String, _ make: (String) -> ONNX.TensorValue) -> String {
        if let name = constants[key] { return name }
        let name = "const.\(constants.count)"
        constants[key] = name
        initializers.append(make(name))
        return name
    }

    /// Appends a node and returns its output's name (`output`, or a fresh `tK`).
    @discardableResult
    mutating func emit(_ op: String, _ inputs: [String], output: String? = nil, scope: String?, _ attributes: [ONNX.Attribute] = []) -> String {
        counter += 1
        let out = output ?? "t\(counter)"
        let prefix = scope.map { ($0.split(separator: " ").first.map(String.init) ?? "") + "/" } ?? ""
        nodes.append(ONNX.Node(op, inputs, [out], name: "\(prefix)\(op)_\(counter)", attributes))
        return out
    }

    // MARK: rules

    /// Emits the ONNX nodes of one traced op node.
    mutating func add(_ n: GradNode) throws {
        guard let op = n.op else { return }
        guard let trace = n.trace else {
            throw ExportError.unsupported(op: op.rawValue, module: nil, reason: "was recorded without a trace")
        }
        let scope = trace.scope
        let a = trace.attributes
        let ins = try trace.operands.map { try value(of: $0, scope: scope) }
        let shapes = trace.operands.map(\.shape)
        func fail(_ reason: String) -> ExportError { .unsupported(op: op.rawValue, module: scope, reason: reason) }
        func ints(_ k: String) throws -> [Int] { guard let v = a[k]?.ints else { throw fail("recorded no '\(k)'") }; return v }
        func int(_ k: String) throws -> Int { guard let v = a[k]?.int else { throw fail("recorded no '\(k)'") }; return v }
        func float(_ k: String) throws -> Float { guard let v = a[k]?.float else { throw fail("recorded no '\(k)'") }; return v }
        func flag(_ k: String) throws -> Bool { guard let v = a[k]?.bool else { throw fail("recorded no '\(k)'") }; return v }
        let carries = trace.operands.map(carriesBatch)
        func notBatch(_ axis: Int) throws {
            if axis == 0 && carries.contains(true) { throw fail("acts on the batch axis of \(Shape.describe(shapes[0])), which the exported graph leaves dynamic") }
        }
        let out: String
        switch op {
        case .add, .subtract, .multiply, .divide:
            let names: [OpName: String] = [.add: "Add", .subtract: "Sub", .multiply: "Mul", .divide: "Div"]
            out = emit(names[op]!, ins, scope: scope)
        case .negate, .exp, .log, .sqrt, .abs, .sigmoid, .tanh, .relu, .erf, .softplus:
            let names: [OpName: String] = [.negate: "Neg", .exp: "Exp", .log: "Log", .sqrt: "Sqrt", .abs: "Abs", .sigmoid: "Sigmoid",
                                           .tanh: "Tanh", .relu: "Relu", .erf: "Erf", .softplus: "Softplus"]
            out = emit(names[op]!, ins, scope: scope)
        case .leakyRelu:
            out = emit("LeakyRelu", ins, scope: scope, [.float("alpha", try float("slope"))])
        case .gelu:
            // x · 0.5 · (1 + erf(x / √2)), the exact form the engine computes (Gelu is opset 20)
            let e = emit("Erf", [emit("Mul", [ins[0], scalar(0.70710678118654752)], scope: scope)], scope: scope)
            let half = emit("Mul", [ins[0], scalar(0.5)], scope: scope)
            out = emit("Mul", [half, emit("Add", [e, scalar(1)], scope: scope)], scope: scope)
        case .pow:
            out = emit("Pow", [ins[0], scalar(try float("exponent"))], scope: scope)
        case .clamp:
            let lo = try float("min"), hi = try float("max")
            out = emit("Clip", [ins[0], lo.isFinite ? scalar(lo) : "", hi.isFinite ? scalar(hi) : ""], scope: scope)
        case .sum:
            let axes = try ints("axes")
            out = axes.isEmpty ? emit("Identity", ins, scope: scope)
                : emit("ReduceSum", [ins[0], int64s(axes)], scope: scope, [.int("keepdims", try flag("keepDims") ? 1 : 0)])
        case .max:
            out = emit("ReduceMax", ins, scope: scope, [.ints("axes", [try int("axis")]), .int("keepdims", try flag("keepDims") ? 1 : 0)])
        case .softmax, .logSoftmax:
            out = emit(op == .softmax ? "Softmax" : "LogSoftmax", ins, scope: scope, [.int("axis", try int("axis"))])
        case .reshape:
            let target = try ints("shape")
            if !carries[0] {
                values[ObjectIdentifier(n)] = emit("Reshape", [ins[0], int64s(target)], scope: scope)
                return
            }
            guard let first = target.first, shapes[0].first == batch, first == batch else {
                throw fail("reshapes \(Shape.describe(shapes[0])) into \(Shape.describe(target)), changing the batch axis (the exported graph keeps axis 0 as the dynamic batch)")
            }
            out = emit("Reshape", [ins[0], int64s([0] + target.dropFirst())], scope: scope)
        case .permute:
            let axes = try ints("axes")
            if axes.first != 0 && carries[0] { throw fail("moves the batch axis (permutation \(axes))") }
            out = emit("Transpose", ins, scope: scope, [.ints("perm", axes)])
        case .expand:
            let target = try ints("shape")
            if !carries[0] {
                values[ObjectIdentifier(n)] = emit("Expand", [ins[0], int64s(target)], scope: scope)
                return
            }
            guard target.count == shapes[0].count, target.first == batch, shapes[0].first == batch else {
                throw fail("broadcasts \(Shape.describe(shapes[0])) to \(Shape.describe(target)) across the batch axis")
            }
            out = emit("Expand", [ins[0], int64s([1] + target.dropFirst())], scope: scope)
        case .slice:
            let axis = try int("axis"), start = try int("start")
            try notBatch(axis)
            out = emit("Slice", [ins[0], int64s([start]), int64s([start + (try int("length"))]), int64s([axis])], scope: scope)
        case .pad:
            let axis = try int("axis"), r = shapes[0].count
            try notBatch(axis)
            var pads = [Int](repeating: 0, count: 2 * r)
            pads[axis] = try int("before"); pads[r + axis] = try int("after")
            out = emit("Pad", [ins[0], int64s(pads), scalar(try float("value"))], scope: scope)
        case .concat:
            let axis = try int("axis")
            try notBatch(axis)
            out = emit("Concat", ins, scope: scope, [.int("axis", axis)])
        case .stack:
            let axis = try int("axis")
            try notBatch(axis)
            let parts = ins.map { emit("Unsqueeze", [$0, int64s([axis])], scope: scope) }
            out = emit("Concat", parts, scope: scope, [.int("axis", axis)])
        case .matmul:
            let ta = try flag("transposeA"), tb = try flag("transposeB")
            if shapes[0].count == 2 && shapes[1].count == 2 {
                out = emit("Gemm", ins, scope: scope, [.int("transA", ta ? 1 : 0), .int("transB", tb ? 1 : 0)])
            } else {
                func swapLast(_ v: String, rank: Int) -> String {
                    emit("Transpose", [v], scope: scope, [.ints("perm", Array(0..<(rank - 2)) + [rank - 1, rank - 2])])
                }
                let lhs = ta ? swapLast(ins[0], rank: shapes[0].count) : ins[0]
                let rhs = tb ? swapLast(ins[1], rank: shapes[1].count) : ins[1]
                out = emit("MatMul", [lhs, rhs], scope: scope)
            }
        case .conv2d:
            let w = shapes[1], pad = try ints("padding")
            out = emit("Conv", ins, scope: scope, [.ints("kernel_shape", [w[2], w[3]]), .ints("strides", try ints("stride")),
                                                   .ints("pads", pad + pad), .ints("dilations", try ints("dilation")),
                                                   .int("group", try int("groups"))])
        case .maxPool2d:
            let pad = try ints("padding")
            out = emit("MaxPool", ins, scope: scope, [.ints("kernel_shape", try ints("kernel")), .ints("strides", try ints("stride")), .ints("pads", pad + pad)])
        case .avgPool2d:
            let pad = try ints("padding")
            out = emit("AveragePool", ins, scope: scope, [.ints("kernel_shape", try ints("kernel")), .ints("strides", try ints("stride")),
                                                          .ints("pads", pad + pad), .int("count_include_pad", try flag("countIncludePad") ? 1 : 0)])
        case .adaptiveAvgPool2d:
            let size = try ints("outputSize"), h = shapes[0][2], w = shapes[0][3]
            if size == [1, 1] {
                out = emit("GlobalAveragePool", ins, scope: scope)
            } else if h % size[0] == 0 && w % size[1] == 0 {
                let k = [h / size[0], w / size[1]]
                out = emit("AveragePool", ins, scope: scope, [.ints("kernel_shape", k), .ints("strides", k)])
            } else {
                throw fail("pools \(h)×\(w) to \(size[0])×\(size[1]), windows of unequal size that ONNX's AveragePool cannot express")
            }
        case .batchNorm:
            if try flag("training") { throw fail("ran in training mode (batch statistics)") }
            guard let mean = a["runningMean"]?.tensor, let variance = a["runningVar"]?.tensor else { throw fail("recorded no running statistics") }
            let c = shapes[0][1]
            var k = 1
            let scale = try flag("hasWeight") ? ins[k] : constant(Tensor.ones([c]))
            if try flag("hasWeight") { k += 1 }
            let shift = try flag("hasBias") ? ins[k] : constant(Tensor.zeros([c]))
            out = emit("BatchNormalization", [ins[0], scale, shift, try value(of: mean, scope: scope), try value(of: variance, scope: scope)],
                       scope: scope, [.float("epsilon", try float("eps"))])
        case .embedding:
            guard let ids = a["ids"]?.tensor, carriesBatch(ids) else {
                throw fail("looks up indices that are not read from the model's input on the tape (pass token ids as a Float tensor to Embedding(tokens:))")
            }
            let index = emit("Cast", [try value(of: ids, scope: scope)], scope: scope, [.int("to", ONNX.DataType.int64.rawValue)])
            out = emit("Gather", [ins[0], index], scope: scope, [.int("axis", 0)])
            batched.insert(ObjectIdentifier(n))
        case .dropout:
            throw fail("ran in training mode; export evaluates the model (dropout is the identity there)")
        default:
            throw fail("has no ONNX export rule (shapes \(shapes.map { Shape.describe($0) }.joined(separator: ", ")))")
        }
        values[ObjectIdentifier(n)] = out
        if carries.contains(true) { batched.insert(ObjectIdentifier(n)) }
    }
}
