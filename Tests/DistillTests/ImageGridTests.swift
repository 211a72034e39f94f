import Foundation
#if canImport(FoundationXML)
import FoundationXML
#endif
import XCTest
import DistillCore
import DistillData
@testable import Distill

/// ImageGrid: layout, both normalisations, the PNG round trip through the project's own decoder,
/// the SVG (well-formed, labels, the embedded PNG), and refusals of bad shapes.
final class ImageGridTests: XCTestCase {
    /// [N, C, 2, 3] images whose value at (n, c, y, x) is n + 0.1·c + 0.01·(3y + x).
    func images(_ n: Int, _ c: Int) -> Tensor {
        var v: [Float] = []
        for i in 0..<n { for k in 0..<c { for p in 0..<6 { v.append(Float(i) + 0.1 * Float(k) + 0.01 * Float(p)) } } }
        return Tensor(shape: [n, c, 2, 3], scalars: v)
    }

    func testLayoutAndMinMaxPerImage() throws {
        let grid = try ImageGrid(images: images(3, 1), rows: [.init(label: "a", indices: [0, 1]), .init(label: "b", indices: [2])])
        XCTAssertEqual(grid.size.width, 2 * (3 + 2) + 2)
        XCTAssertEqual(grid.size.height, 2 * (2 + 2) + 2)
        let px = try grid.pixels()
        XCTAssertEqual(px.channels, 1)
        // Image 1 sits in row 0, column 1: its first pixel (its min) is 0, its last (its max) 255.
        let at = { (x: Int, y: Int) in Int(px.pixels[y * px.width + x]) }
        XCTAssertEqual(at(2 + 5, 2), 0)
        XCTAssertEqual(at(2 + 5 + 2, 2 + 1), 255)
        XCTAssertEqual(at(2 + 5 + 1, 2), Int((Float(1) / 5 * 255 + 0.5).rounded(.down)))
        // Padding and the empty cell of row 1 are background.
        XCTAssertEqual(at(0, 0), 0)
        XCTAssertEqual(at(2 + 5, 2 + 4), 0)
        XCTAssertEqual(at(2 + 5 + 2, 2 + 4 + 1), 0)
    }

    func testMeanStdUnnormalisesPerChannelAndClamps() throws {
        // One RGB pixel per channel: v = (0, 1, -10), mean (0.5, 0.25, 0.5), std (0.5, 0.5, 0.5).
        let x = Tensor(shape: [1, 3, 1, 1], scalars: [0, 1, -10])
        var grid = try ImageGrid(images: x, columns: 1)
        grid.padding = 0
        let px = try grid.pixels(normalization: .meanStd(mean: [0.5, 0.25, 0.5], std: [0.5, 0.5, 0.5]))
        XCTAssertEqual(px.pixels, [128, 191, 0])
    }

    func testPNGRoundTripThroughTheProjectsDecoder() throws {
        for c in [1, 3] {
            var g = SeededGenerator(seed: 5)
            let x = Tensor.normal([7, c, 5, 4], using: &g)
            let grid = try ImageGrid.byClass(images: x, labels: [2, 0, 2, 1, 0, 2, 1], classNames: ["zero", "one", "two"])
            let expected = try grid.pixels()
            let dir = FileManager.default.temporaryDirectory.appendingPathComponent("imagegrid-\(UUID().uuidString)")
            try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
            defer { try? FileManager.default.removeItem(at: dir) }
            let (pngPath, svgPath) = try grid.write(stem: dir.appendingPathComponent("grid").path)
            let bytes = try [UInt8](Data(contentsOf: URL(fileURLWithPath: pngPath)))
            let decoded = try bytes.withUnsafeBytes { try ImageCodec.decode($0, path: pngPath) }
            XCTAssertEqual(decoded, expected, "C = \(c)")
            XCTAssertEqual(decoded.channels, c)
            XCTAssertGreaterThan(Set(decoded.pixels).count, 50, "the pixels vary")
            // The SVG embeds the same PNG and names every class row.
            let svg = try String(contentsOfFile: svgPath, encoding: .utf8)
            let doc = try XMLDocument(data: Data(svg.utf8), options: [])
            XCTAssertEqual(doc.rootElement()?.localName, "svg")
            for name in ["zero", "one", "two"] { XCTAssertTrue(svg.contains(">\(name)</text>"), name) }
            let b64 = svg.components(separatedBy: "base64,")[1].prefix { $0 != "\"" }
            XCTAssertEqual(Data(base64Encoded: String(b64)).map([UInt8].init), bytes)
        }
    }

    func testByClassGroupsInClassOrder() throws {
        let grid = try ImageGrid.byClass(images: images(5, 1), labels: [3, 1, 3, 1, 1])
        XCTAssertEqual(grid.rows, [.init(label: "class 1", indices: [1, 3, 4]), .init(label: "class 3", indices: [0, 2])])
    }

    func testBadShapesAndArgumentsThrow() throws {
        func assertThrows(_ field: String, _ body: () throws -> Any, line: UInt = #line) {
            XCTAssertThrowsError(try body(), line: line) { error in
                guard case let ImageGridError.badInput(f, _) = error else { return XCTFail("\(error)", line: line) }
                XCTAssertEqual(f, field, "\(error)", line: line)
            }
        }
        assertThrows("images") { try ImageGrid(images: Tensor.zeros([2, 3, 4]), columns: 2) }
        assertThrows("images") { try ImageGrid(images: Tensor.zeros([2, 2, 4, 4]), columns: 2) }
        assertThrows("images") { try ImageGrid(images: Tensor.zeros([1, 4, 4, 4]), rows: [.init(label: "", indices: [0])]) }
        assertThrows("rows") { try ImageGrid(images: Tensor.zeros([2, 1, 4, 4]), rows: []) }
        assertThrows("rows[1].indices") { try ImageGrid(images: Tensor.zeros([2, 1, 4, 4]), rows: [.init(label: "", indices: [0]), .init(label: "", indices: [2])]) }
        assertThrows("columns") { try ImageGrid(images: Tensor.zeros([2, 1, 4, 4]), columns: 0) }
        assertThrows("labels") { try ImageGrid.byClass(images: Tensor.zeros([2, 1, 4, 4]), labels: [0]) }
        assertThrows("labels") { try ImageGrid.byClass(images: Tensor.zeros([2, 1, 4, 4]), labels: [0, 2], classNames: ["a", "b"]) }
        let grid = try ImageGrid(images: Tensor.zeros([2, 3, 4, 4]), columns: 2)
        assertThrows("normalization") { try grid.pixels(normalization: .meanStd(mean: [0], std: [1])) }
        assertThrows("scale") { try grid.svg(scale: 0) }
        assertThrows("grid size") { try ImageGrid(images: Tensor.zeros([1, 1, 4097, 4097]), columns: 1).pixels() }
    }
}
