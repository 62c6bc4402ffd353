import Foundation
import RingfenceDiagnostics

/// Finds the policy files named on a command line and reads their bytes (SPEC §2).
public enum SourceLoader {
    /// How deep below a directory argument files are looked for (guards against symlink loops
    /// and pathological trees).
    static let maxDirectoryDepth = 32

    /// Expands paths: a file stays as is; a directory becomes every `*.yaml`/`*.yml` below it
    /// (recursive, sorted by path, hidden files and directories skipped). Unreadable or missing
    /// paths give RF0001 at `path:1:1`; a directory with no YAML files gives RF0015.
    ///
    /// A file named twice (directly or through a directory) is listed once, where first found.
    public static func expand(_ paths: [String]) -> (files: [String], diagnostics: [Diagnostic]) {
        var files: [String] = []
        var seen: Set<String> = []
        var diagnostics: [Diagnostic] = []
        let fileManager = FileManager.default
        for path in paths {
            var isDirectory: ObjCBool = false
            guard fileManager.fileExists(atPath: path, isDirectory: &isDirectory) else {
                diagnostics.append(Diagnostic(.fileUnreadable, Messages.pathNotFound(path), at: start(of: path)))
                continue
            }
            if !isDirectory.boolValue {
                guard fileManager.isReadableFile(atPath: path) else {
                    diagnostics.append(Diagnostic(.fileUnreadable, Messages.pathUnreadable(path, reason: "permission denied"), at: start(of: path)))
                    continue
                }
                if seen.insert(path).inserted { files.append(path) }
                continue
            }
            var found: [String] = []
            var visited: Set<String> = []
            walk(path, depth: 0, into: &found, visited: &visited, diagnostics: &diagnostics)
            if found.isEmpty {
                if !diagnostics.contains(where: { $0.location.file == path && $0.code == .fileUnreadable }) {
                    diagnostics.append(Diagnostic(.noInputFiles, Messages.noYAMLFiles(in: path), at: start(of: path)))
                }
                continue
            }
            for file in found.sorted() where seen.insert(file).inserted {
                files.append(file)
            }
        }
        return (files, diagnostics)
    }

    /// Reads a file's bytes; errors as RF0001 (missing or unreadable) or RF0003 (too large).
    public static func read(_ path: String) -> Result<[UInt8], Diagnostic> {
        let fileManager = FileManager.default
        var isDirectory: ObjCBool = false
        guard fileManager.fileExists(atPath: path, isDirectory: &isDirectory) else {
            return .failure(Diagnostic(.fileUnreadable, Messages.pathNotFound(path), at: start(of: path)))
        }
        if isDirectory.boolValue {
            return .failure(Diagnostic(.fileUnreadable, Messages.pathUnreadable(path, reason: "it is a directory"), at: start(of: path)))
        }
        let limit = YAMLLimits.default.maxBytes
        if let size = (try? fileManager.attributesOfItem(atPath: path))?[.size] as? Int, size > limit {
            return .failure(Diagnostic(.fileTooLarge, Messages.fileTooLarge(path, bytes: size, limit: limit), at: start(of: path)))
        }
        guard let data = fileManager.contents(atPath: path) else {
            let reason = fileManager.isReadableFile(atPath: path) ? "the file could not be read" : "permission denied"
            return .failure(Diagnostic(.fileUnreadable, Messages.pathUnreadable(path, reason: reason), at: start(of: path)))
        }
        if data.count > limit {
            return .failure(Diagnostic(.fileTooLarge, Messages.fileTooLarge(path, bytes: data.count, limit: limit), at: start(of: path)))
        }
        return .success([UInt8](data))
    }

    /// Collects the YAML files below `directory`, skipping hidden entries and directories
    /// already visited (symlink loops).
    private static func walk(_ directory: String, depth: Int, into found: inout [String], visited: inout Set<String>,
                             diagnostics: inout [Diagnostic]) {
        let fileManager = FileManager.default
        let canonical = URL(fileURLWithPath: directory).resolvingSymlinksInPath().path
        guard depth <= maxDirectoryDepth, visited.insert(canonical).inserted else { return }
        let entries: [String]
        do {
            entries = try fileManager.contentsOfDirectory(atPath: directory)
        } catch {
            let reason = fileManager.isReadableFile(atPath: directory) ? "the directory could not be listed" : "permission denied"
            diagnostics.append(Diagnostic(.fileUnreadable, Messages.pathUnreadable(directory, reason: reason), at: start(of: directory)))
            return
        }
        for name in entries.sorted() where !name.hasPrefix(".") {
            let path = directory.hasSuffix("/") ? directory + name : directory + "/" + name
            var isDirectory: ObjCBool = false
            guard fileManager.fileExists(atPath: path, isDirectory: &isDirectory) else { continue }
            if isDirectory.boolValue {
                walk(path, depth: depth + 1, into: &found, visited: &visited, diagnostics: &diagnostics)
            } else if name.hasSuffix(".yaml") || name.hasSuffix(".yml") {
                found.append(path)
            }
        }
    }

    /// The `path:1:1` location file-level problems are reported at.
    private static func start(of path: String) -> SourceLocation {
        SourceLocation(file: path, line: 1, column: 1)
    }
}
