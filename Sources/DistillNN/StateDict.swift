import DistillCore

extension Module {
    /// Parameters and buffers by dotted path (PyTorch `state_dict()` names; BatchNorm's
    /// `num_batches_tracked` is omitted). Values are detached copies-on-write of the live tensors.
    public func stateDict() -> [String: Tensor] {
        var out: [String: Tensor] = [:]
        for (p, param) in namedParameters() { out[p] = param.value.detached() }
        for (p, b) in namedBuffers() { out[p] = b.value }
        return out
    }

    /// Loads parameters and buffers by path. Strict: missing keys, unexpected keys (other than
    /// PyTorch's `*.num_batches_tracked`, which is ignored) and shape mismatches throw, naming the
    /// keys and both shapes; nothing is modified unless everything matches.
    public func loadStateDict(_ state: [String: Tensor]) throws {
        let params = namedParameters(), buffers = namedBuffers()
        var expected: [String: [Int]] = [:]
        for (p, x) in params { expected[p] = x.shape }
        for (p, b) in buffers { expected[p] = b.shape }
        let missing = expected.keys.filter { state[$0] == nil }.sorted()
        if !missing.isEmpty { throw ModuleError.missingKeys(missing) }
        let unexpected = state.keys.filter { expected[$0] == nil && !$0.hasSuffix("num_batches_tracked") }.sorted()
        if !unexpected.isEmpty { throw ModuleError.unexpectedKeys(unexpected) }
        for (k, shape) in expected.sorted(by: { $0.key < $1.key }) where state[k]!.shape != shape {
            throw ModuleError.shapeMismatch(key: k, expected: shape, got: state[k]!.shape)
        }
        for (p, x) in params { x.value = Tensor(shape: x.shape, scalars: state[p]!.scalars) }
        for (p, b) in buffers { b.value = Tensor(shape: b.shape, scalars: state[p]!.scalars) }
    }

    /// Saves `stateDict()` as a safetensors file (atomically), with optional metadata; the
    /// model's input transform is recorded under `input_transform` (`none` when it has none).
    public func save(to path: String, metadata: [String: String] = [:]) throws {
        var meta = metadata
        meta[InputNormalization.metadataKey] = inputNormalization?.description ?? "none"
        try SafeTensors(tensors: stateDict(), metadata: meta).write(to: path)
    }

    /// Loads a safetensors checkpoint written by `save(to:)` or by PyTorch (`safetensors.torch.save_file`),
    /// with the input transform it records (a file without one leaves the model's as it is).
    public func load(from path: String) throws {
        let file = try SafeTensors.read(from: path)
        try loadStateDict(file.tensors)
        try loadInputTransform(from: file.metadata)
    }

    /// Sets `inputNormalization` from a model file's metadata (`input_transform`); absent: unchanged.
    public func loadInputTransform(from metadata: [String: String]) throws {
        guard let text = metadata[InputNormalization.metadataKey] else { return }
        inputNormalization = try InputNormalization.parse(text)
    }
}
