import Foundation

/// Runs helper processes from tests (python3 with PyTorch, onnx, onnxruntime): output to a file
/// so a chatty child never blocks on a full pipe, one thread of OpenMP, and a wall-clock limit.
public enum Subprocess {
    public struct Timeout: Error, CustomStringConvertible {
        public let command: String, seconds: TimeInterval
        public var description: String { "\(command) did not finish within \(Int(seconds)) s and was terminated" }
    }

    /// Runs `executable` with `arguments`; stdout and stderr together, with a wall-clock limit.
    public static func run(_ executable: String, _ arguments: [String], timeout: TimeInterval) throws -> (status: Int32, output: String) {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: executable)
        p.arguments = arguments
        var env = ProcessInfo.processInfo.environment
        env["OMP_NUM_THREADS"] = "1"
        p.environment = env
        // output goes to a file, so a chatty child never blocks on a full pipe
        let outPath = NSTemporaryDirectory() + "subprocess-out-\(getpid())-\(UInt32.random(in: 0...UInt32.max)).txt"
        guard FileManager.default.createFile(atPath: outPath, contents: nil), let out = FileHandle(forWritingAtPath: outPath) else {
            throw CocoaError(.fileWriteUnknown, userInfo: [NSFilePathErrorKey: outPath])
        }
        defer { try? out.close(); try? FileManager.default.removeItem(atPath: outPath) }
        p.standardOutput = out
        p.standardError = out
        let done = DispatchSemaphore(value: 0)
        p.terminationHandler = { _ in done.signal() }
        try p.run()
        if done.wait(timeout: .now() + timeout) == .timedOut {
            p.terminate()
            _ = done.wait(timeout: .now() + 5)
            throw Timeout(command: ([executable] + arguments).joined(separator: " "), seconds: timeout)
        }
        let data = FileManager.default.contents(atPath: outPath) ?? Data()
        return (p.terminationStatus, String(decoding: data, as: UTF8.self))
    }
}
