import ArgumentParser
import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Runs a subcommand body, turning any error into one clear line on standard error and exit
/// status 1 (usage errors from the argument parser keep their own status 64).
func reportingErrors(_ body: () throws -> Void) throws {
    do {
        try body()
    } catch let e as ExitCode {
        throw e
    } catch {
        FileHandle.standardError.write(Data("distill: error: \(describe(error))\n".utf8))
        Distributed.abortOnError()   // under mpirun: end the whole job, no rank left waiting
        throw ExitCode(1)
    }
}

/// One line for any error: the project's own errors describe themselves; Foundation's file errors
/// (a full disk, a read-only directory, a missing parent) become `PATH: reason` instead of
/// `Error Domain=NSCocoaErrorDomain Code=… UserInfo={…}`.
func describe(_ error: Error) -> String {
    if error is CocoaError || (error as NSError).domain == NSCocoaErrorDomain || (error as NSError).domain == NSPOSIXErrorDomain {
        let e = error as NSError
        let path = (e.userInfo[NSFilePathErrorKey] as? String) ?? (e.userInfo[NSURLErrorKey] as? URL)?.path
        var reason = e.localizedDescription
        if let u = e.userInfo[NSUnderlyingErrorKey] as? NSError, u.domain == NSPOSIXErrorDomain {
            reason = String(cString: strerror(Int32(u.code)))
        } else if e.domain == NSPOSIXErrorDomain {
            reason = String(cString: strerror(Int32(e.code)))
        }
        return path.map { "\($0): \(reason)" } ?? reason
    }
    return "\(error)"
}
