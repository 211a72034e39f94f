import DistillCore

/// The multi-branch network of ONE (Lan, Zhu & Gong, "Knowledge Distillation by On-the-Fly
/// Native Ensemble", NeurIPS 2018) over an MLP: shared low-level layers (the trunk), m branches
/// holding the remaining hidden layers and a classifier each, and a gate that weighs the branches.
///
///     h = trunk(x),  z_i = branch_i(h),  g = softmax(W_g h + b_g),  z_e = Σ_i g_i · z_i
///
/// `forward` returns the gated ensemble z_e (what evaluation sees); `outputs` returns every
/// branch, the gate and the ensemble. The paper's gate on CNNs is global pooling → FC → BN → ReLU →
/// softmax; on flat features this network uses FC → softmax (the pooling has nothing to pool).
/// Each branch together with the trunk is an ordinary MLP (`branch(i)`), whose state dict
/// loads into `mlp:…` of `branchSpec` — the network one deploys after training.
///
/// Names: `trunk.fcK` (K = 1…trunk layers), `trunk.dropoutK`, `branchI.fcK` (K continues the
/// numbering), `branchI.dropoutK`, `gate`. Spec `one:800x800,branches=3,trunk=1,dropout=0.2`.
public final class OneNetwork: Module {
    public let trunkLayers: [Linear], trunkDropouts: [Dropout]
    public let branchLayers: [[Linear]], branchDropouts: [[Dropout]]
    public let gate: Linear
    public let hidden: [Int], dropout: Float

    /// - Parameters:
    ///   - hidden: the hidden widths of each branch's MLP; the first `trunk` of them are shared.
    public init(inputs: Int, hidden: [Int], classes: Int, branches: Int, trunk: Int, dropout: Float = 0, seed: UInt64 = 0) {
        ensure(branches >= 2 && trunk >= 1 && trunk <= hidden.count, "OneNetwork: \(branches) branches, trunk \(trunk) of \(hidden.count) hidden layers")
        var g = SeededGenerator(seed: seed)
        let widths = [inputs] + hidden + [classes]
        func drop(_ k: Int, _ b: Int) -> Dropout? { dropout > 0 && k < hidden.count ? Dropout(probability: dropout, seed: seed &+ 101 &+ UInt64(k) &+ 1000 &* UInt64(b)) : nil }
        trunkLayers = (0..<trunk).map { Linear(widths[$0], widths[$0 + 1], using: &g) }
        trunkDropouts = (0..<trunk).compactMap { drop($0, 0) }
        branchLayers = (0..<branches).map { _ in (trunk..<(widths.count - 1)).map { Linear(widths[$0], widths[$0 + 1], using: &g) } }
        branchDropouts = (0..<branches).map { b in (trunk..<hidden.count).compactMap { drop($0, b + 1) } }
        gate = Linear(widths[trunk], branches, using: &g)
        self.hidden = hidden; self.dropout = dropout
        super.init()
        let t = Sequential([])
        for (k, l) in trunkLayers.enumerated() { t.register(child: l, as: "fc\(k + 1)") }
        for (k, d) in trunkDropouts.enumerated() { t.register(child: d, as: "dropout\(k + 1)") }
        register(child: t, as: "trunk")
        for b in 0..<branches {
            let s = Sequential([])
            for (k, l) in branchLayers[b].enumerated() { s.register(child: l, as: "fc\(trunk + k + 1)") }
            for (k, d) in branchDropouts[b].enumerated() { s.register(child: d, as: "dropout\(trunk + k + 1)") }
            register(child: s, as: "branch\(b)")
        }
        register(child: gate, as: "gate")
    }

    public var branchCount: Int { branchLayers.count }

    /// The spec of one deployed branch: trunk and branch as an `mlp`.
    public var branchSpec: String {
        "mlp:" + hidden.map(String.init).joined(separator: "x") + (dropout > 0 ? ",dropout=\(dropout)" : "")
    }

    /// Branch `i` with the trunk: an MLP sharing this network's layers (the deployable student).
    public func branch(_ i: Int) -> MLP {
        MLP(layers: trunkLayers + branchLayers[i], dropouts: trunkDropouts + branchDropouts[i])
    }

    /// Every branch's logits [N, C], the gate [N, m] and the gated ensemble [N, C] (the input
    /// normalisation applied first, as `callAsFunction` does).
    public func outputs(_ x: Tensor) -> (branches: [Tensor], gate: Tensor, ensemble: Tensor) {
        heads(inputNormalization.map { $0.apply(x) } ?? x)
    }

    func heads(_ x: Tensor) -> (branches: [Tensor], gate: Tensor, ensemble: Tensor) {
        var h = x.rank == 2 ? x : x.flattened()
        for (k, l) in trunkLayers.enumerated() {
            h = l(h).relu()
            if k < trunkDropouts.count { h = trunkDropouts[k](h) }
        }
        let zs = branchLayers.indices.map { b -> Tensor in
            var z = h
            for (k, l) in branchLayers[b].enumerated() {
                z = l(z)
                if k < branchLayers[b].count - 1 {
                    z = z.relu()
                    if k < branchDropouts[b].count { z = branchDropouts[b][k](z) }
                }
            }
            return z
        }
        let g = gate(h).softmax(alongAxis: 1)
        var e = zs[0] * g.slice(axis: 1, start: 0, length: 1)
        for b in 1..<zs.count { e = e + zs[b] * g.slice(axis: 1, start: b, length: 1) }
        return (zs, g, e)
    }

    public override func forward(_ x: Tensor) -> Tensor { heads(x).ensemble }
}
