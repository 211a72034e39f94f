import Foundation
import XCTest
import DistillCore
@testable import DistillNN

final class SafeTensorsTests: XCTestCase {
    var dir: String!

    override func setUp() {
        dir = NSTemporaryDirectory() + "distill-nn-\(UUID().uuidString)"
        try! FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
    }

    override func tearDown() { try? FileManager.default.removeItem(atPath: dir) }

    /// Raw file bytes from a header JSON string and data bytes.
    func file(_ header: String, data: [UInt8], lengthOverride: UInt64? = nil) -> [UInt8] {
        let h = Array(header.utf8)
        var out: [UInt8] = []
        withUnsafeBytes(of: (lengthOverride ?? UInt64(h.count)).littleEndian) { out += $0 }
        return out + h + data
    }

    func testRoundTripWithAlignmentAndMetadata() throws {
        let st = SafeTensors(tensors: ["a.weight": Tensor(shape: [2, 3], scalars: [1, -2, 3.5, 0, 1e-8, -7]), "b": Tensor(5)],
                             intTensors: ["idx": IntTensor([1, -2, 1 << 40])], metadata: ["format": "pt", "q\"uote": "x\\y"])
        let bytes = st.serialized()
        var n: UInt64 = 0
        for i in 0..<8 { n |= UInt64(bytes[i]) << (8 * UInt64(i)) }
        XCTAssertEqual((8 + Int(n)) % 8, 0, "data starts 8-byte aligned")
        let path = dir + "/m.safetensors"
        try st.write(to: path)
        XCTAssertEqual(try SafeTensors.read(from: path), st)
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: dir), ["m.safetensors"], "no temporary file left")
        try st.write(to: path)  // atomic replace of an existing file
        XCTAssertEqual(try SafeTensors.read(from: path), st)
    }

    func testRejectsMalformedFiles() {
        let f = "bad.safetensors"
        let eight = [UInt8](repeating: 0, count: 8)
        func expect(_ bytes: [UInt8], _ check: (SafeTensorsError) -> Bool, line: UInt = #line) {
            XCTAssertThrowsError(try SafeTensors.parse(bytes, file: f), line: line) { e in
                guard let e = e as? SafeTensorsError else { return XCTFail("\(e)", line: line) }
                XCTAssertTrue(check(e), "\(e)", line: line)
                XCTAssertTrue(e.description.contains(f), line: line)
            }
        }
        expect([1, 2, 3]) { if case .truncated = $0 { return true }; return false }
        expect(file("{}", data: [], lengthOverride: 1000)) { if case .headerLengthBeyondFile = $0 { return true }; return false }
        expect(file("{\"a\":", data: [])) { if case .invalidHeader = $0 { return true }; return false }
        expect(file(#"{"a":{"dtype":"F16","shape":[2],"data_offsets":[0,4]}}"#, data: [0, 0, 0, 0])) {
            $0 == .unknownDType(file: f, tensor: "a", dtype: "F16") }
        expect(file(#"{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}"#, data: [0, 0, 0, 0])) {
            $0 == .offsetsBeyondData(file: f, tensor: "a", end: 8, dataSize: 4) }
        expect(file(#"{"a":{"dtype":"F32","shape":[1],"data_offsets":[8,4]}}"#, data: eight)) {
            $0 == .offsetsOutOfOrder(file: f, tensor: "a", begin: 8, end: 4) }
        expect(file(#"{"a":{"dtype":"F32","shape":[3],"data_offsets":[0,8]}}"#, data: eight)) {
            $0 == .sizeMismatch(file: f, tensor: "a", shape: [3], dtype: "F32", bytes: 8) }
        expect(file(#"{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}"#, data: eight)) {
            if case let .overlappingRanges(_, t, o) = $0 { return Set([t, o]) == ["a", "b"] }; return false }
        expect(file(#"{"a":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}"#, data: eight)) { $0 == .unindexedBytes(file: f, at: 0) }
        expect(file(#"{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}"#, data: eight)) { $0 == .unindexedBytes(file: f, at: 4) }
        expect(file(#"{"a":{"dtype":"F32","shape":[-1],"data_offsets":[0,4]}}"#, data: [0, 0, 0, 0])) {
            if case .invalidEntry(_, "a", _) = $0 { return true }; return false }
        expect(file(#"{"a":{"dtype":"I64","shape":[4294967296,4294967296,4],"data_offsets":[0,8]}}"#, data: eight)) {
            if case .sizeMismatch(_, "a", _, _, _) = $0 { return true }; return false }
        XCTAssertThrowsError(try SafeTensors.read(from: dir + "/missing.safetensors")) { e in
            XCTAssertTrue("\(e)".contains("missing.safetensors"))
        }
    }

    func testModuleCheckpointRoundTrip() throws {
        let a = Net(seed: 3), b = Net(seed: 4)
        let path = dir + "/net.safetensors"
        try a.save(to: path, metadata: ["epoch": "3"])
        try b.load(from: path)
        XCTAssertEqual(a.stateDict().mapValues(\.scalars), b.stateDict().mapValues(\.scalars))
        // the input transform is always recorded, "none" when the model has none
        XCTAssertEqual(try SafeTensors.read(from: path).metadata, ["epoch": "3", "input_transform": "none"])
    }

    // MARK: PyTorch / numpy interchange

    func runPython(_ args: [String]) throws -> String {
        let python = "/usr/bin/python3"
        guard FileManager.default.isExecutableFile(atPath: python),
              let script = Bundle.module.url(forResource: "safetensors_interop", withExtension: "py", subdirectory: "Fixtures") else {
            throw XCTSkip("python3 or the interop script is unavailable")
        }
        let p = Process()
        p.executableURL = URL(fileURLWithPath: python)
        p.arguments = [script.path] + args
        let out = Pipe(), err = Pipe()
        p.standardOutput = out; p.standardError = err
        try p.run()
        let data = out.fileHandleForReading.readDataToEndOfFile()
        let errText = String(decoding: err.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        p.waitUntilExit()
        if p.terminationStatus != 0 && errText.contains("No module named 'numpy'") { throw XCTSkip("numpy is not installed") }
        XCTAssertEqual(p.terminationStatus, 0, errText)
        return String(decoding: data, as: UTF8.self)
    }

    func testPythonReadsSwiftFile() throws {
        let path = dir + "/swift.safetensors"
        let w = Tensor(shape: [2, 2], scalars: [0.25, -1.5, 3, 1e-7])
        try SafeTensors(tensors: ["fc.weight": w, "fc.bias": Tensor([2])], intTensors: ["n": IntTensor([7, -9])],
                        metadata: ["source": "swift"]).write(to: path)
        let json = try JSONSerialization.jsonObject(with: Data(try runPython(["read", path]).utf8)) as! [String: Any]
        let tensors = json["tensors"] as! [String: [String: Any]]
        XCTAssertEqual(tensors["fc.weight"]!["shape"] as! [Int], [2, 2])
        XCTAssertEqual((tensors["fc.weight"]!["data"] as! [Double]).map(Float.init), w.scalars)
        XCTAssertEqual(tensors["fc.weight"]!["dtype"] as! String, "float32")
        XCTAssertEqual(tensors["n"]!["data"] as! [Int], [7, -9])
        XCTAssertEqual(tensors["n"]!["dtype"] as! String, "int64")
        XCTAssertEqual(json["metadata"] as! [String: String], ["source": "swift"])
    }

    func testSwiftReadsPythonFile() throws {
        let path = dir + "/py.safetensors"
        _ = try runPython(["write", path])
        let st = try SafeTensors.read(from: path)
        XCTAssertEqual(st.tensors["layer.weight"]!.shape, [2, 3])
        XCTAssertEqual(st.tensors["layer.weight"]!.scalars, [-1, -0.5, 0, 0.5, 1, 1.5])
        XCTAssertEqual(st.tensors["layer.bias"]!.scalars, [1e-3, -2.5])
        XCTAssertEqual(st.intTensors["steps"]!.scalars, [3, -1, 1 << 40])
        XCTAssertEqual(st.metadata, ["format": "pt", "note": "from python"])
    }
}
