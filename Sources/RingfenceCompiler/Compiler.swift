import RingfenceBytecode
import RingfenceDiagnostics
import RingfenceMatch
import RingfenceSyntax

/// What compiling a set of files produced: a program when there were no errors, every
/// diagnostic (sorted), the sources for rendering snippets, and the compiled patterns.
public struct CompilationResult: Sendable {
    /// The program, or nil when any error was found. Setting it drops `verifiedProgram` and
    /// `bundle`, so an engine built from the result verifies the replacement itself.
    public var program: Program? {
        get { verifiedProgram?.program ?? replacement }
        set {
            verifiedProgram = nil
            bundle = nil
            replacement = newValue
        }
    }
    /// The program as the compiler's last stage verified it (nil with errors, or once `program`
    /// was replaced): a machine takes it without verifying again.
    public private(set) var verifiedProgram: VerifiedProgram?
    /// The program's bundle bytes as the emit stage encoded them (nil with errors, or once
    /// `program` was replaced): `compile` writes them without encoding again.
    public private(set) var bundle: [UInt8]?
    /// A program set in place of the compiled one.
    private var replacement: Program?
    /// Every problem found, sorted by file, line and column.
    public var diagnostics: [Diagnostic]
    /// The text of every file read, keyed by path.
    public var sources: [String: SourceFile]
    /// The policy documents that parsed, in input order.
    public var documents: [PolicyDocument]
    /// The saga documents that parsed, in input order (their plans are in `program.sagas`).
    public var sagas: [SagaDocument] = []
    /// The runtime files read, in input order (at most one compiles; its settings are in
    /// `program.runtime`).
    public var runtimes: [RuntimeDocument] = []
    /// Every glob and regex the compilation compiled, each once: a machine built from this result
    /// takes its patterns from here instead of compiling them again.
    public let patterns: PatternCache

    /// True when there are errors (warnings allowed).
    public var hasErrors: Bool { diagnostics.containsErrors }

    /// Assembles a result.
    init(verifiedProgram: VerifiedProgram?, bundle: [UInt8]?, diagnostics: [Diagnostic], sources: [String: SourceFile],
         documents: [PolicyDocument], patterns: PatternCache) {
        self.verifiedProgram = verifiedProgram
        self.bundle = bundle
        self.diagnostics = diagnostics
        self.sources = sources
        self.documents = documents
        self.patterns = patterns
    }
}

/// The compiler: load → parse, then five stages, each run once over the whole input —
///
/// ```
/// Resolve   documents → policies, shared thresholds, saga plans, runtime settings   Resolve.swift
/// Check     policy ASTs → checked rules with typed `when`; every pattern compiled   Check.swift
/// Lower     checked rules → code, tables and the pc-to-source table                Lower.swift
/// Index     program → program with its action index and resource prefixes         Index.swift
/// Emit      program + sagas + runtime → VerifiedProgram and its bundle bytes       Emit.swift
///           (the one verification, the one encoding; a bundle past 256 MiB is RF4008)
/// ```
///
/// One `PatternCache` per compilation carries the compiled globs and regexes from the check
/// stage to the shadowing analysis, lowering and the machine (SPEC §3.5).
public enum Compiler {
    /// Compiles every policy file named by `paths` (directories expand to their YAML files);
    /// `dialect` forces how seed files are read (nil: recognised by shape).
    public static func compile(paths: [String], dialect: DocumentDialect? = nil) -> CompilationResult {
        run(Load.files(paths, dialect: dialect))
    }

    /// Compiles policy text held in memory (for tests, the REPL and embedding).
    public static func compile(source text: String, file: String = "<input>") -> CompilationResult {
        compile(sources: [(file, text)])
    }

    /// Compiles several in-memory policy files, in order.
    public static func compile(sources files: [(path: String, text: String)]) -> CompilationResult {
        run(Load.texts(files))
    }

    /// Checks and lowers parsed policy documents into one verified program (no sagas, default
    /// runtime settings); `sources` (when given) let diagnostics inside quoted `when` strings
    /// point at the exact column.
    public static func compile(_ documents: [PolicyDocument], sources: [String: SourceFile] = [:]) -> (Program?, [Diagnostic]) {
        let resolution = Resolve.run(policies: documents, sagas: [], runtimes: [])
        var (program, diagnostics) = policyProgram(resolution, sources: sources, patterns: PatternCache())
        guard let lowered = program else { return (nil, diagnostics) }
        let emitted = Emit.run(lowered, at: documents.first?.location ?? unplaced)
        diagnostics += emitted.diagnostics
        program = emitted.program?.program
        return (program, diagnostics)
    }

    /// Runs the stages over what the front end read.
    private static func run(_ input: LoadedSources) -> CompilationResult {
        let patterns = PatternCache()
        let resolution = Resolve.run(policies: input.policies, sagas: input.sagas, runtimes: input.runtimes)
        let (program, policyDiagnostics) = policyProgram(resolution, sources: input.sources, patterns: patterns)
        var diagnostics = input.diagnostics + policyDiagnostics + resolution.sagaDiagnostics + resolution.runtimeDiagnostics
        var emitted = Emit.Output(diagnostics: [])
        // With errors anywhere nothing is emitted.
        if var complete = program, !diagnostics.containsErrors {
            complete.sagas = resolution.sagas
            complete.runtime = resolution.runtime
            let at = input.policies.first?.location ?? input.sagas.first?.location ?? input.runtimes.first?.location ?? unplaced
            emitted = Emit.run(complete, at: at)
            diagnostics += emitted.diagnostics
        }
        var result = CompilationResult(verifiedProgram: emitted.program, bundle: emitted.bundle, diagnostics: diagnostics.sortedForOutput(),
                                       sources: input.sources, documents: input.policies, patterns: patterns)
        result.sagas = input.sagas
        result.runtimes = input.runtimes
        return result
    }

    /// Check → lower → index over the resolved policies: their program without saga plans or
    /// runtime settings, or nil when the policies have errors (which are among the diagnostics).
    private static func policyProgram(_ resolution: Resolution, sources: [String: SourceFile],
                                      patterns: PatternCache) -> (Program?, [Diagnostic]) {
        let checked = Check.run(resolution.policies, sources: sources, patterns: patterns)
        var diagnostics = resolution.policyDiagnostics + checked.diagnostics
        // Incomplete rules carry structural errors reported by the parser: check them, never lower them.
        guard !diagnostics.containsErrors, checked.isComplete else { return (nil, diagnostics) }
        let lowered = Lower.run(checked.rules, policies: resolution.policies, thresholds: resolution.thresholds, patterns: patterns)
        diagnostics += lowered.diagnostics
        guard var program = lowered.program else { return (nil, diagnostics) }
        Index.run(&program)
        return (program, diagnostics)
    }

    /// Where problems that belong to no file are reported.
    private static let unplaced = SourceLocation(file: "<input>", line: 1, column: 1)
}
