#if canImport(Glibc)
import Glibc
#endif
import CDNNL

/// One of the three convolution kernels of a `ConvGeometry`.
enum ConvDirection: Int, Hashable, CaseIterable, CustomStringConvertible {
    case forward, backwardData, backwardWeight
    var description: String { ["forward", "backward-data", "backward-weight"][rawValue] }
}

/// Memory layout a oneDNN convolution computes in. The caller's tensors are always plain
/// (NCHW activations, OIHW / GOIHW weights).
enum DNNLConvLayout: Int, Hashable, CaseIterable, CustomStringConvertible {
    /// Activations stay NCHW (the primitive reads and writes the caller's memory directly);
    /// only the weights may be reordered into the primitive's preferred format.
    case plain
    /// Every operand in the format the primitive prefers (`dnnl_format_tag_any`, typically
    /// nChw16c with OIhw16i16o weights), reordered from and to the plain layout at the edges.
    case blocked
    var description: String { self == .plain ? "plain" : "blocked" }
}

/// Convolution on oneDNN primitives over plain NCHW user memory: forward (bias fused), backward
/// data (= transposed convolution) and backward weights (bias gradient optional). No autograd
/// knowledge: `Ops/Conv.swift` records the adjoints, so gradients of any order still work.
///
/// A plan (the primitive plus the reorders at its edges) is created once per geometry,
/// direction, layout and bias flag and kept in a bounded cache guarded by a lock. Execution is
/// reentrant: every call creates its own memory objects, stream, scratchpad (user mode) and
/// blocked buffers, so plans may run on several threads at once.
enum DNNLConv {
    /// Entries kept before the cache is emptied (a training run uses a few dozen).
    static let cacheLimit = 256

    struct Key: Hashable {
        let geometry: ConvGeometry
        let direction: ConvDirection
        let layout: DNNLConvLayout
        let bias: Bool
    }

    /// One operand: the caller's plain layout and the primitive's, with the reorder between
    /// them when they differ (user → inner for inputs, inner → user for outputs).
    struct Operand {
        let arg: Int32
        var user: dnnl_memory_desc_t
        var inner: dnnl_memory_desc_t
        let reorder: dnnl_primitive_t?
        let reorderScratch: Int
        let isOutput: Bool
        /// Set when the primitive's layout for this activation is `Blocked16` of its shape: a
        /// storage already held blocked is used in place, and an output is returned blocked.
        var blocked16: Blocked16? = nil
    }

    /// Memory for one operand: the caller's plain buffer (reordered at the edge when the
    /// primitive wants another layout), or a buffer already in the operand's blocked layout.
    enum Buffer {
        case plain(UnsafeMutableRawPointer)
        case inner(UnsafeMutableRawPointer)
    }

    final class Plan {
        let primitive: dnnl_primitive_t
        let scratch: Int
        let operands: [Operand]
        let implementation: String
        init(primitive: dnnl_primitive_t, scratch: Int, operands: [Operand], implementation: String) {
            self.primitive = primitive; self.scratch = scratch; self.operands = operands; self.implementation = implementation
        }
        deinit {
            dnnl_primitive_destroy(primitive)
            for op in operands { if let r = op.reorder { dnnl_primitive_destroy(r) } }
        }
    }

    nonisolated(unsafe) private static var lock: UnsafeMutablePointer<pthread_mutex_t> = {
        let p = UnsafeMutablePointer<pthread_mutex_t>.allocate(capacity: 1)
        pthread_mutex_init(p, nil)
        return p
    }()
    nonisolated(unsafe) private static var engine: dnnl_engine_t? = nil
    nonisolated(unsafe) private static var attr: dnnl_primitive_attr_t? = nil
    nonisolated(unsafe) private static var plans: [Key: Plan] = [:]
    nonisolated(unsafe) private static var unsupported: Set<Key> = []

    /// The cached plan for a key, created on first use; nil when oneDNN cannot build it.
    static func plan(_ key: Key) -> Plan? {
        pthread_mutex_lock(lock)
        defer { pthread_mutex_unlock(lock) }
        if let p = plans[key] { return p }
        if unsupported.contains(key) { return nil }
        if plans.count >= cacheLimit { plans.removeAll() }
        if unsupported.count >= 4 * cacheLimit { unsupported.removeAll() }
        guard let p = create(key) else { unsupported.insert(key); return nil }
        plans[key] = p
        return p
    }

    /// Whether oneDNN builds this geometry and direction in this layout.
    static func supports(_ g: ConvGeometry, _ direction: ConvDirection, _ layout: DNNLConvLayout) -> Bool {
        plan(Key(geometry: g, direction: direction, layout: layout, bias: false)) != nil
    }

    /// Name of the oneDNN implementation a plan runs (for the benchmark and the verbose log).
    static func implementation(_ g: ConvGeometry, _ direction: ConvDirection, _ layout: DNNLConvLayout) -> String? {
        plan(Key(geometry: g, direction: direction, layout: layout, bias: false))?.implementation
    }

    /// y = conv(x, W) (+ bias); false (nothing written) when oneDNN cannot build the geometry.
    static func forward(x: UnsafePointer<Float>, weight: UnsafePointer<Float>, bias: UnsafePointer<Float>?,
                        y: UnsafeMutablePointer<Float>, _ g: ConvGeometry, layout: DNNLConvLayout) -> Bool {
        guard let p = plan(Key(geometry: g, direction: .forward, layout: layout, bias: bias != nil)) else { return false }
        var ptrs = [UnsafeMutableRawPointer(mutating: x), UnsafeMutableRawPointer(mutating: weight), UnsafeMutableRawPointer(y)]
        if let bias { ptrs.append(UnsafeMutableRawPointer(mutating: bias)) }
        execute(p, ptrs.map { .plain($0) }, g)
        return true
    }

    /// dx = convᵀ(dy, W); false when oneDNN cannot build the geometry.
    static func backwardData(dy: UnsafePointer<Float>, weight: UnsafePointer<Float>, dx: UnsafeMutablePointer<Float>,
                             _ g: ConvGeometry, layout: DNNLConvLayout) -> Bool {
        guard let p = plan(Key(geometry: g, direction: .backwardData, layout: layout, bias: false)) else { return false }
        execute(p, [.plain(UnsafeMutableRawPointer(mutating: dy)), .plain(UnsafeMutableRawPointer(mutating: weight)), .plain(UnsafeMutableRawPointer(dx))], g)
        return true
    }

    /// dW = Σₙ dy ⊗ x (and db = Σ dy when `db` is given); false when oneDNN cannot build it.
    static func backwardWeight(x: UnsafePointer<Float>, dy: UnsafePointer<Float>, dw: UnsafeMutablePointer<Float>,
                               db: UnsafeMutablePointer<Float>? = nil, _ g: ConvGeometry, layout: DNNLConvLayout) -> Bool {
        guard let p = plan(Key(geometry: g, direction: .backwardWeight, layout: layout, bias: db != nil)) else { return false }
        var ptrs = [UnsafeMutableRawPointer(mutating: x), UnsafeMutableRawPointer(mutating: dy), UnsafeMutableRawPointer(dw)]
        if let db { ptrs.append(UnsafeMutableRawPointer(db)) }
        execute(p, ptrs.map { .plain($0) }, g)
        return true
    }

    // MARK: - storage entry points (activations may stay blocked)

    /// The buffer to read an input activation from: its blocked copy when the primitive computes
    /// in that layout, else the plain elements (reordered at the edge).
    private static func input(_ s: TensorStorage, _ op: Operand) -> Buffer {
        if let l = op.blocked16, let b = s.blocked(as: l) { return .inner(UnsafeMutableRawPointer(b)) }
        return .plain(UnsafeMutableRawPointer(s.pointer))
    }

    /// Fresh storage for an output activation of `count` elements, blocked when the primitive computes blocked.
    private static func output(_ op: Operand, count: Int) -> (TensorStorage, Buffer) {
        if let l = op.blocked16 {
            let s = TensorStorage(uninitializedBlocked: l)
            return (s, .inner(UnsafeMutableRawPointer(s.blocked(as: l)!)))
        }
        let s = TensorStorage(uninitializedCount: count)
        return (s, .plain(UnsafeMutableRawPointer(s.pointer)))
    }

    /// y = conv(x, W) (+ bias) as new storage (blocked when the primitive computes blocked); nil
    /// when oneDNN cannot build the geometry.
    static func forward(x: TensorStorage, weight: TensorStorage, bias: TensorStorage?, _ g: ConvGeometry,
                        layout: DNNLConvLayout) -> TensorStorage? {
        guard let p = plan(Key(geometry: g, direction: .forward, layout: layout, bias: bias != nil)) else { return nil }
        let (y, yb) = output(p.operands[2], count: Shape.count(g.outputShape))
        var buffers = [input(x, p.operands[0]), .plain(UnsafeMutableRawPointer(weight.pointer)), yb]
        if let bias { buffers.append(.plain(UnsafeMutableRawPointer(bias.pointer))) }
        execute(p, buffers, g)
        return y
    }

    /// dx = convᵀ(dy, W) as new storage; nil when oneDNN cannot build the geometry.
    static func backwardData(dy: TensorStorage, weight: TensorStorage, _ g: ConvGeometry, layout: DNNLConvLayout) -> TensorStorage? {
        guard let p = plan(Key(geometry: g, direction: .backwardData, layout: layout, bias: false)) else { return nil }
        let (dx, dxb) = output(p.operands[2], count: Shape.count(g.inputShape))
        execute(p, [input(dy, p.operands[0]), .plain(UnsafeMutableRawPointer(weight.pointer)), dxb], g)
        return dx
    }

    /// dW = Σₙ dy ⊗ x into plain `dw`; false when oneDNN cannot build the geometry.
    static func backwardWeight(x: TensorStorage, dy: TensorStorage, dw: UnsafeMutablePointer<Float>, _ g: ConvGeometry,
                               layout: DNNLConvLayout) -> Bool {
        guard let p = plan(Key(geometry: g, direction: .backwardWeight, layout: layout, bias: false)) else { return false }
        execute(p, [input(x, p.operands[0]), input(dy, p.operands[1]), .plain(UnsafeMutableRawPointer(dw))], g)
        return true
    }

    // MARK: - execution

    /// A buffer of `bytes` from `BufferCache` (reused across steps, so no page faults), or nil for 0.
    private static func alignedBuffer(_ bytes: Int) -> UnsafeMutableRawPointer? {
        bytes == 0 ? nil : BufferCache.allocate(byteCount: bytes)
    }

    /// A memory object over `handle` (the caller's or a buffer of ours; oneDNN never owns it).
    private static func memory(_ md: inout dnnl_memory_desc_t, _ handle: UnsafeMutableRawPointer) -> dnnl_memory_t {
        var m: dnnl_memory_t? = nil
        let status = dnnl_memory_create(&m, &md, engine, handle)
        ensure(status == dnnl_success && m != nil, "oneDNN memory_create failed with status \(status.rawValue)")
        return m!
    }

    private static func run(_ prim: dnnl_primitive_t, _ stream: dnnl_stream_t?, scratch: Int, _ args: [dnnl_exec_arg_t], _ g: ConvGeometry) {
        var args = args
        var scratchMem: dnnl_memory_t? = nil
        let scratchBuf = alignedBuffer(scratch)
        defer {
            if let scratchMem { dnnl_memory_destroy(scratchMem) }
            if let scratchBuf { BufferCache.release(scratchBuf, byteCount: scratch) }
        }
        if let scratchBuf {
            var md = dnnl_memory_desc_t()
            var dims: [dnnl_dim_t] = [dnnl_dim_t(scratch)]
            dnnl_memory_desc_init_by_tag(&md, 1, &dims, dnnl_u8, dnnl_x)
            scratchMem = memory(&md, scratchBuf)
            args.append(dnnl_exec_arg_t(arg: DNNL_ARG_SCRATCHPAD, memory: scratchMem))
        }
        let status = dnnl_primitive_execute(prim, stream, Int32(args.count), &args)
        ensure(status == dnnl_success, "oneDNN convolution failed with status \(status.rawValue) for \(g)")
    }

    /// Runs a plan over the caller's buffers (in the order of `plan.operands`).
    private static func execute(_ plan: Plan, _ ptrs: [Buffer], _ g: ConvGeometry) {
        Threads.ensureApplied()
        var stream: dnnl_stream_t? = nil
        ensure(dnnl_stream_create(&stream, engine, dnnl_stream_default_flags.rawValue) == dnnl_success, "oneDNN stream_create failed")
        var owned: [dnnl_memory_t] = []
        var buffers: [(UnsafeMutableRawPointer, Int)] = []
        defer {
            for m in owned { dnnl_memory_destroy(m) }
            for (b, bytes) in buffers { BufferCache.release(b, byteCount: bytes) }
            dnnl_stream_destroy(stream)
        }
        var args: [dnnl_exec_arg_t] = []
        var after: [(dnnl_primitive_t, Int, dnnl_memory_t, dnnl_memory_t)] = []
        for (i, op) in plan.operands.enumerated() {
            if case .inner(let handle) = ptrs[i] {   // already in the primitive's layout: no reorder
                ensure(op.blocked16 != nil, "DNNLConv: a blocked buffer for an operand that is not blocked (\(g))")
                var inner = op.inner
                let innerMem = memory(&inner, handle)
                owned.append(innerMem)
                args.append(dnnl_exec_arg_t(arg: op.arg, memory: innerMem))
                continue
            }
            guard case .plain(let handle) = ptrs[i] else { continue }
            var user = op.user
            let userMem = memory(&user, handle)
            owned.append(userMem)
            guard let reorder = op.reorder else {
                args.append(dnnl_exec_arg_t(arg: op.arg, memory: userMem))
                continue
            }
            var inner = op.inner
            let bytes = dnnl_memory_desc_get_size(&inner)
            let buf = alignedBuffer(bytes)!
            buffers.append((buf, bytes))
            let innerMem = memory(&inner, buf)
            owned.append(innerMem)
            args.append(dnnl_exec_arg_t(arg: op.arg, memory: innerMem))
            if op.isOutput {
                after.append((reorder, op.reorderScratch, innerMem, userMem))
            } else {
                run(reorder, stream, scratch: op.reorderScratch,
                    [dnnl_exec_arg_t(arg: DNNL_ARG_SRC, memory: userMem), dnnl_exec_arg_t(arg: DNNL_ARG_DST, memory: innerMem)], g)
            }
        }
        run(plan.primitive, stream, scratch: plan.scratch, args, g)
        for (reorder, scratch, from, to) in after {
            run(reorder, stream, scratch: scratch,
                [dnnl_exec_arg_t(arg: DNNL_ARG_SRC, memory: from), dnnl_exec_arg_t(arg: DNNL_ARG_DST, memory: to)], g)
        }
        dnnl_stream_wait(stream)
    }

    // MARK: - creation (under the lock)

    private static func desc(_ dims: [Int], _ tag: dnnl_format_tag_t) -> dnnl_memory_desc_t {
        var md = dnnl_memory_desc_t()
        var d = dims.map { dnnl_dim_t($0) }
        dnnl_memory_desc_init_by_tag(&md, Int32(d.count), &d, dnnl_f32, tag)
        return md
    }

    private static func scratchSize(_ pd: dnnl_primitive_desc_t?) -> Int {
        guard let md = dnnl_primitive_desc_query_md(pd, dnnl_query_scratchpad_md, 0) else { return 0 }
        var copy = md.pointee
        return dnnl_memory_desc_get_size(&copy)
    }

    /// The operand `arg` of primitive descriptor `pd` (queried as `query`) against the plain `user`.
    private static func operand(_ pd: dnnl_primitive_desc_t?, _ query: dnnl_query_t, _ arg: Int32,
                                user: dnnl_memory_desc_t, isOutput: Bool) -> Operand? {
        guard let q = dnnl_primitive_desc_query_md(pd, query, 0) else { return nil }
        var inner = q.pointee, user = user
        if dnnl_memory_desc_equal(&inner, &user) != 0 {
            return Operand(arg: arg, user: user, inner: inner, reorder: nil, reorderScratch: 0, isOutput: isOutput)
        }
        var rpd: dnnl_primitive_desc_t? = nil
        let ok = isOutput ? dnnl_reorder_primitive_desc_create(&rpd, &inner, engine, &user, engine, attr)
                          : dnnl_reorder_primitive_desc_create(&rpd, &user, engine, &inner, engine, attr)
        guard ok == dnnl_success else { return nil }
        defer { dnnl_primitive_desc_destroy(rpd) }
        var prim: dnnl_primitive_t? = nil
        guard dnnl_primitive_create(&prim, rpd) == dnnl_success, let prim else { return nil }
        return Operand(arg: arg, user: user, inner: inner, reorder: prim, reorderScratch: scratchSize(rpd), isOutput: isOutput)
    }

    private static func create(_ key: Key) -> Plan? {
        if engine == nil {
            guard dnnl_engine_create(&engine, dnnl_cpu, 0) == dnnl_success,
                  dnnl_primitive_attr_create(&attr) == dnnl_success,
                  dnnl_primitive_attr_set_scratchpad_mode(attr, dnnl_scratchpad_mode_user) == dnnl_success else { return nil }
        }
        let g = key.geometry
        // oneDNN's right padding makes its output extent equal ours (floor rounding); dilation counts from 0
        let prH = (g.oh - 1) * g.sh + g.dh * (g.kh - 1) + 1 - g.h - g.ph
        let prW = (g.ow - 1) * g.sw + g.dw * (g.kw - 1) + 1 - g.w - g.pw
        var strides: [dnnl_dim_t] = [dnnl_dim_t(g.sh), dnnl_dim_t(g.sw)]
        var dilates: [dnnl_dim_t] = [dnnl_dim_t(g.dh - 1), dnnl_dim_t(g.dw - 1)]
        var padL: [dnnl_dim_t] = [dnnl_dim_t(g.ph), dnnl_dim_t(g.pw)]
        var padR: [dnnl_dim_t] = [dnnl_dim_t(prH), dnnl_dim_t(prW)]
        let wDims = g.groups == 1 ? g.weightShape : [g.groups, g.og, g.cg, g.kh, g.kw]
        let wTag = g.groups == 1 ? dnnl_oihw : dnnl_goihw
        let userSrc = desc(g.inputShape, dnnl_nchw), userDst = desc(g.outputShape, dnnl_nchw)
        let userW = desc(wDims, wTag), userB = desc([g.o], dnnl_x)
        let act = key.layout == .plain ? dnnl_nchw : dnnl_format_tag_any
        var src = desc(g.inputShape, act), dst = desc(g.outputShape, act)
        var wei = desc(wDims, dnnl_format_tag_any)
        let biasStore = UnsafeMutablePointer<dnnl_memory_desc_t>.allocate(capacity: 1)
        biasStore.initialize(to: userB)
        defer { biasStore.deallocate() }
        let bias: UnsafePointer<dnnl_memory_desc_t>? = key.bias ? UnsafePointer(biasStore) : nil

        var fwd = dnnl_convolution_desc_t()
        guard dnnl_dilated_convolution_forward_desc_init(&fwd, dnnl_forward_training, dnnl_convolution_direct, &src, &wei,
                                                         bias, &dst,
                                                         &strides, &dilates, &padL, &padR) == dnnl_success else { return nil }
        var fwdPD: dnnl_primitive_desc_t? = nil
        guard dnnl_primitive_desc_create(&fwdPD, &fwd, attr, engine, nil) == dnnl_success else { return nil }
        defer { dnnl_primitive_desc_destroy(fwdPD) }

        var pd: dnnl_primitive_desc_t? = nil
        var specs: [(dnnl_query_t, Int32, dnnl_memory_desc_t, Bool)]
        switch key.direction {
        case .forward:
            guard dnnl_primitive_desc_clone(&pd, fwdPD) == dnnl_success else { return nil }
            specs = [(dnnl_query_src_md, DNNL_ARG_SRC, userSrc, false), (dnnl_query_weights_md, DNNL_ARG_WEIGHTS, userW, false),
                     (dnnl_query_dst_md, DNNL_ARG_DST, userDst, true)]
            if key.bias { specs.append((dnnl_query_weights_md, DNNL_ARG_BIAS, userB, false)) }
        case .backwardData:
            var bwd = dnnl_convolution_desc_t()
            guard dnnl_dilated_convolution_backward_data_desc_init(&bwd, dnnl_convolution_direct, &src, &wei, &dst,
                                                                   &strides, &dilates, &padL, &padR) == dnnl_success,
                  dnnl_primitive_desc_create(&pd, &bwd, attr, engine, fwdPD) == dnnl_success else { return nil }
            specs = [(dnnl_query_diff_dst_md, DNNL_ARG_DIFF_DST, userDst, false), (dnnl_query_weights_md, DNNL_ARG_WEIGHTS, userW, false),
                     (dnnl_query_diff_src_md, DNNL_ARG_DIFF_SRC, userSrc, true)]
        case .backwardWeight:
            var bwd = dnnl_convolution_desc_t()
            guard dnnl_dilated_convolution_backward_weights_desc_init(&bwd, dnnl_convolution_direct, &src, &wei, bias,
                                                                      &dst, &strides, &dilates, &padL, &padR) == dnnl_success,
                  dnnl_primitive_desc_create(&pd, &bwd, attr, engine, fwdPD) == dnnl_success else { return nil }
            specs = [(dnnl_query_src_md, DNNL_ARG_SRC, userSrc, false), (dnnl_query_diff_dst_md, DNNL_ARG_DIFF_DST, userDst, false),
                     (dnnl_query_diff_weights_md, DNNL_ARG_DIFF_WEIGHTS, userW, true)]
            if key.bias { specs.append((dnnl_query_diff_weights_md, DNNL_ARG_DIFF_BIAS, userB, true)) }
        }
        defer { dnnl_primitive_desc_destroy(pd) }
        var operands: [Operand] = []
        for s in specs {
            // the bias is the second weights operand of its primitive descriptor (index 1)
            let index: Int32 = s.1 == DNNL_ARG_BIAS || s.1 == DNNL_ARG_DIFF_BIAS ? 1 : 0
            guard var op = index == 1 ? biasOperand(pd, s.0, s.1, user: s.2, isOutput: s.3) : operand(pd, s.0, s.1, user: s.2, isOutput: s.3)
            else { return nil }
            let activations = [DNNL_ARG_SRC, DNNL_ARG_DST, DNNL_ARG_DIFF_SRC, DNNL_ARG_DIFF_DST]
            if activations.contains(s.1), op.reorder != nil,
               let l = Blocked16(shape: s.1 == DNNL_ARG_SRC || s.1 == DNNL_ARG_DIFF_SRC ? g.inputShape : g.outputShape) {
                var blockedMD = desc(l.shape, dnnl_nChw16c), inner = op.inner
                if dnnl_memory_desc_equal(&blockedMD, &inner) != 0 { op.blocked16 = l }
            }
            operands.append(op)
        }
        var prim: dnnl_primitive_t? = nil
        guard dnnl_primitive_create(&prim, pd) == dnnl_success, let prim else { return nil }
        var info: UnsafePointer<CChar>? = nil
        dnnl_primitive_desc_query(pd, dnnl_query_impl_info_str, 0, &info)
        return Plan(primitive: prim, scratch: scratchSize(pd), operands: operands,
                    implementation: info.map { String(cString: $0) } ?? "?")
    }

    /// The bias (always plain `x`, as oneDNN keeps it): a direct operand, checked against the
    /// descriptor's second weights memory.
    private static func biasOperand(_ pd: dnnl_primitive_desc_t?, _ query: dnnl_query_t, _ arg: Int32,
                                    user: dnnl_memory_desc_t, isOutput: Bool) -> Operand? {
        guard let q = dnnl_primitive_desc_query_md(pd, query, 1) else { return nil }
        var inner = q.pointee, user = user
        guard dnnl_memory_desc_equal(&inner, &user) != 0 else { return nil }
        return Operand(arg: arg, user: user, inner: inner, reorder: nil, reorderScratch: 0, isOutput: isOutput)
    }
}
