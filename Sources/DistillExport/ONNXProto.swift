import DistillCore
import Foundation

/// The handful of ONNX protobuf messages an exported classifier needs, and their wire encoding.
///
/// Field numbers are those of onnx.proto (ONNX 1.x, unchanged since IR version 3): ModelProto
/// (ir_version 1, producer_name 2, producer_version 3, doc_string 6, graph 7, opset_import 8,
/// metadata_props 14), GraphProto (node 1, name 2, initializer 5, input 11, output 12), NodeProto
/// (input 1, output 2, name 3, op_type 4, attribute 5), AttributeProto (name 1, f 2, i 3, floats 7,
/// ints 8, type 20), TensorProto (dims 1, data_type 2, int64_data 7, name 8, raw_data 9),
/// ValueInfoProto (name 1, type 2), TypeProto.tensor_type 1 (elem_type 1, shape 2),
/// TensorShapeProto.dim 1 (dim_value 1, dim_param 2), OperatorSetIdProto (domain 1, version 2),
/// StringStringEntryProto (key 1, value 2). Each was checked against the descriptors of the
/// `onnx` Python package (1.23), and the tests parse every file written here with it.
///
/// Why a writer of ~150 lines rather than apple/swift-protobuf 1.39.0, by measurement on this
/// machine (2 cores): a clean debug build of the SwiftProtobuf library alone took 51 s wall
/// (37 s CPU), against 124 s for the whole of swift-distill with its tests, so +40 % on every
/// clean CI build before the generated onnx.pb.swift is compiled; generating that file also needs
/// `protoc` and the `protoc-gen-swift` plugin (about 9.5 minutes to build once, not measured here).
/// All that buys ten write-only messages over three wire types. The writer encodes a resnet20
/// (0.27 M parameters, 1.1 MB) in 0.04 s in a debug build (`ONNXExportTests.testWriterSpeed`),
/// and every file the tests write is parsed back by the `onnx` package and run by onnxruntime.
public enum ONNX {
    /// Element types of TensorProto.DataType.
    public enum DataType: Int { case float = 1, int64 = 7 }

    /// A constant tensor (an initializer): float32 stored as little-endian raw bytes, or int64.
    public struct TensorValue {
        public var name: String
        public var dims: [Int]
        public var floats: [Float]?
        public var int64s: [Int]?

        public init(name: String, dims: [Int], floats: [Float]) { self.name = name; self.dims = dims; self.floats = floats }
        public init(name: String, dims: [Int], int64s: [Int]) { self.name = name; self.dims = dims; self.int64s = int64s }

        func encode(_ w: inout ProtoWriter) {
            for d in dims { w.int(1, d) }
            w.int(2, floats != nil ? DataType.float.rawValue : DataType.int64.rawValue)
            if let ints = int64s { w.packedInts(7, ints) }
            w.string(8, name)
            if let floats {
                var bytes = [UInt8](); bytes.reserveCapacity(floats.count * 4)
                for f in floats { withUnsafeBytes(of: f.bitPattern.littleEndian) { bytes.append(contentsOf: $0) } }
                w.bytes(9, bytes)
            }
        }
    }

    /// A node attribute.
    public enum Attribute {
        case int(String, Int), ints(String, [Int]), float(String, Float)

        func encode(_ w: inout ProtoWriter) {
            switch self {
            case let .int(n, v): w.string(1, n); w.int(3, v); w.int(20, 2)
            case let .float(n, v): w.string(1, n); w.float(2, v); w.int(20, 1)
            case let .ints(n, v): w.string(1, n); for x in v { w.int(8, x) }; w.int(20, 7)
            }
        }
    }

    public struct Node {
        public var op: String, inputs: [String], outputs: [String], name: String, attributes: [Attribute]
        public init(_ op: String, _ inputs: [String], _ outputs: [String], name: String, _ attributes: [Attribute] = []) {
            self.op = op; self.inputs = inputs; self.outputs = outputs; self.name = name; self.attributes = attributes
        }

        func encode(_ w: inout ProtoWriter) {
            for i in inputs { w.string(1, i) }
            for o in outputs { w.string(2, o) }
            w.string(3, name)
            w.string(4, op)
            for a in attributes { w.message(5) { a.encode(&$0) } }
        }
    }

    /// A graph input or output: a float tensor whose dims are sizes or symbolic names.
    public struct ValueInfo {
        public enum Dim { case size(Int), symbol(String) }
        public var name: String, dims: [Dim]
        public init(name: String, dims: [Dim]) { self.name = name; self.dims = dims }

        func encode(_ w: inout ProtoWriter) {
            w.string(1, name)
            w.message(2) { type in
                type.message(1) { tensor in
                    tensor.int(1, DataType.float.rawValue)
                    tensor.message(2) { shape in
                        for d in dims {
                            shape.message(1) { dim in
                                switch d {
                                case let .size(n): dim.int(1, n)
                                case let .symbol(s): dim.string(2, s)
                                }
                            }
                        }
                    }
                }
            }
        }
    }

    public struct Model {
        public var graphName: String
        public var nodes: [Node] = []
        public var initializers: [TensorValue] = []
        public var inputs: [ValueInfo] = []
        public var outputs: [ValueInfo] = []
        public var opset: Int
        public var irVersion: Int
        public var producer: String
        public var producerVersion: String
        public var docString: String
        public var metadata: [(key: String, value: String)]

        /// The serialized ModelProto.
        public func serialized() -> [UInt8] {
            var w = ProtoWriter()
            w.int(1, irVersion)
            w.string(2, producer)
            w.string(3, producerVersion)
            w.string(6, docString)
            w.message(7) { g in
                for n in nodes { g.message(1) { n.encode(&$0) } }
                g.string(2, graphName)
                for t in initializers { g.message(5) { t.encode(&$0) } }
                for i in inputs { g.message(11) { i.encode(&$0) } }
                for o in outputs { g.message(12) { o.encode(&$0) } }
            }
            w.message(8) { $0.string(1, ""); $0.int(2, opset) }
            for (k, v) in metadata { w.message(14) { $0.string(1, k); $0.string(2, v) } }
            return w.bytes
        }
    }
}
