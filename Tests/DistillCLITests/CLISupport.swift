import XCTest
import Foundation

/// Runs the built `distill` binary and captures its output.
enum CLI {
    struct Result { let status: Int32; let stdout: String; let stderr: String; let signalled: Bool }

    static var binary: URL {
        // the test bundle lives in (Linux) or next to (macOS) the products directory of the build
        let b = Bundle(for: Marker.self).bundleURL
        for dir in [b, b.deletingLastPathComponent()] where FileManager.default.isExecutableFile(atPath: dir.appendingPathComponent("distill").path) {
            return dir.appendingPathComponent("distill")
        }
        return b.appendingPathComponent("distill")
    }

    final class Marker {}

    /// A `distill` process with the given arguments, two kernel threads, not yet started.
    static func process(_ args: [String]) -> Process {
        let p = Process()
        p.executableURL = binary
        p.arguments = args
        var env = ProcessInfo.processInfo.environment
        env["DISTILL_NUM_THREADS"] = "2"
        p.environment = env
        return p
    }

    static func start(_ args: [String], stdout: FileHandle? = nil) throws -> Process {
        let p = process(args)
        if let stdout { p.standardOutput = stdout; p.standardError = stdout }
        try p.run()
        return p
    }

    static func run(_ args: [String], timeout: TimeInterval = 120) throws -> Result {
        try capture(process(args), "distill \(args.joined(separator: " "))", timeout: timeout)
    }

    /// Runs the python3 on PATH (the one `make setup` installs onnx and onnxruntime into) on `code`.
    static func runPython(_ code: String, _ args: [String], timeout: TimeInterval = 120) throws -> Result {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        p.arguments = ["python3", "-c", code] + args
        return try capture(p, "python3", timeout: timeout)
    }

    static func capture(_ p: Process, _ what: String, timeout: TimeInterval) throws -> Result {
        let tmp = try temporaryDirectory()
        let outURL = tmp.appendingPathComponent("stdout"), errURL = tmp.appendingPathComponent("stderr")
        FileManager.default.createFile(atPath: outURL.path, contents: nil)
        FileManager.default.createFile(atPath: errURL.path, contents: nil)
        p.standardOutput = try FileHandle(forWritingTo: outURL)
        p.standardError = try FileHandle(forWritingTo: errURL)
        try p.run()
        let deadline = Date().addingTimeInterval(timeout)
        while p.isRunning && Date() < deadline { usleep(5_000) }
        if p.isRunning { p.terminate(); XCTFail("\(what) timed out after \(timeout) s") }
        p.waitUntilExit()
        let outData = try Data(contentsOf: outURL), errData = try Data(contentsOf: errURL)
        try? FileManager.default.removeItem(at: tmp)
        return Result(status: p.terminationStatus, stdout: String(decoding: outData, as: UTF8.self),
                      stderr: String(decoding: errData, as: UTF8.self), signalled: p.terminationReason == .uncaughtSignal)
    }

    static func temporaryDirectory() throws -> URL {
        let d = FileManager.default.temporaryDirectory.appendingPathComponent("distill-cli-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: d, withIntermediateDirectories: true)
        return d
    }

    /// The checkpoint events of a run's log.jsonl (what a kill test waits for).
    static func checkpointEvents(_ dir: URL) -> [(epoch: Int, batch: Int, step: Int)] {
        guard let text = try? String(contentsOf: dir.appendingPathComponent("log.jsonl"), encoding: .utf8) else { return [] }
        return text.split(separator: "\n").compactMap { line in
            guard let o = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any],
                  o["event"] as? String == "checkpoint", let e = o["epoch"] as? Int, let b = o["batch"] as? Int, let s = o["step"] as? Int
            else { return nil }
            return (e, b, s)
        }
    }

    static var hasFashionMNIST: Bool {
        FileManager.default.fileExists(atPath: "/usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz")
    }
}
