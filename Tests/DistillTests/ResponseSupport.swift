import Foundation
import XCTest
import DistillCore

/// The PyTorch reference values written by Fixtures/make_response_fixtures.py (read-only).
enum ResponseFixture {
    struct Missing: Error, CustomStringConvertible {
        let key: String
        var description: String { "fixture key '\(key)' is missing from response_fixtures.json" }
    }

    static let root: [String: Any] = {
        guard let url = Bundle.module.url(forResource: "response_fixtures", withExtension: "json", subdirectory: "Fixtures"),
              let data = try? Data(contentsOf: url),
              let obj = try? JSONSerialization.jsonObject(with: data) as? [String: Any] else {
            preconditionFailure("Fixtures/response_fixtures.json is missing or unreadable")
        }
        return obj
    }()

    /// The value at a dotted key path ("losses.kd_T4.value"); a missing key throws naming it.
    /// Keys may contain dots only in their last component's case names, so segments are matched
    /// greedily against the keys present.
    static func value(_ path: String) throws -> Any {
        var cur: Any = root
        var rest = Substring(path)
        while !rest.isEmpty {
            guard let d = cur as? [String: Any] else { throw Missing(key: path) }
            // longest key that prefixes the rest at a segment boundary
            guard let k = d.keys.filter({ rest == $0 || rest.hasPrefix($0 + ".") }).max(by: { $0.count < $1.count }) else {
                throw Missing(key: path)
            }
            cur = d[k]!
            rest = rest.dropFirst(k.count)
            if rest.hasPrefix(".") { rest = rest.dropFirst() }
        }
        return cur
    }

    static func double(_ path: String) throws -> Double {
        guard let v = try value(path) as? Double else { throw Missing(key: path) }
        return v
    }

    static func ints(_ path: String) throws -> [Int] {
        guard let v = try value(path) as? [Int] else { throw Missing(key: path) }
        return v
    }

    static func tensor(_ path: String) throws -> Tensor { try tensor(try value(path), key: path) }

    static func tensor(_ any: Any, key: String) throws -> Tensor {
        guard let d = any as? [String: Any], let shape = d["shape"] as? [Int], let data = d["data"] as? [Double] else {
            throw Missing(key: key)
        }
        return Tensor(shape: shape, scalars: data.map { Float($0) })
    }

    static func tensors(_ path: String) throws -> [Tensor] {
        guard let a = try value(path) as? [Any] else { throw Missing(key: path) }
        return try a.enumerated().map { try tensor($0.element, key: "\(path)[\($0.offset)]") }
    }
}

/// Asserts elementwise |a − b| ≤ rtol·|b| + atol, reporting the worst element.
func assertResponseClose(_ a: Tensor, _ b: Tensor, rtol: Float = 1e-4, atol: Float = 1e-6, _ what: String,
                         file: StaticString = #filePath, line: UInt = #line) {
    guard a.shape == b.shape else {
        XCTFail("\(what): shape \(Shape.describe(a.shape)) vs expected \(Shape.describe(b.shape))", file: file, line: line)
        return
    }
    let x = a.scalars, y = b.scalars
    var worst = -1, excess: Float = 0
    for i in 0..<x.count {
        let e = abs(x[i] - y[i]) - (rtol * abs(y[i]) + atol)
        if !(e <= 0) && (worst < 0 || e > excess || e.isNaN) { worst = i; excess = e }
    }
    if worst >= 0 { XCTFail("\(what): element \(worst): \(x[worst]) vs expected \(y[worst])", file: file, line: line) }
}
