@_exported import RingfenceAudit
@_exported import RingfenceBytecode
@_exported import RingfenceCompiler
@_exported import RingfenceDiagnostics
@_exported import RingfenceMatch
@_exported import RingfenceRuntime
@_exported import RingfenceSyntax
@_exported import RingfenceVM
@_exported import RingfenceWire

// The facade: everything a service embeds — compiling policies from YAML (this file's
// initialisers), deciding and the runtime (`RingfenceRuntime`, which a deployment that ships
// bundles can link alone, without the compiler or libyaml).

extension Engine {
    /// Compiles policy files (directories expand to every `*.yaml`/`*.yml` below them).
    public convenience init(paths: [String], timeSource: TimeSource = .clock,
                            clock: @escaping @Sendable () -> Double = Engine.systemClock) throws(RingfenceError) {
        try self.init(compilation: Compiler.compile(paths: paths), timeSource: timeSource, clock: clock)
    }

    /// Compiles one policy held in memory.
    public convenience init(source: String, file: String = "<input>", timeSource: TimeSource = .clock,
                            clock: @escaping @Sendable () -> Double = Engine.systemClock) throws(RingfenceError) {
        try self.init(compilation: Compiler.compile(source: source, file: file), timeSource: timeSource, clock: clock)
    }

    /// The engine of a compilation, or its diagnostics as the error. The compilation's verified
    /// program and compiled patterns are taken as they are: nothing is verified or compiled again.
    public convenience init(compilation: CompilationResult, timeSource: TimeSource = .clock,
                            clock: @escaping @Sendable () -> Double = Engine.systemClock) throws(RingfenceError) {
        guard let program = compilation.program else {
            throw .compile(compilation.diagnostics, sources: compilation.sources)
        }
        let machine: Machine
        do {
            if let verified = compilation.verifiedProgram {
                machine = try Machine(verified: verified, patterns: compilation.patterns)
            } else {
                machine = try Machine(program: program, patterns: compilation.patterns)
            }
        } catch {
            throw .load(error.message)
        }
        self.init(machine: machine, warnings: compilation.diagnostics, timeSource: timeSource, clock: clock)
    }
}
