import Foundation

/// Append-only JSON Lines log: one object per line, flushed as it is written, so a killed run
/// keeps every line it finished.
public final class JSONLLog {
    public let url: URL
    private let handle: FileHandle

    /// Opens (creating if needed) the log at `url`; `truncate` starts it afresh.
    public init(url: URL, truncate: Bool = false) throws {
        self.url = url
        let fm = FileManager.default
        try fm.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
        if truncate || !fm.fileExists(atPath: url.path) { fm.createFile(atPath: url.path, contents: nil) }
        guard let h = FileHandle(forWritingAtPath: url.path) else {
            throw CocoaError(.fileWriteNoPermission, userInfo: [NSFilePathErrorKey: url.path])
        }
        handle = h
        handle.seekToEndOfFile()
    }

    /// Writes one record. Keys are sorted so logs diff cleanly.
    public func write(_ record: [String: Any]) throws {
        let data = try JSONSerialization.data(withJSONObject: record, options: [.sortedKeys])
        handle.write(data)
        handle.write(Data("\n".utf8))
        try handle.synchronize()
    }

    /// Reads every record of a log (skipping a torn last line left by a kill).
    public static func read(_ url: URL) throws -> [[String: Any]] {
        let text = try String(contentsOf: url, encoding: .utf8)
        return text.split(separator: "\n").compactMap { line in
            (try? JSONSerialization.jsonObject(with: Data(line.utf8))) as? [String: Any]
        }
    }

    deinit { try? handle.close() }
}
