import Foundation

/// The source checkout the tests run from: corpora, policies, schemas and docs are read by path
/// from here, and recorded fixtures are written back here.
public enum Repository {
    /// The package root, found from this file's path (`Tests/RingfenceTestSupport/Fixtures.swift`).
    public static let root: URL = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    /// The file or folder at `path`, relative to the package root.
    public static func url(_ path: String) -> URL { root.appendingPathComponent(path) }

    /// The text of the file at `path`, relative to the package root.
    public static func text(_ path: String) throws -> String {
        try String(contentsOf: url(path), encoding: .utf8)
    }
}

/// The corpora in `Tests/Fixtures`, shared by every test target. Listing a folder that holds no
/// fixture throws, so a fixture-driven test whose folder is missing, misnamed or emptied fails
/// instead of passing with nothing to check.
public enum Fixtures {
    /// `Tests/Fixtures` in the source tree.
    public static let root: URL = Repository.url("Tests/Fixtures")

    /// The fixture folder or file at `path`, relative to `Tests/Fixtures` (e.g. `eval` or
    /// `dialects/corpus/rules-defaults.yaml`).
    public static func url(_ path: String) -> URL { root.appendingPathComponent(path) }

    /// The text of fixture file `url`.
    public static func text(_ url: URL) throws -> String {
        try String(contentsOf: url, encoding: .utf8)
    }

    /// The names of the files in `folder` ending in one of `suffixes`, sorted (hidden entries are
    /// skipped); throws when there are none.
    public static func names(in folder: String, suffixes: [String] = [".yaml", ".yml"]) throws -> [String] {
        let names = try listing(folder).filter { name in
            !isFolder(folder, name) && suffixes.contains { name.hasSuffix($0) }
        }
        return try nonEmpty(names, folder, "no file ending in \(suffixes.map { "`\($0)`" }.joined(separator: " or "))")
    }

    /// The names of the sub-folders of `folder`, sorted; throws when there are none.
    public static func folders(in folder: String) throws -> [String] {
        try nonEmpty(try listing(folder).filter { isFolder(folder, $0) }, folder, "no sub-folder")
    }

    /// The files of `folder` ending in one of `suffixes` and its sub-folders, sorted together;
    /// throws when there are none.
    public static func entries(in folder: String, suffixes: [String] = [".yaml", ".yml"]) throws -> [String] {
        let names = try listing(folder).filter { name in isFolder(folder, name) || suffixes.contains { name.hasSuffix($0) } }
        return try nonEmpty(names, folder, "no fixture")
    }

    /// The paths, relative to `folder`, of every file below it at any depth (hidden ones
    /// skipped), sorted; throws when there are none.
    public static func paths(under folder: String) throws -> [String] {
        let base = url(folder)
        guard let walker = FileManager.default.enumerator(at: base, includingPropertiesForKeys: [.isDirectoryKey],
                                                          options: [.skipsHiddenFiles]) else {
            throw FixtureError("cannot list `\(relative(folder))`")
        }
        var found: [String] = []
        let prefix = base.standardizedFileURL.path + "/"
        for case let file as URL in walker where (try? file.resourceValues(forKeys: [.isDirectoryKey]).isDirectory) != true {
            let path = file.standardizedFileURL.path
            found.append(path.hasPrefix(prefix) ? String(path.dropFirst(prefix.count)) : file.lastPathComponent)
        }
        return try nonEmpty(found.sorted(), folder, "no file")
    }

    /// The visible entries of `folder`, sorted.
    private static func listing(_ folder: String) throws -> [String] {
        do {
            return try FileManager.default.contentsOfDirectory(atPath: url(folder).path).filter { !$0.hasPrefix(".") }.sorted()
        } catch {
            throw FixtureError("cannot list `\(relative(folder))`: \(error.localizedDescription)")
        }
    }

    /// True when `name` inside `folder` is a directory.
    private static func isFolder(_ folder: String, _ name: String) -> Bool {
        var isDirectory: ObjCBool = false
        return FileManager.default.fileExists(atPath: url(folder).appendingPathComponent(name).path, isDirectory: &isDirectory)
            && isDirectory.boolValue
    }

    /// `names`, or an error saying `folder` holds `what` when it is empty.
    private static func nonEmpty(_ names: [String], _ folder: String, _ what: String) throws -> [String] {
        guard !names.isEmpty else { throw FixtureError("`\(relative(folder))` holds \(what): a fixture-driven test needs at least one") }
        return names
    }

    /// `folder` as written in messages (`Tests/Fixtures/…`).
    private static func relative(_ folder: String) -> String { "Tests/Fixtures/\(folder)" }
}

/// A fixture folder that cannot be listed or holds nothing to test.
public struct FixtureError: Error, CustomStringConvertible {
    /// What is wrong.
    public let description: String

    /// Creates an error with its description.
    public init(_ description: String) { self.description = description }
}
