import RingfenceDiagnostics
import RingfenceSyntax

/// What the front end read before the compiler's stages run: every document by kind, in input
/// order, the text of every file, and the problems found reading and parsing them.
struct LoadedSources {
    /// The policy documents that parsed.
    var policies: [PolicyDocument] = []
    /// The saga documents that parsed.
    var sagas: [SagaDocument] = []
    /// The runtime files that parsed.
    var runtimes: [RuntimeDocument] = []
    /// The text of every file read, keyed by path.
    var sources: [String: SourceFile] = [:]
    /// Problems found expanding, reading and parsing the files.
    var diagnostics: [Diagnostic] = []

    /// Files a parsed document under its kind (tests files are not compiled).
    mutating func add(_ document: ParsedDocument?) {
        switch document {
        case .policy(let policy)?: policies.append(policy)
        case .saga(let saga)?: sagas.append(saga)
        case .runtime(let runtime)?: runtimes.append(runtime)
        case .tests?, nil: break
        }
    }
}

/// The front end: files or in-memory texts → YAML → documents (SPEC §3.5's load and parse).
enum Load {
    /// Reads every file `paths` name (directories expand to their YAML files) and parses each;
    /// `dialect` forces how seed files are read (nil: recognised by shape).
    static func files(_ paths: [String], dialect: DocumentDialect?) -> LoadedSources {
        let (files, expandDiagnostics) = SourceLoader.expand(paths)
        var loaded = LoadedSources(diagnostics: expandDiagnostics)
        for file in files {
            switch SourceLoader.read(file) {
            case .failure(let d): loaded.diagnostics.append(d)
            case .success(let bytes):
                loaded.sources[file] = SourceFile(path: file, text: String(decoding: bytes, as: UTF8.self))
                let yaml = YAMLLoader.load(bytes: bytes, file: file)
                loaded.diagnostics += yaml.diagnostics
                guard let root = yaml.document else { continue }
                let (document, parseDiagnostics) = DocumentParser.parse(root, file: file, dialect: dialect)
                loaded.diagnostics += parseDiagnostics
                loaded.add(document)
            }
        }
        return loaded
    }

    /// Parses in-memory files, in order.
    static func texts(_ files: [(path: String, text: String)]) -> LoadedSources {
        var loaded = LoadedSources()
        for (path, text) in files {
            loaded.sources[path] = SourceFile(path: path, text: text)
            let (document, parseDiagnostics) = DocumentParser.parse(text: text, file: path)
            loaded.diagnostics += parseDiagnostics
            loaded.add(document)
        }
        return loaded
    }
}
