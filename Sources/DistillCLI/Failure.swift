import ArgumentParser
import Foundation

/// Runs a subcommand body, turning any error into one clear line on standard error and exit
/// status 1 (usage errors from the argument parser keep their own status 64).
func reportingErrors(_ body: () throws -> Void) throws {
    do {
        try body()
    } catch let e as ExitCode {
        throw e
    } catch {
        FileHandle.standardError.write(Data("distill: error: \(error)\n".utf8))
        throw ExitCode(1)
    }
}
