import Foundation

/// What one run of a command printed and returned, in-process or through a built executable.
public struct CommandRun: Sendable {
    /// The exit status.
    public var status: Int32
    /// What went to stdout.
    public var stdout: String
    /// What went to stderr.
    public var stderr: String

    /// Creates a run's record.
    public init(status: Int32, stdout: String, stderr: String) {
        self.status = status
        self.stdout = stdout
        self.stderr = stderr
    }

    /// The stdout lines, without the final empty one.
    public var lines: [String] { stdout.split(separator: "\n", omittingEmptySubsequences: false).dropLast().map(String.init) }
}

/// The package's executables as `swift build` and `swift test` leave them, beside the test
/// bundle. `swift test` builds every product before it runs a test, so a missing executable is
/// an error (the tests that need one fail), never a reason to skip.
public enum BuiltBinary {
    /// The folders a product built with the tests can be in: the test runner's folder and, on
    /// Darwin, the one above the `.xctest` bundle.
    static var candidates: [URL] {
        var folders: [URL] = []
        if let main = Foundation.Bundle.main.executableURL { folders.append(main.deletingLastPathComponent()) }
        folders.append(Foundation.Bundle.main.bundleURL.deletingLastPathComponent())
        folders.append(Foundation.Bundle.main.bundleURL)
        if let first = CommandLine.arguments.first {
            folders.append(URL(fileURLWithPath: first).deletingLastPathComponent())
        }
        // On Darwin the test runner lives inside `RingfencePackageTests.xctest/Contents/MacOS`.
        folders += folders.map { $0.deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent() }
        return folders
    }

    /// The path of the built executable `name` (e.g. `ringfence`); throws, naming every folder
    /// searched, when it is not there.
    public static func path(_ name: String) throws -> String {
        let folders = candidates
        for folder in folders {
            let path = folder.appendingPathComponent(name).path
            if FileManager.default.isExecutableFile(atPath: path) { return path }
        }
        let searched = Array(Set(folders.map(\.path))).sorted().map { "`\($0)`" }.joined(separator: ", ")
        throw BuiltBinaryError(description: "no `\(name)` executable beside the test bundle (searched \(searched)): "
                                   + "run the tests with `swift test`, which builds it, or `swift build` first")
    }

    /// Runs the built executable `name` with `arguments`, writing `stdin` to it, and waits for it.
    public static func run(_ name: String, _ arguments: [String], stdin: String = "") throws -> CommandRun {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: try path(name))
        process.arguments = arguments
        let input = Pipe(), output = Pipe(), error = Pipe()
        process.standardInput = input
        process.standardOutput = output
        process.standardError = error
        try process.run()
        input.fileHandleForWriting.write(Data(stdin.utf8))
        try input.fileHandleForWriting.close()
        let out = output.fileHandleForReading.readDataToEndOfFile()
        let err = error.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return CommandRun(status: process.terminationStatus, stdout: String(decoding: out, as: UTF8.self),
                          stderr: String(decoding: err, as: UTF8.self))
    }
}

/// A built executable the tests need is missing.
public struct BuiltBinaryError: Error, CustomStringConvertible {
    /// What is missing and how to build it.
    public let description: String
}
