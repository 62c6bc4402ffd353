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
        try self.init(compiled: Compiler.compile(paths: paths), timeSource: timeSource, clock: clock)
    }

    /// Compiles one policy held in memory.
    public convenience init(source: String, file: String = "<input>", timeSource: TimeSource = .clock,
                            clock: @escaping @Sendable () -> Double = Engine.systemClock) throws(RingfenceError) {
        try self.init(compiled: Compiler.compile(source: source, file: file), timeSource: timeSource, clock: clock)
    }

    /// The engine of a compilation, or its diagnostics as the error.
    private convenience init(compiled: CompilationResult, timeSource: TimeSource, clock: @escaping @Sendable () -> Double) throws(RingfenceError) {
        guard let program = compiled.program else {
            throw .compile(compiled.diagnostics, sources: compiled.sources)
        }
        try self.init(program: program, warnings: compiled.diagnostics, timeSource: timeSource, clock: clock)
    }
}
