/// Checks an invariant of an op and stops with `message` when it is broken.
///
/// Unlike `precondition`, whose message is dropped in optimised builds, this prints the message
/// (which names the shapes involved) in every build configuration, including `-Ounchecked`.
@inline(__always)
public func ensure(_ condition: @autoclosure () -> Bool, _ message: @autoclosure () -> String,
                   file: StaticString = #fileID, line: UInt = #line) {
    if !condition() { failCheck(message(), file: file, line: line) }
}

@inline(never)
public func failCheck(_ message: String, file: StaticString = #fileID, line: UInt = #line) -> Never {
    fatalError(message, file: file, line: line)
}
