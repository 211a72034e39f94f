/// A dense, row-major Float32 tensor with value semantics.
///
/// The elements live in a shared `TensorStorage`; copies share it until one of them mutates
/// (copy-on-write). A tensor that takes part in differentiation carries a `GradNode` that ties
/// it to the tape (see `Autograd.swift`). Images are NCHW.
public struct Tensor: @unchecked Sendable {
    public private(set) var storage: TensorStorage
    public let shape: [Int]
    /// The tape node: a leaf for tensors marked `requiringGradient()`, an op node for results of
    /// differentiable ops while gradients are recorded, nil for constants.
    public internal(set) var node: GradNode?

    public init(storage: TensorStorage, shape: [Int], node: GradNode? = nil) {
        ensure(storage.count == Shape.count(shape),
                     "Tensor: storage holds \(storage.count) elements but shape \(Shape.describe(shape)) needs \(Shape.count(shape))")
        ensure(shape.allSatisfy { $0 >= 0 }, "Tensor: negative dimension in shape \(Shape.describe(shape))")
        self.storage = storage
        self.shape = shape
        self.node = node
    }

    /// A tensor of the given shape filled from `scalars` (row-major).
    public init(shape: [Int], scalars: [Float]) {
        ensure(scalars.count == Shape.count(shape),
                     "Tensor(shape:scalars:): \(scalars.count) scalars do not fill shape \(Shape.describe(shape)) (\(Shape.count(shape)) elements)")
        self.init(storage: TensorStorage(copying: scalars), shape: shape)
    }

    /// A rank-1 tensor.
    public init(_ scalars: [Float]) { self.init(shape: [scalars.count], scalars: scalars) }

    /// A rank-0 tensor.
    public init(_ scalar: Float) { self.init(storage: TensorStorage(repeating: scalar, count: 1), shape: []) }

    public init(shape: [Int], repeating value: Float) {
        self.init(storage: TensorStorage(repeating: value, count: Shape.count(shape)), shape: shape)
    }

    public static func zeros(_ shape: [Int]) -> Tensor { Tensor(shape: shape, repeating: 0) }
    public static func ones(_ shape: [Int]) -> Tensor { Tensor(shape: shape, repeating: 1) }

    /// Builds a tensor by letting `body` initialise every element of a fresh buffer.
    @inlinable
    public static func make(_ shape: [Int], _ body: (UnsafeMutablePointer<Float>) throws -> Void) rethrows -> Tensor {
        let s = TensorStorage(uninitializedCount: Shape.count(shape))
        try body(s.pointer)
        return Tensor(storage: s, shape: shape)
    }

    /// Builds a tensor held in the blocked layout `l` (whose element count is the shape's) by
    /// letting `body` initialise every element of a fresh blocked buffer.
    static func makeBlocked(_ shape: [Int], _ l: Blocked16, _ body: (UnsafeMutablePointer<Float>) -> Void) -> Tensor {
        let s = TensorStorage(uninitializedBlocked: l)
        body(s.blocked(as: l)!)
        return Tensor(storage: s, shape: shape)
    }

    public var rank: Int { shape.count }
    public var count: Int { storage.count }
    public var scalars: [Float] { Array(UnsafeBufferPointer(start: storage.pointer, count: storage.count)) }

    /// The value of a one-element tensor.
    public var item: Float {
        ensure(count == 1, "Tensor.item: tensor of shape \(Shape.describe(shape)) has \(count) elements, not 1")
        return storage.pointer[0]
    }

    /// Element at a multi-index (bounds-checked; for tests and small tensors, not hot loops).
    public subscript(_ index: Int...) -> Float {
        ensure(index.count == rank, "Tensor subscript: \(index.count) indices for rank \(rank) shape \(Shape.describe(shape))")
        var flat = 0
        for (i, d) in zip(index, shape) {
            ensure(i >= 0 && i < d, "Tensor subscript: index \(index) out of bounds for shape \(Shape.describe(shape))")
            flat = flat * d + i
        }
        return storage.pointer[flat]
    }

    @inlinable
    public func withUnsafeBufferPointer<R>(_ body: (UnsafeBufferPointer<Float>) throws -> R) rethrows -> R {
        try body(UnsafeBufferPointer(start: storage.pointer, count: storage.count))
    }

    /// Whether every element is finite (no NaN, no infinity), read in place.
    public var allFinite: Bool {
        withUnsafeBufferPointer { p in p.allSatisfy(\.isFinite) }
    }

    /// Mutable access to the elements, copying the storage first if it is shared.
    /// The tape node is kept: optimizers update leaf parameters in place this way.
    public mutating func withUnsafeMutableBufferPointer<R>(_ body: (UnsafeMutableBufferPointer<Float>) throws -> R) rethrows -> R {
        if !isKnownUniquelyReferenced(&storage) { storage = storage.copy() }
        return try body(UnsafeMutableBufferPointer(start: storage.mutablePointer(), count: storage.count))
    }

    /// Replaces the elements with those of `other` (same shape), keeping this tensor's node.
    public mutating func assign(_ other: Tensor) {
        ensure(other.shape == shape, "Tensor.assign: shape \(Shape.describe(other.shape)) does not match \(Shape.describe(shape))")
        let n = count
        withUnsafeMutableBufferPointer { dst in dst.baseAddress!.update(from: other.storage.pointer, count: n) }
    }
}

extension Tensor: CustomStringConvertible {
    public var description: String {
        let shown = scalars.prefix(16).map { String($0) }.joined(separator: ", ")
        return "Tensor(shape: \(Shape.describe(shape)), [\(shown)\(count > 16 ? ", …" : "")])"
    }
}

/// Integer tensor for labels and indices (class ids, gather indices, token ids).
public struct IntTensor: Sendable, Equatable {
    public let shape: [Int]
    public var scalars: [Int]

    public init(shape: [Int], scalars: [Int]) {
        ensure(scalars.count == Shape.count(shape),
                     "IntTensor: \(scalars.count) values do not fill shape \(Shape.describe(shape))")
        self.shape = shape
        self.scalars = scalars
    }

    public init(_ scalars: [Int]) { self.init(shape: [scalars.count], scalars: scalars) }
    public var count: Int { scalars.count }
}
