import DistillCore

extension Module {
    /// The generator states of every module that owns one (dropout, attention, LSTM), by path,
    /// for checkpoints.
    public func randomStates() -> [String: [UInt64]] {
        var out: [String: [UInt64]] = [:]
        visit { path, m in if let r = m as? RandomStateOwner { out[path] = r.generatorState } }
        return out
    }

    /// Restores generator states saved by `randomStates()`; an unknown path or a state that is
    /// not 4 words throws, naming it and the valid paths.
    public func loadRandomStates(_ states: [String: [UInt64]]) throws {
        let mods = namedModules()
        for (path, s) in states {
            guard let r = mods.first(where: { $0.path == path })?.module as? RandomStateOwner, s.count == 4 else {
                throw ModuleError.unknownPath(path, valid: mods.filter { $0.module is RandomStateOwner }.map(\.path))
            }
            r.generatorState = s
        }
    }
}
