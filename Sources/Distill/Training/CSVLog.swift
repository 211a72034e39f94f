import DistillNN
import Foundation

/// A CSV file written a row at a time (RFC 4180: fields holding a comma, a quote or a line break
/// are quoted, quotes doubled; an empty field is a missing value). The header is the union of
/// the rows' keys in order of first appearance: a row with a new key rewrites the file once with
/// the wider header (earlier rows get empty cells), so the same rows always give the same file.
final class CSVLog {
    let url: URL
    private var header: [String]?
    private var handle: FileHandle?
    /// The last row kept when the log was opened (nil: none, or not read).
    private(set) var lastRow: [String: String]?

    /// Opens `url`: afresh (`fresh`), keeping the rows it holds for which `keep` is true (the
    /// kept rows are rewritten only when some were dropped or the last line is torn), or, with
    /// neither, as it is (read only when a row is appended).
    init(url: URL, fresh: Bool, keep: (([String: String]) -> Bool)? = nil) throws {
        self.url = url
        if fresh || !FileManager.default.fileExists(atPath: url.path) {
            header = []
            try AtomicFile.write([], to: url.path)
        } else if let keep {
            try load(keep)
        }
    }

    /// The header's columns.
    var columns: [String] {
        get throws {
            if header == nil { try load { _ in true } }
            return header!
        }
    }

    private func load(_ keep: ([String: String]) -> Bool) throws {
        let table = try CSVLog.read(url)
        header = table.columns
        let kept = table.rows.filter(keep)
        lastRow = kept.last
        if kept.count != table.rows.count || table.torn { try rewrite(kept) }
    }

    /// The columns and rows (by column name) of a CSV file written by this class.
    /// `torn`: the file ended in a line without its line break (a kill in the middle of a
    /// write), which is left out.
    static func read(_ url: URL) throws -> (columns: [String], rows: [[String: String]], torn: Bool) {
        let text = try String(contentsOf: url, encoding: .utf8)
        var lines = parse(text)
        let torn = !text.isEmpty && !text.hasSuffix("\n")
        if torn && !lines.isEmpty { lines.removeLast() }
        guard let header = lines.first else { return ([], [], torn) }
        let rows = lines.dropFirst().map { fields -> [String: String] in
            var row: [String: String] = [:]
            for (k, v) in zip(header, fields) where !v.isEmpty { row[k] = v }
            return row
        }
        return (header, rows, torn)
    }

    /// Appends a row (key, value) in the order its keys should take in a new header.
    func append(_ row: [(String, String)]) throws {
        let columns = try self.columns
        let known = Set(columns)
        let added = row.map(\.0).filter { !known.contains($0) }
        let values = Dictionary(row, uniquingKeysWith: { a, _ in a })
        guard added.isEmpty else {
            var rows = try CSVLog.read(url).rows
            header = columns + added
            rows.append(values)
            try rewrite(rows)
            return
        }
        try write(line(columns.map { values[$0] ?? "" }))
    }

    /// Replaces the file's content by the header and `rows` (atomically).
    func rewrite(_ rows: [[String: String]]) throws {
        handle = nil
        let columns = header ?? []
        var text = columns.isEmpty ? "" : line(columns)
        for r in rows { text += line(columns.map { r[$0] ?? "" }) }
        try AtomicFile.write(Array(text.utf8), to: url.path)
    }

    /// Rewrites the file from rows given as (key, value) lists, with the header of these rows
    /// alone (as `append` would have widened it).
    func replace(with rows: [[(String, String)]]) throws {
        var columns: [String] = []
        for r in rows { for (k, _) in r where !columns.contains(k) { columns.append(k) } }
        header = columns
        try rewrite(rows.map { Dictionary($0, uniquingKeysWith: { a, _ in a }) })
    }

    private func write(_ text: String) throws {
        if handle == nil {
            guard let h = FileHandle(forWritingAtPath: url.path) else {
                throw CocoaError(.fileWriteNoPermission, userInfo: [NSFilePathErrorKey: url.path])
            }
            h.seekToEndOfFile()
            handle = h
        }
        handle!.write(Data(text.utf8))
    }

    private func line(_ fields: [String]) -> String {
        fields.map { f in
            f.contains(where: { $0 == "," || $0 == "\"" || $0 == "\n" || $0 == "\r" }) ? "\"" + f.replacingOccurrences(of: "\"", with: "\"\"") + "\"" : f
        }.joined(separator: ",") + "\n"
    }

    /// Splits CSV text into lines of fields (quoted fields may hold commas, quotes and breaks).
    static func parse(_ text: String) -> [[String]] {
        if !text.contains("\"") {   // no quoted field: plain splits (long steps.csv files)
            return text.split(separator: "\n").map { $0.split(separator: ",", omittingEmptySubsequences: false).map { String($0.filter { $0 != "\r" }) } }
        }
        var lines: [[String]] = [], fields: [String] = [], field = "", quoted = false
        var it = Array(text.unicodeScalars)[...]
        while let c = it.popFirst() {
            if quoted {
                if c == "\"" {
                    if it.first == "\"" { field.unicodeScalars.append("\""); it.removeFirst() } else { quoted = false }
                } else { field.unicodeScalars.append(c) }
            } else if c == "\"" {
                quoted = true
            } else if c == "," {
                fields.append(field); field = ""
            } else if c == "\n" {
                fields.append(field); lines.append(fields); fields = []; field = ""
            } else if c != "\r" {
                field.unicodeScalars.append(c)
            }
        }
        if !field.isEmpty || !fields.isEmpty { fields.append(field); lines.append(fields) }
        return lines
    }
}
