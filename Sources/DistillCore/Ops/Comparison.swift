/// Elementwise comparisons returning 0/1 masks (NumPy broadcasting). Not differentiable: the
/// result is a constant, off the tape, ready for `Tensor.select(where:_:_:)` or a multiply.
/// NaN compares false everywhere (so `equal` of NaN is 0), as in IEEE 754 and PyTorch.
extension Tensor {
    /// 1 where self > other, else 0.
    public func greater(_ other: Tensor) -> Tensor { Elementwise.zip(self, other, op: "greater") { $0 > $1 ? 1 : 0 } }
    /// 1 where self ≥ other, else 0.
    public func greaterEqual(_ other: Tensor) -> Tensor { Elementwise.zip(self, other, op: "greaterEqual") { $0 >= $1 ? 1 : 0 } }
    /// 1 where self < other, else 0.
    public func less(_ other: Tensor) -> Tensor { Elementwise.zip(self, other, op: "less") { $0 < $1 ? 1 : 0 } }
    /// 1 where self ≤ other, else 0.
    public func lessEqual(_ other: Tensor) -> Tensor { Elementwise.zip(self, other, op: "lessEqual") { $0 <= $1 ? 1 : 0 } }
    /// 1 where self = other, else 0.
    public func equal(_ other: Tensor) -> Tensor { Elementwise.zip(self, other, op: "equal") { $0 == $1 ? 1 : 0 } }

    public func greater(_ s: Float) -> Tensor { Elementwise.map(self) { $0 > s ? 1 : 0 } }
    public func greaterEqual(_ s: Float) -> Tensor { Elementwise.map(self) { $0 >= s ? 1 : 0 } }
    public func less(_ s: Float) -> Tensor { Elementwise.map(self) { $0 < s ? 1 : 0 } }
    public func lessEqual(_ s: Float) -> Tensor { Elementwise.map(self) { $0 <= s ? 1 : 0 } }
    public func equal(_ s: Float) -> Tensor { Elementwise.map(self) { $0 == s ? 1 : 0 } }
}
