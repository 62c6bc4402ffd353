import RingfenceBytecode
import RingfenceDiagnostics
import RingfenceMatch
import RingfenceSyntax

/// What compiling a set of files produced: a program when there were no errors, every
/// diagnostic (sorted), and the sources for rendering snippets.
public struct CompilationResult: Sendable {
    /// The program, or nil when any error was found.
    public var program: Program?
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

    /// True when there are errors (warnings allowed).
    public var hasErrors: Bool { diagnostics.containsErrors }
}

/// The compiler's stages: load → parse → check → lower → verify (SPEC §3.5).
public enum Compiler {
    /// Compiles every policy file named by `paths` (directories expand to their YAML files);
    /// `dialect` forces how seed files are read (nil: recognised by shape).
    public static func compile(paths: [String], dialect: DocumentDialect? = nil) -> CompilationResult {
        let (files, expandDiagnostics) = SourceLoader.expand(paths)
        var diagnostics = expandDiagnostics
        var sources: [String: SourceFile] = [:]
        var documents: [PolicyDocument] = []
        var sagas: [SagaDocument] = []
        var runtimes: [RuntimeDocument] = []
        for file in files {
            switch SourceLoader.read(file) {
            case .failure(let d): diagnostics.append(d)
            case .success(let bytes):
                let text = String(decoding: bytes, as: UTF8.self)
                sources[file] = SourceFile(path: file, text: text)
                let loaded = YAMLLoader.load(bytes: bytes, file: file)
                diagnostics += loaded.diagnostics
                guard let root = loaded.document else { continue }
                let (document, parseDiagnostics) = DocumentParser.parse(root, file: file, dialect: dialect)
                diagnostics += parseDiagnostics
                if case .policy(let policy) = document { documents.append(policy) }
                if case .saga(let saga) = document { sagas.append(saga) }
                if case .runtime(let runtime) = document { runtimes.append(runtime) }
            }
        }
        return finish(documents, diagnostics, sources, sagas: sagas, runtimes: runtimes)
    }

    /// Compiles policy text held in memory (for tests, the REPL and embedding).
    public static func compile(source text: String, file: String = "<input>") -> CompilationResult {
        compile(sources: [(file, text)])
    }

    /// Compiles several in-memory policy files, in order.
    public static func compile(sources files: [(path: String, text: String)]) -> CompilationResult {
        var diagnostics: [Diagnostic] = []
        var sources: [String: SourceFile] = [:]
        var documents: [PolicyDocument] = []
        var sagas: [SagaDocument] = []
        var runtimes: [RuntimeDocument] = []
        for (path, text) in files {
            sources[path] = SourceFile(path: path, text: text)
            let (document, parseDiagnostics) = DocumentParser.parse(text: text, file: path)
            diagnostics += parseDiagnostics
            if case .policy(let policy) = document { documents.append(policy) }
            if case .saga(let saga) = document { sagas.append(saga) }
            if case .runtime(let runtime) = document { runtimes.append(runtime) }
        }
        return finish(documents, diagnostics, sources, sagas: sagas, runtimes: runtimes)
    }

    /// Checks and lowers the policies, adds the saga plans and the runtime settings, and verifies
    /// the whole program once more.
    private static func finish(_ documents: [PolicyDocument], _ diagnostics: [Diagnostic], _ sources: [String: SourceFile],
                               sagas: [SagaDocument], runtimes: [RuntimeDocument]) -> CompilationResult {
        var all = diagnostics
        var (program, checkDiagnostics) = compile(documents, sources: sources)
        all += checkDiagnostics
        let (plans, sagaDiagnostics) = SagaCompiler.compile(sagas)
        all += sagaDiagnostics
        let (runtime, runtimeDiagnostics) = RuntimeCompiler.compile(runtimes)
        all += runtimeDiagnostics
        // With errors anywhere nothing is compiled, so the extra verification only runs without them.
        if var complete = program, !all.containsErrors, !plans.isEmpty || !runtimes.isEmpty {
            complete.sagas = plans
            complete.runtime = runtime
            do {
                try Verifier.verify(complete)
                program = complete
            } catch {
                let at = sagas.first?.location ?? runtimes.first?.location ?? SourceLocation(file: "<input>", line: 1, column: 1)
                all.append(Diagnostic(.bundleMalformed, "internal error: the compiled sagas or runtime settings failed verification: \(error.message)",
                                      at: at))
            }
        }
        let sorted = all.sortedForOutput()
        var result = CompilationResult(program: sorted.containsErrors ? nil : program, diagnostics: sorted, sources: sources, documents: documents)
        result.sagas = sagas
        result.runtimes = runtimes
        return result
    }

    /// Checks and lowers parsed policy documents into one program; `sources` (when given) let
    /// diagnostics inside quoted `when` strings point at the exact column.
    public static func compile(_ documents: [PolicyDocument], sources: [String: SourceFile] = [:]) -> (Program?, [Diagnostic]) {
        var diagnostics: [Diagnostic] = []
        let builder = ProgramBuilder()
        var namesSeen: [String: PolicyDocument] = [:]
        var explicitThresholds: (document: PolicyDocument, value: RingThresholds)?
        for document in documents {
            if namesSeen[document.name.value] != nil {
                diagnostics.append(Diagnostic(.duplicatePolicyName, Messages.duplicatePolicy(document.name.value),
                                              at: document.name.location, length: document.name.length))
            }
            namesSeen[document.name.value] = document
            if let rings = document.rings {
                if let (first, value) = explicitThresholds, value != rings.value {
                    diagnostics.append(Diagnostic(.conflictingThresholds, Messages.conflictingThresholds(document.name.value, first.name.value),
                                                  at: rings.location, length: rings.length))
                } else if explicitThresholds == nil {
                    explicitThresholds = (document, rings.value)
                }
            }
        }
        let thresholds = explicitThresholds?.value ?? .default
        builder.program.thresholds = Thresholds(privileged: thresholds.privileged, standard: thresholds.standard)

        var checked: [(rule: RuleDeclaration, policy: Int, when: TypedExpression?)] = []
        for (policyIndex, document) in documents.enumerated() {
            let combining: Combining
            switch document.combining {
            case .denyOverrides: combining = .denyOverrides
            case .firstMatch(let defaultAllow): combining = defaultAllow ? .firstMatchDefaultAllow : .firstMatchDefaultDeny
            }
            builder.program.policies.append(PolicyEntry(name: document.name.value, file: document.file, combining: combining))
            for rule in document.rules {
                var ok = true
                for pattern in rule.actions {
                    ok = checkGlob(pattern, separator: 0x2E, &diagnostics) && ok
                }
                for pattern in rule.resources ?? [] {
                    ok = checkGlob(pattern, separator: 0x2F, starCrossesSeparator: rule.starCrossesSeparator, &diagnostics) && ok
                }
                var typed: TypedExpression?
                if let when = rule.when {
                    switch ExpressionParser.parse(when.text) {
                    case .failure(let error):
                        let rawLine = sources[when.location.file]?.line(when.location.line)
                        diagnostics.append(Diagnostic(error.code, error.message, at: when.location(at: error.span.start, rawLine: rawLine),
                                                      length: error.span.length))
                        ok = false
                    case .success(let expression):
                        var checker = ExpressionChecker(source: when, rawLine: sources[when.location.file]?.line(when.location.line))
                        typed = checker.checkCondition(expression)
                        if typed != nil, rule.effect.value == .deny { checker.lintAbsentComparisons(expression) }
                        diagnostics += checker.diagnostics
                        if typed == nil { ok = false }
                    }
                }
                if ok { checked.append((rule, policyIndex, typed)) }
            }
        }
        diagnostics += Shadowing.warnings(documents)
        // Incomplete rules carry structural errors reported by the parser: check them, never lower them.
        let incomplete = documents.contains { $0.rules.contains { !$0.isComplete } }
        guard !diagnostics.containsErrors, !incomplete else { return (nil, diagnostics) }

        for (rule, policyIndex, when) in checked {
            var emitter = RuleEmitter(builder: builder, line: UInt32(clamping: rule.location.line))
            let fail = emitter.newLabel()
            let actions = emitter.builder.globSet(rule.actions.map(\.value), separator: 0x2E)
            emitter.emit(Instruction(.matchAction, globSet: actions), jumpingTo: fail)
            if let resources = rule.resources {
                let set = emitter.builder.globSet(resources.map(\.value), separator: 0x2F, starCrossesSeparator: rule.starCrossesSeparator)
                emitter.emit(Instruction(.matchResource, globSet: set), jumpingTo: fail)
            }
            if let when {
                emitter.condition(when, whenFalse: fail)
            }
            emitter.emit(Instruction(.yes))
            emitter.place(fail)
            emitter.emit(Instruction(.no))
            if emitter.overflow, let source = rule.when {
                diagnostics.append(Diagnostic(.expressionTooLarge, Messages.expressionTooLarge, at: source.location))
            }
            let registers = emitter.registers
            let (entry, end) = emitter.finish()
            builder.program.rules.append(RuleEntry(
                id: rule.id.value, policy: UInt32(policyIndex), isDeny: rule.effect.value == .deny,
                ring: rule.ring.map { UInt8(clamping: $0.value) },
                limit: rule.limit.map { Limit(count: UInt32(clamping: $0.value.count), seconds: UInt32($0.value.unit.seconds)) },
                reason: rule.reason, entry: entry, end: end, registers: UInt16(registers),
                line: UInt32(clamping: rule.location.line), column: UInt32(clamping: rule.location.column)))
        }
        if builder.tooManyGlobSets {
            let at = documents.first?.location ?? SourceLocation(file: "<input>", line: 1, column: 1)
            diagnostics.append(Diagnostic(.programTooLarge, Messages.tooManyGlobSets(ProgramBuilder.maxGlobSets), at: at))
        }
        guard !diagnostics.containsErrors else { return (nil, diagnostics) }
        builder.program.actionIndex = ActionIndex.build(builder.program)
        do {
            try Verifier.verify(builder.program)
        } catch {
            // The compiler emitted a program its own verifier refuses: report it rather than run it.
            let at = documents.first?.location ?? SourceLocation(file: "<input>", line: 1, column: 1)
            diagnostics.append(Diagnostic(.bundleMalformed, "internal error: the compiled program failed verification: \(error.message)", at: at))
            return (nil, diagnostics)
        }
        return (builder.program, diagnostics)
    }

    private static func checkGlob(_ pattern: Located<String>, separator: UInt8, starCrossesSeparator: Bool = false,
                                  _ diagnostics: inout [Diagnostic]) -> Bool {
        do {
            _ = try Glob.compile(pattern.value, separator: separator, starCrossesSeparator: starCrossesSeparator)
            return true
        } catch {
            diagnostics.append(Diagnostic(.invalidGlob, Messages.invalidGlob(pattern.value, error.message),
                                          at: pattern.location, length: pattern.length))
            return false
        }
    }
}
