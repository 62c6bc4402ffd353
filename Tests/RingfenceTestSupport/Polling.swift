import Foundation

/// Polls `condition` every `interval` seconds for up to `seconds`, checking it once more at the
/// end; true once it holds. For waiting on another thread or process without a timing assertion.
public func eventually(within seconds: Double, every interval: Double, _ condition: () throws -> Bool) rethrows -> Bool {
    let deadline = Date().addingTimeInterval(seconds)
    while Date() < deadline {
        if try condition() { return true }
        usleep(useconds_t(interval * 1_000_000))
    }
    return try condition()
}
