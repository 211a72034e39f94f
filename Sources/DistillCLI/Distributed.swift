import Distill
import DistillCore
import DistillDistributed
import Foundation
import CMPI

extension MPIGroup: CollectiveGroup {}

/// The data-parallel side of a command started by `mpirun -np N` (N > 1): the job's group, the
/// threads of each process (the cores shared by the processes of this machine, unless
/// `--threads`, DISTILL_NUM_THREADS or OMP_NUM_THREADS say otherwise), and an error on any
/// rank ending the whole job (MPI_Abort) rather than leaving the others waiting in a collective.
enum Distributed {
    nonisolated(unsafe) static var current: DataParallel?

    /// The job's data-parallel context, or nil outside mpirun.
    static func start(threadsGiven: Bool) throws -> DataParallel? {
        guard let g = try MPIGroup.fromEnvironment() else { return nil }
        let env = ProcessInfo.processInfo.environment
        if !threadsGiven && env["DISTILL_NUM_THREADS"] == nil && env["OMP_NUM_THREADS"] == nil {
            Threads.set(max(1, ProcessInfo.processInfo.activeProcessorCount / max(g.localSize, 1)))
        }
        let p = DataParallel(group: g)
        current = p
        return p
    }

    /// Makes an experiment data-parallel under mpirun: only rank 0 reports progress and writes.
    static func attach(_ runner: ExperimentRunner, threadsGiven: Bool) throws {
        guard let p = try start(threadsGiven: threadsGiven) else { return }
        runner.parallel = p
        if !p.isWriter { runner.say = { _ in }; runner.showProgress = false }
    }

    /// Ends every process of the job with status 1 (called after the error is printed).
    static func abortOnError() {
        guard current != nil else { return }
        MPI_Abort(distill_mpi_comm_world(), 1)
    }
}
