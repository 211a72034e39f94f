import Foundation
import XCTest
@testable import DistillData

/// A fresh temporary directory per test, removed at tear-down.
class TempDirTestCase: XCTestCase {
    var dir: String = ""

    override func setUpWithError() throws {
        dir = NSTemporaryDirectory() + "distill-data-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws {
        try? FileManager.default.removeItem(atPath: dir)
    }

    func path(_ name: String) -> String { dir + "/" + name }

    func writeBytes(_ bytes: [UInt8], _ name: String) throws -> String {
        let p = path(name)
        try Data(bytes).write(to: URL(fileURLWithPath: p))
        return p
    }

    /// Asserts that `body` throws a `DataError` whose message contains every fragment.
    func assertDataError(_ fragments: [String], file: StaticString = #filePath, line: UInt = #line, _ body: () throws -> Void) {
        do {
            try body()
            XCTFail("expected a DataError containing \(fragments)", file: file, line: line)
        } catch let e as DataError {
            for f in fragments {
                XCTAssertTrue(e.description.contains(f), "'\(e.description)' does not mention '\(f)'", file: file, line: line)
            }
        } catch {
            XCTFail("expected DataError, got \(error)", file: file, line: line)
        }
    }
}

/// Runs `/usr/bin/python3 -c script args…`; skips the test when python3 or numpy is missing.
func runPython(_ script: String, _ args: [String] = []) throws -> String {
    let python = "/usr/bin/python3"
    guard FileManager.default.isExecutableFile(atPath: python) else { throw XCTSkip("no \(python)") }
    let p = Process()
    p.executableURL = URL(fileURLWithPath: python)
    p.arguments = ["-c", script] + args
    let out = Pipe(), err = Pipe()
    p.standardOutput = out
    p.standardError = err
    try p.run()
    let data = out.fileHandleForReading.readDataToEndOfFile()
    let errData = err.fileHandleForReading.readDataToEndOfFile()
    p.waitUntilExit()
    let stderr = String(decoding: errData, as: UTF8.self)
    if stderr.contains("No module named 'numpy'") { throw XCTSkip("numpy is not installed") }
    guard p.terminationStatus == 0 else {
        XCTFail("python failed (\(p.terminationStatus)): \(stderr)")
        return ""
    }
    return String(decoding: data, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
}

/// A deterministic byte pattern.
func pattern(_ n: Int, seed: Int = 7) -> [UInt8] { (0..<n).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ seed &* 17 &+ ($0 >> 3)) } }

/// IDX header bytes: magic 00 00 type rank, then big-endian dims.
func idxHeader(type: UInt8, dims: [Int]) -> [UInt8] {
    var h: [UInt8] = [0, 0, type, UInt8(dims.count)]
    for d in dims { h += [UInt8(d >> 24 & 255), UInt8(d >> 16 & 255), UInt8(d >> 8 & 255), UInt8(d & 255)] }
    return h
}
