import Foundation
import Ringfence

/// A runtime over a store in a temporary directory of its own, opened in the setup of the
/// benchmark that uses it (not when the benchmarks are listed); its teardown closes it and
/// deletes the directory.
public final class TemporaryRuntime: @unchecked Sendable {
    // Safety: `directory` and `current` are set and cleared only by setup and teardown hooks,
    // which the harness runs one at a time and never during the benchmark's own closure.
    private let label: String
    private let open: @Sendable (URL) throws -> Runtime
    private var directory: URL?
    private var current: Runtime?

    /// `open` makes the runtime, its store in the directory it is given; `label` names the directory.
    public init(_ label: String, open: @escaping @Sendable (URL) throws -> Runtime) {
        self.label = label
        self.open = open
    }

    /// Opens the runtime in a new directory.
    public func setUp() {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("ringfence-bench-\(label)-\(UUID().uuidString)")
        do {
            current = try open(directory)
        } catch {
            fatalError("cannot open the runtime of `\(label)`: \(error)")
        }
        self.directory = directory
    }

    /// The runtime, between setup and teardown.
    public var runtime: Runtime { current! }

    /// Closes the runtime and deletes its directory.
    public func tearDown() {
        current?.close()
        current = nil
        if let directory { try? FileManager.default.removeItem(at: directory) }
        directory = nil
    }
}
