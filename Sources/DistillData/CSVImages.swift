import DistillCore

/// Images as CSV rows, Kaggle's Fashion-MNIST layout: an optional header line (`label,pixel1,…`;
/// a first line whose first cell is not an integer is a header), then one image per line, the
/// label (an integer class index) in the first column and its pixels (integers 0…255, divided by
/// 255) in the others. Cells may have spaces around them; lines may end in `\r\n`; blank lines
/// are skipped. Every row must have the header's (or the first row's) number of columns.
///
/// Shape: by default a square gray image (784 pixel columns are 1×28×28); otherwise give it,
/// `[C, H, W]` or `[H, W]`, with the columns in C, H, W order (`.nchw`, CIFAR's) or H, W, C order
/// (`.nhwc`, interleaved RGB). Bounds: the file (`Limits.maxFileBytes`), each line
/// (`Limits.maxLineBytes`), the pixels of a row (`Limits.maxImagePixels`), the decoded split
/// (`Limits.maxDatasetBytes`); errors name the file, the line and the column.
public enum CSVImages {
    /// Images [N, C, H, W] and labels of one CSV file's bytes; `path` names it in errors.
    public static func read(bytes: UnsafeRawBufferPointer, path: String, shape: [Int]? = nil, layout: PixelLayout = .nchw) throws -> (images: Tensor, labels: [Int]) {
        let lines = try split(bytes, path: path)
        guard let first = lines.first else { throw DataError.truncated(path: path, detail: "is empty (no header and no rows)") }
        let firstCells = cells(bytes, first)
        let hasHeader = integer(bytes, firstCells[0]) == nil
        let columns = firstCells.count
        let header = hasHeader ? firstCells.map { String(decoding: UnsafeRawBufferPointer(rebasing: bytes[$0]), as: UTF8.self) } : nil
        guard columns >= 2 else {
            throw DataError.malformed(path: path, field: "line \(first.line)", detail: "\(columns) column; expected the label, then the pixels")
        }
        let pixels = columns - 1
        let chw = try imageShape(pixels, given: shape, path: path)
        let rows = lines.dropFirst(hasHeader ? 1 : 0)
        guard rows.count <= Limits.maxExamples else { throw DataError.invalidArgument("\(path): more than \(Limits.maxExamples) rows") }
        try ImageArrays.checkBytes(count: rows.count, imageShape: chw, path: path)
        var labels: [Int] = []
        labels.reserveCapacity(rows.count)
        let raw = try Tensor.make([rows.count, pixels]) { o in
            for (r, line) in rows.enumerated() {
                let c = cells(bytes, line)
                guard c.count == columns else {
                    throw DataError.malformed(path: path, field: "line \(line.line)", detail: "\(c.count) columns but \(hasHeader ? "the header (line \(first.line))" : "line \(first.line)") has \(columns)")
                }
                func value(_ k: Int, max: Int) throws -> Int {
                    guard let v = integer(bytes, c[k]), v <= max else {
                        let text = String(decoding: UnsafeRawBufferPointer(rebasing: bytes[c[k]]).prefix(40), as: UTF8.self)
                        let name = header.map { " (\($0[k].prefix(40)))" } ?? ""
                        throw DataError.malformed(path: path, field: "line \(line.line), column \(k + 1)\(name)", detail: "'\(text)' is not an integer in 0…\(max)")
                    }
                    return v
                }
                labels.append(try value(0, max: Limits.maxDimension - 1))
                let row = o + r * pixels
                for k in 1..<columns { row[k - 1] = Float(try value(k, max: 255)) / 255 }
            }
        }
        let nchw = [rows.count] + chw
        if layout == .nhwc { return (ImageArrays.toNCHW(raw, n: nchw[0], c: chw[0], h: chw[1], w: chw[2]), labels) }
        return (Tensor(storage: raw.storage, shape: nchw), labels)
    }

    /// [C, H, W] for `pixels` columns: the given shape (which must account for every column) or
    /// a square gray image.
    static func imageShape(_ pixels: Int, given: [Int]?, path: String) throws -> [Int] {
        if let g = given {
            let chw = g.count == 2 ? [1] + g : g
            guard chw.count == 3, chw.allSatisfy({ $0 >= 1 }), Shape.count(chw) == pixels else {
                throw DataError.malformed(path: path, field: "shape", detail: "\(pixels) pixel columns do not make images of \(g.map(String.init).joined(separator: "x")) (C×H×W or H×W)")
            }
            return chw
        }
        var side = Int(Double(pixels).squareRoot())
        while side * side > pixels { side -= 1 }
        while (side + 1) * (side + 1) <= pixels { side += 1 }
        guard side * side == pixels else {
            let third = Int(Double(pixels / 3).squareRoot())
            let hint = pixels % 3 == 0 && third * third * 3 == pixels ? "3x\(third)x\(third)" : "CxHxW"
            throw DataError.malformed(path: path, field: "shape", detail: "\(pixels) pixel columns are not a square gray image; give the shape, e.g. ,shape=\(hint) (columns in C, H, W order; ,layout=nhwc for H, W, C)")
        }
        return [1, side, side]
    }

    /// A line's byte range and its 1-based number.
    struct Line { let range: Range<Int>; let line: Int }

    /// The non-blank lines (without `\n` / `\r\n`), each at most `Limits.maxLineBytes` long.
    static func split(_ b: UnsafeRawBufferPointer, path: String) throws -> [Line] {
        var out: [Line] = [], start = 0, number = 1
        while start < b.count {
            var end = start
            while end < b.count && b[end] != 0x0A { end += 1 }
            guard end - start <= Limits.maxLineBytes else {
                throw DataError.malformed(path: path, field: "line \(number)", detail: "is longer than the \(Limits.maxLineBytes) bytes a line may have")
            }
            var stop = end
            if stop > start && b[stop - 1] == 0x0D { stop -= 1 }
            if b[start..<stop].contains(where: { $0 != 0x20 && $0 != 0x09 }) { out.append(Line(range: start..<stop, line: number)) }
            start = end + 1; number += 1
        }
        return out
    }

    /// The comma-separated cells of a line, spaces and tabs around each trimmed.
    static func cells(_ b: UnsafeRawBufferPointer, _ line: Line) -> [Range<Int>] {
        var out: [Range<Int>] = [], s = line.range.lowerBound
        let end = line.range.upperBound
        while true {
            var e = s
            while e < end && b[e] != 0x2C { e += 1 }
            var lo = s, hi = e
            while lo < hi && (b[lo] == 0x20 || b[lo] == 0x09) { lo += 1 }
            while hi > lo && (b[hi - 1] == 0x20 || b[hi - 1] == 0x09) { hi -= 1 }
            out.append(lo..<hi)
            if e >= end { return out }
            s = e + 1
        }
    }

    /// The cell as a non-negative decimal integer (at most 9 digits), or nil.
    static func integer(_ b: UnsafeRawBufferPointer, _ r: Range<Int>) -> Int? {
        guard !r.isEmpty, r.count <= 9 else { return nil }
        var v = 0
        for i in r {
            let d = Int(b[i]) - 0x30
            guard d >= 0 && d <= 9 else { return nil }
            v = v * 10 + d
        }
        return v
    }
}

extension Dataset {
    /// Two CSV files (see `CSVImages`) as training and test sets; class count one more than the
    /// largest label of either.
    public static func csv(train: String, test: String, shape: [Int]? = nil, layout: PixelLayout = .nchw) throws -> (train: Dataset, test: Dataset) {
        func load(_ p: String) throws -> (Tensor, [Int]) {
            let b = try FileIO.read(p)
            let r = try CSVImages.read(bytes: b.bytes, path: p, shape: shape, layout: layout)
            return (r.images, r.labels)
        }
        let tr = try load(train), te = try load(test)
        let name = FileIO.baseName(train).split(separator: ".").first.map(String.init) ?? "csv"
        return ImageArrays.pair(name: name, train: tr, test: te)
    }

    /// `directory/train.csv` and `directory/test.csv` (Kaggle's `fashion-mnist_train.csv` and
    /// `fashion-mnist_test.csv` are also found).
    public static func csv(directory: String, shape: [Int]? = nil, layout: PixelLayout = .nchw) throws -> (train: Dataset, test: Dataset) {
        let tr = try locate(directory, ["train.csv", "fashion-mnist_train.csv"]), te = try locate(directory, ["test.csv", "fashion-mnist_test.csv"])
        var pair = try csv(train: tr, test: te, shape: shape, layout: layout)
        let name = FileIO.baseName(directory)
        pair.train.name = "\(name)-train"; pair.test.name = "\(name)-test"
        return pair
    }
}
