import Foundation
import DistillCore
import DistillData

/// A bad input to `ImageGrid`, naming the field and the shape or value at fault.
public enum ImageGridError: Error, CustomStringConvertible, Equatable {
    case badInput(field: String, detail: String)

    public var description: String {
        switch self {
        case let .badInput(field, detail): return "image grid: bad \(field): \(detail)"
        }
    }
}

/// A grid of images in labelled rows (e.g. one row per class of a condensed data set, or the
/// inversions of a data-free distillation), written as a PNG and as an SVG that embeds that PNG
/// (base64 `<image>`) beside the row labels.
///
/// Layout follows torchvision's `make_grid`: every cell is H × W, cells are separated and framed
/// by `padding` pixels (default 2, torchvision's) of `background` (default 0, black, torchvision's
/// `pad_value`). Row r holds the images `rows[r].indices`, left to right; rows may differ in length
/// (the grid is as wide as the longest row; the rest is background).
///
/// Display normalisation (`ImageGrid.Normalization`), applied per channel value v of image n:
/// - `.minMax` (default): (v − min_n) / (max_n − min_n), min and max over all of image n's
///   channels and pixels (torchvision `save_image(normalize=True, scale_each=True)`); a constant
///   image shows as 0. The default because it needs no knowledge of the data's normalisation
///   and synthetic images (condensed or inverted) leave any fixed range.
/// - `.meanStd(mean:std:)`: clamp(v · std_c + mean_c, 0, 1), undoing a `Normalize(mean, std)` per
///   channel: what VICO-UoE/DatasetCondensation's `main.py` does before `save_image`.
/// Values are then rounded to 8 bits as torchvision does: ⌊255 · u + 0.5⌋ clamped to 0…255.
/// NaN shows as 0.
///
/// Shapes: images [N, C, H, W] with C 1 (gray PNG) or 3 (RGB PNG); N ≥ 1; the whole grid at most
/// `Limits.maxImagePixels` samples. Every index must be in 0..<N. Bad input throws
/// `ImageGridError` before any pixel is drawn.
public struct ImageGrid {
    /// How values are mapped to [0, 1] for display (see the type's documentation).
    public enum Normalization: Equatable {
        case minMax
        case meanStd(mean: [Float], std: [Float])
    }

    /// One row: its label (may be empty) and the indices of its images along N.
    public struct Row: Equatable {
        public var label: String
        public var indices: [Int]
        public init(label: String, indices: [Int]) { self.label = label; self.indices = indices }
    }

    public let images: Tensor
    public let rows: [Row]
    public var padding: Int = 2
    public var background: UInt8 = 0

    /// A grid of `images` [N, C, H, W] in the given rows.
    public init(images: Tensor, rows: [Row]) throws {
        guard images.rank == 4, images.shape[0] >= 1, images.shape[1] == 1 || images.shape[1] == 3,
              images.shape[2] >= 1, images.shape[3] >= 1 else {
            throw ImageGridError.badInput(field: "images", detail: "shape \(Shape.describe(images.shape)) is not [N ≥ 1, C = 1 or 3, H ≥ 1, W ≥ 1]")
        }
        guard !rows.isEmpty, rows.contains(where: { !$0.indices.isEmpty }) else {
            throw ImageGridError.badInput(field: "rows", detail: "no row holds an image")
        }
        let n = images.shape[0]
        for (r, row) in rows.enumerated() {
            if let bad = row.indices.first(where: { $0 < 0 || $0 >= n }) {
                throw ImageGridError.badInput(field: "rows[\(r)].indices", detail: "index \(bad) is outside 0..<\(n) of images \(Shape.describe(images.shape))")
            }
        }
        self.images = images
        self.rows = rows
    }

    /// All `images` in rows of `columns` (the last row may be shorter), unlabelled.
    public init(images: Tensor, columns: Int) throws {
        guard columns >= 1 else { throw ImageGridError.badInput(field: "columns", detail: "\(columns) must be ≥ 1") }
        guard images.rank == 4, images.shape[0] >= 1 else {
            throw ImageGridError.badInput(field: "images", detail: "shape \(Shape.describe(images.shape)) is not [N ≥ 1, C, H, W]")
        }
        let n = images.shape[0]
        try self.init(images: images, rows: stride(from: 0, to: n, by: columns).map { Row(label: "", indices: Array($0..<Swift.min($0 + columns, n))) })
    }

    /// One row per class, in class order, holding the images with that label in data order; a
    /// row is labelled `classNames[k]` when names are given, else "class k". Classes without an
    /// image are left out.
    public static func byClass(images: Tensor, labels: [Int], classNames: [String]? = nil) throws -> ImageGrid {
        guard images.rank == 4, labels.count == images.shape[0] else {
            throw ImageGridError.badInput(field: "labels", detail: "\(labels.count) labels for images \(Shape.describe(images.shape))")
        }
        if let bad = labels.first(where: { $0 < 0 || $0 >= (classNames?.count ?? Int.max) }) {
            throw ImageGridError.badInput(field: "labels", detail: "label \(bad) has no class name (\(classNames?.count ?? 0) names)")
        }
        var groups: [Int: [Int]] = [:]
        for (i, y) in labels.enumerated() { groups[y, default: []].append(i) }
        let rows = groups.keys.sorted().map { k in Row(label: classNames?[k] ?? "class \(k)", indices: groups[k]!) }
        return try ImageGrid(images: images, rows: rows)
    }

    var channels: Int { images.shape[1] }
    var cellHeight: Int { images.shape[2] }
    var cellWidth: Int { images.shape[3] }
    var columns: Int { rows.map(\.indices.count).max() ?? 0 }
    /// Pixel size of the grid: padding before, between and after every cell.
    public var size: (width: Int, height: Int) {
        (columns * (cellWidth + padding) + padding, rows.count * (cellHeight + padding) + padding)
    }

    /// Throws unless the normalisation and the grid size fit.
    func validate(_ normalization: Normalization) throws {
        guard padding >= 0, padding <= 64 else { throw ImageGridError.badInput(field: "padding", detail: "\(padding) is not in 0…64") }
        if case let .meanStd(mean, std) = normalization {
            guard mean.count == channels, std.count == channels else {
                throw ImageGridError.badInput(field: "normalization", detail: "\(mean.count) means and \(std.count) stds for \(channels) channels of images \(Shape.describe(images.shape))")
            }
            guard (mean + std).allSatisfy(\.isFinite) else {
                throw ImageGridError.badInput(field: "normalization", detail: "mean \(mean) and std \(std) must be finite")
            }
        }
        let (w, h) = size
        let (wh, o1) = w.multipliedReportingOverflow(by: h)
        let (whc, o2) = wh.multipliedReportingOverflow(by: channels)
        guard !o1, !o2, whc <= Limits.maxImagePixels else {
            throw ImageGridError.badInput(field: "grid size", detail: "\(w)×\(h)×\(channels) is more than the \(Limits.maxImagePixels) samples an image may have")
        }
    }

    /// The grid as 8-bit pixels (HWC, gray or RGB as the images' channels).
    public func pixels(normalization: Normalization = .minMax) throws -> DecodedImage {
        try validate(normalization)
        let (gw, gh) = size
        let c = channels, h = cellHeight, w = cellWidth, plane = h * w
        var out = [UInt8](repeating: background, count: gw * gh * c)
        images.withUnsafeBufferPointer { src in
            for (r, row) in rows.enumerated() {
                for (col, n) in row.indices.enumerated() {
                    let base = n * c * plane
                    var scale = [Float](repeating: 1, count: c), shift = [Float](repeating: 0, count: c)
                    switch normalization {
                    case .minMax:
                        var lo = Float.infinity, hi = -Float.infinity
                        for i in 0..<(c * plane) where src[base + i].isFinite { lo = Swift.min(lo, src[base + i]); hi = Swift.max(hi, src[base + i]) }
                        let range = hi - lo
                        let s: Float = range > 0 && range.isFinite ? 1 / range : 0
                        for k in 0..<c { scale[k] = s; shift[k] = lo.isFinite ? -lo * s : 0 }
                    case let .meanStd(mean, std):
                        scale = std; shift = mean
                    }
                    let y0 = padding + r * (h + padding), x0 = padding + col * (w + padding)
                    for k in 0..<c {
                        for y in 0..<h {
                            for x in 0..<w {
                                let u = src[base + k * plane + y * w + x] * scale[k] + shift[k]
                                out[((y0 + y) * gw + x0 + x) * c + k] = Self.byte(u)
                            }
                        }
                    }
                }
            }
        }
        return DecodedImage(width: gw, height: gh, channels: c, pixels: out)
    }

    /// ⌊255 · clamp(u, 0, 1) + 0.5⌋, NaN → 0.
    static func byte(_ u: Float) -> UInt8 {
        guard !u.isNaN else { return 0 }
        return UInt8(Swift.min(Swift.max(u, 0), 1) * 255 + 0.5)
    }

    /// The grid as PNG bytes.
    public func png(normalization: Normalization = .minMax) throws -> [UInt8] {
        try PNGWriter.encode(try pixels(normalization: normalization))
    }

    /// A standalone SVG 1.1 document: the row labels (right-aligned, left of the grid, at each
    /// row's middle) and the PNG embedded as `data:image/png;base64`, drawn at `scale` times
    /// its pixel size (1…16, default 2) without smoothing.
    public func svg(normalization: Normalization = .minMax, title: String? = nil, scale: Int = 2) throws -> String {
        guard (1...16).contains(scale) else { throw ImageGridError.badInput(field: "scale", detail: "\(scale) is not in 1…16") }
        let bytes = try png(normalization: normalization)
        let (gw, gh) = size
        let fontSize = 12.0, margin = 8.0
        let labels = rows.map(\.label)
        let labelWidth = labels.allSatisfy(\.isEmpty) ? 0 : Swift.min(labels.map { SVGPlot.textWidth($0, size: fontSize) }.max() ?? 0, 240) + margin
        let top = title == nil ? margin : margin + fontSize * 1.6
        let width = margin + labelWidth + Double(gw * scale) + margin
        let height = top + Double(gh * scale) + margin
        var s = "<svg xmlns=\"http://www.w3.org/2000/svg\" xmlns:xlink=\"http://www.w3.org/1999/xlink\" version=\"1.1\""
        s += " width=\"\(SVGPlot.coord(width))\" height=\"\(SVGPlot.coord(height))\" viewBox=\"0 0 \(SVGPlot.coord(width)) \(SVGPlot.coord(height))\">\n"
        s += "<rect x=\"0\" y=\"0\" width=\"\(SVGPlot.coord(width))\" height=\"\(SVGPlot.coord(height))\" fill=\"#ffffff\"/>\n"
        if let title {
            s += "<text x=\"\(SVGPlot.coord(margin))\" y=\"\(SVGPlot.coord(margin + fontSize))\" font-family=\"\(SVGPlot.fontFamily)\" font-size=\"\(SVGPlot.coord(fontSize * 1.2))\" fill=\"\(SVGPlot.textColour)\">\(SVGPlot.escape(title))</text>\n"
        }
        let gx = margin + labelWidth
        for (r, label) in labels.enumerated() where !label.isEmpty {
            let cy = top + Double((padding + r * (cellHeight + padding)) * scale) + Double(cellHeight * scale) / 2
            let text = SVGPlot.truncate(label, maxWidth: labelWidth - margin, size: fontSize)
            s += "<text x=\"\(SVGPlot.coord(gx - margin / 2))\" y=\"\(SVGPlot.coord(cy + fontSize * 0.35))\" text-anchor=\"end\" font-family=\"\(SVGPlot.fontFamily)\" font-size=\"\(SVGPlot.coord(fontSize))\" fill=\"\(SVGPlot.textColour)\">\(SVGPlot.escape(text))</text>\n"
        }
        s += "<image x=\"\(SVGPlot.coord(gx))\" y=\"\(SVGPlot.coord(top))\" width=\"\(gw * scale)\" height=\"\(gh * scale)\" preserveAspectRatio=\"none\""
        s += " style=\"image-rendering:pixelated\" image-rendering=\"optimizeSpeed\" xlink:href=\"data:image/png;base64,\(Data(bytes).base64EncodedString())\"/>\n"
        s += "</svg>\n"
        return s
    }

    /// Writes `<stem>.png` and `<stem>.svg` (e.g. stem `runs/x/synthetic`); returns both paths.
    @discardableResult
    public func write(stem: String, normalization: Normalization = .minMax, title: String? = nil, scale: Int = 2) throws -> (png: String, svg: String) {
        let svgText = try svg(normalization: normalization, title: title, scale: scale)
        let pngPath = stem + ".png", svgPath = stem + ".svg"
        try PNGWriter.write(try pixels(normalization: normalization), to: pngPath)
        do {
            try Data(svgText.utf8).write(to: URL(fileURLWithPath: svgPath), options: .atomic)
        } catch {
            throw DataError.io(path: svgPath, reason: "cannot write the SVG: \(error.localizedDescription)")
        }
        return (pngPath, svgPath)
    }
}
