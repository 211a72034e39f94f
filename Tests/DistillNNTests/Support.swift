import Foundation
import XCTest
import DistillTestSupport
import DistillCore
@testable import DistillNN

/// The PyTorch reference values written by Fixtures/make_nn_fixtures.py (read-only).
enum Fixture {
    struct Missing: Error, CustomStringConvertible {
        let key: String
        var description: String { "fixture key '\(key)' is missing from nn_fixtures.json" }
    }

    static let root: [String: Any] = {
        guard let url = Bundle.module.url(forResource: "nn_fixtures", withExtension: "json", subdirectory: "Fixtures"),
              let data = try? Data(contentsOf: url),
              let obj = try? JSONSerialization.jsonObject(with: data) as? [String: Any] else {
            preconditionFailure("Fixtures/nn_fixtures.json is missing or unreadable")
        }
        return obj
    }()

    /// The object at a key path ("modules.linear.state"); a missing key throws naming it.
    static func object(_ path: String) throws -> [String: Any] {
        var cur: Any = root
        for k in path.split(separator: ".") {
            guard let d = cur as? [String: Any], let next = d[String(k)] else { throw Missing(key: path) }
            cur = next
        }
        guard let d = cur as? [String: Any] else { throw Missing(key: path) }
        return d
    }

    static func value(_ path: String) throws -> Any {
        let parts = path.split(separator: ".")
        let parent = try object(parts.dropLast().joined(separator: "."))
        guard let v = parent[String(parts.last!)] else { throw Missing(key: path) }
        return v
    }

    static func tensor(_ any: Any?, key: String) throws -> Tensor {
        guard let d = any as? [String: Any], let shape = d["shape"] as? [Int], let data = d["data"] as? [Double] else {
            throw Missing(key: key)
        }
        return Tensor(shape: shape, scalars: data.map { Float($0) })
    }

    static func tensor(_ path: String) throws -> Tensor { try tensor(try value(path), key: path) }

    static func tensors(_ path: String) throws -> [String: Tensor] {
        var out: [String: Tensor] = [:]
        for (k, v) in try object(path) { out[k] = try tensor(v, key: path + "." + k) }
        return out
    }
}

/// Finite-difference check of a module's forward, with respect to its input and every parameter.
func checkModuleGradients(_ m: Module, input: Tensor, eps: Float = 1e-2, atol: Float = 2e-3, rtol: Float = 2e-2,
                          _ what: String, file: StaticString = #filePath, line: UInt = #line,
                          forward: ((Module, Tensor) -> Tensor)? = nil) {
    let params = m.namedParameters()
    let saved = params.map { $0.parameter.value.detached() }
    defer { for (p, v) in zip(params, saved) { p.parameter.value = v } }
    let failures = GradientCheck.firstOrder([input] + saved, eps: eps, atol: atol, rtol: rtol) { xs in
        for (k, p) in params.enumerated() { p.parameter.value = xs[k + 1] }
        return forward?(m, xs[0]) ?? m(xs[0])
    }
    let names = ["input"] + params.map(\.path)
    XCTAssertTrue(failures.isEmpty, "\(what): \(failures.prefix(4).map { "\(names[$0.input]) \($0)" })", file: file, line: line)
}

func seeded(_ shape: [Int], _ lo: Float = -1, _ hi: Float = 1, seed: UInt64) -> Tensor {
    var g = SeededGenerator(seed: seed)
    return Tensor.uniform(shape, low: lo, high: hi, using: &g)
}
