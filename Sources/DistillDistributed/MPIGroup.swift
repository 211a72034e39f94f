import CMPI
import Foundation

/// Every process of an `mpirun` job, over Open MPI's MPI_COMM_WORLD: what data-parallel
/// training uses to broadcast the initial weights and all-reduce gradients and log scalars.
///
/// `MPIGroup.fromEnvironment()` returns a group only when the process was started by
/// `mpirun` (Open MPI sets `OMPI_COMM_WORLD_SIZE`), so one binary serves both ways.
/// `MPI_Init` is called once; `MPI_Finalize` at `finish()` (or process exit).
public final class MPIGroup {
    public let rank: Int
    public let size: Int
    /// Processes of the job on this machine (threads per process default to cores / this).
    public let localSize: Int
    nonisolated(unsafe) private static var initialised = false

    /// Why MPI could not be used.
    public struct Failure: Error, CustomStringConvertible {
        public let description: String
    }

    /// The job's group when started by mpirun with more than one process, else nil.
    public static func fromEnvironment() throws -> MPIGroup? {
        let env = ProcessInfo.processInfo.environment
        guard let s = env["OMPI_COMM_WORLD_SIZE"].flatMap(Int.init), s > 1 else { return nil }
        return try MPIGroup()
    }

    public init() throws {
        if !MPIGroup.initialised {
            var provided: Int32 = 0
            let rc = MPI_Init_thread(nil, nil, Int32(MPI_THREAD_FUNNELED), &provided)
            guard rc == MPI_SUCCESS else { throw Failure(description: "MPI_Init failed (error \(rc)); is this process started by mpirun?") }
            MPIGroup.initialised = true
            atexit { MPIGroup.finalize() }
        }
        var r: Int32 = 0, s: Int32 = 0
        MPI_Comm_rank(distill_mpi_comm_world(), &r)
        MPI_Comm_size(distill_mpi_comm_world(), &s)
        rank = Int(r); size = Int(s)
        localSize = ProcessInfo.processInfo.environment["OMPI_COMM_WORLD_LOCAL_SIZE"].flatMap(Int.init) ?? 1
    }

    static func finalize() {
        var done: Int32 = 0
        MPI_Finalized(&done)
        if initialised && done == 0 { MPI_Finalize() }
    }

    func check(_ rc: Int32, _ what: String) throws {
        guard rc == MPI_SUCCESS else { throw Failure(description: "\(what) failed on rank \(rank) of \(size) (MPI error \(rc))") }
    }

    /// Element-wise sum over the processes, in place; chunked so each call's count fits Int32.
    public func allReduceSum(_ p: UnsafeMutableBufferPointer<Float>) throws {
        var at = 0
        while at < p.count {
            let n = min(p.count - at, Int(Int32.max))
            try check(MPI_Allreduce(distill_mpi_in_place(), p.baseAddress! + at, Int32(n), distill_mpi_float(), distill_mpi_sum(), distill_mpi_comm_world()), "MPI_Allreduce")
            at += n
        }
    }

    public func allReduceSum(_ p: UnsafeMutableBufferPointer<Double>) throws {
        guard p.count > 0 else { return }
        try check(MPI_Allreduce(distill_mpi_in_place(), p.baseAddress!, Int32(p.count), distill_mpi_double(), distill_mpi_sum(), distill_mpi_comm_world()), "MPI_Allreduce")
    }

    public func broadcast(_ p: UnsafeMutableBufferPointer<Float>) throws {
        var at = 0
        while at < p.count {
            let n = min(p.count - at, Int(Int32.max))
            try check(MPI_Bcast(p.baseAddress! + at, Int32(n), distill_mpi_float(), 0, distill_mpi_comm_world()), "MPI_Bcast")
            at += n
        }
    }

    public func barrier() throws { try check(MPI_Barrier(distill_mpi_comm_world()), "MPI_Barrier") }
}
