import XCTest
import DistillCore

/// Asserts elementwise |a − b| ≤ rtol·|b| + atol (defaults rtol 1e-4, atol 1e-5, the tolerance of
/// every PyTorch comparison), reporting the worst element; a nil `a` (a gradient that never
/// arrived), a shape mismatch or a NaN fails.
public func assertClose(_ a: Tensor?, _ b: Tensor, rtol: Float = 1e-4, atol: Float = 1e-5, _ what: String,
                        file: StaticString = #filePath, line: UInt = #line) {
    guard let a else { XCTFail("\(what): no value (expected shape \(Shape.describe(b.shape)))", file: file, line: line); return }
    guard a.shape == b.shape else {
        XCTFail("\(what): shape \(Shape.describe(a.shape)) vs expected \(Shape.describe(b.shape))", file: file, line: line)
        return
    }
    let x = a.scalars, y = b.scalars
    var worst = -1, excess: Float = 0
    for i in 0..<x.count {
        let e = Swift.abs(x[i] - y[i]) - (rtol * Swift.abs(y[i]) + atol)
        if !(e <= 0) && (worst < 0 || e > excess || e.isNaN) { worst = i; excess = e }
    }
    if worst >= 0 { XCTFail("\(what): element \(worst): \(x[worst]) vs expected \(y[worst])", file: file, line: line) }
}
