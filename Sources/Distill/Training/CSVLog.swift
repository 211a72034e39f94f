import DistillNN
import Foundation

/// A CSV file written a row at a time (RFC 4180: fields holding a comma, a quote or a line break
/// are quoted, quotes doubled; an empty field is a missing value). The header is the union of
/// the rows' keys in order of first appearance: a row with a new key rewrites the file once with
/// the wider header (earlier rows get empty cells), so the same rows always give the same file.
final class CSVLog {
    let url: URL
    private(set) var columns: [String]
    private var handle: FileHandle?

    /// Opens `url`, keeping the rows it holds for which `keep` is true (all with nil; none with
    /// `fresh`). The kept rows are rewritten only when some were dropped.
    init(url: URL, fresh: Bool, keep: (([String: String]) -> Bool)? = nil) throws {
        self.url = url
        columns = []
        let fm = FileManager.default
        if !fresh, fm.fileExists(atPath: url.path) {
            let table = try CSVLog.read(url)
            columns = table.columns
            let kept = keep.map { table.rows.filter($0) } ?? table.rows
            if kept.count != table.rows.count || table.torn { try rewrite(kept) }
        } else {
            try AtomicFile.write([], to: url.path)
        }
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
        let known = Set(columns)
        let added = row.map(\.0).filter { !known.contains($0) }
        if !added.isEmpty {
            var rows = FileManager.default.fileExists(atPath: url.path) ? try CSVLog.read(url).rows : []
            columns += added
            rows.append(Dictionary(row, uniquingKeysWith: { a, _ in a }))
            try rewrite(rows)
            return
        }
        let values = Dictionary(row, uniquingKeysWith: { a, _ in a })
        try write(line(columns.map { values[$0] ?? "" }))
    }

    /// Replaces the file's content by the header and `rows` (atomically).
    func rewrite(_ rows: [[String: String]]) throws {
        handle = nil
        var text = columns.isEmpty ? "" : line(columns)
        for r in rows { text += line(columns.map { r[$0] ?? "" }) }
        try AtomicFile.write(Array(text.utf8), to: url.path)
    }

    /// Rewrites the file from rows given as (key, value) lists, widening the header as `append` would.
    func replace(with rows: [[(String, String)]]) throws {
        for r in rows { for (k, _) in r where !columns.contains(k) { columns.append(k) } }
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
