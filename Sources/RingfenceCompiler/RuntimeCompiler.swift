import RingfenceBytecode
import RingfenceDiagnostics
import RingfenceSyntax

/// Compiles the deployment's `kind: runtime` file into `RuntimeSettings` (SPEC §7): fills in the
/// defaults for what the file leaves out, checks the result with `RuntimeSettings.validate()`
/// — the rules the bundle verifier runs too — and reports each problem at the setting it names.
public enum RuntimeCompiler {
    /// The settings of the first runtime file (the defaults when there is none) and every
    /// problem: each file's own, and RF1025 for every runtime file after the first.
    public static func compile(_ documents: [RuntimeDocument]) -> (settings: RuntimeSettings, diagnostics: [Diagnostic]) {
        guard let first = documents.first else { return (RuntimeSettings(), []) }
        var diagnostics: [Diagnostic] = []
        for document in documents {
            diagnostics += check(settings(document), in: document)
        }
        for extra in documents.dropFirst() {
            let at = extra.spans["kind"] ?? SourceSpan(extra.location)
            diagnostics.append(Diagnostic(.multipleRuntimeFiles, Messages.multipleRuntimeFiles(extra.file, first: first.file),
                                          at: at.location, length: at.length, help: Messages.multipleRuntimeFilesHelp))
        }
        return (settings(first), diagnostics)
    }

    /// The settings a document writes, with the defaults of SPEC §7 for everything it leaves out.
    public static func settings(_ document: RuntimeDocument) -> RuntimeSettings {
        var s = RuntimeSettings()
        if let name = document.name { s.name = name.value }
        let rings = document.rings
        s.rings.privileged = rings.privileged ?? s.rings.privileged
        s.rings.standard = rings.standard ?? s.rings.standard
        for (ring, written) in document.limits.enumerated() {
            let limit = s.limits[ring: ring]
            s.limits[ring: ring] = RuntimeSettings.RingLimit(rate: written.rate ?? limit.rate, burst: written.burst ?? limit.burst)
        }
        let e = document.elevation
        s.elevation.ring1 = e.ring1 ?? s.elevation.ring1
        s.elevation.ring2 = e.ring2 ?? s.elevation.ring2
        s.elevation.defaultTTL = e.defaultTTL ?? s.elevation.defaultTTL
        s.elevation.maxTTL = e.maxTTL ?? s.elevation.maxTTL
        let sessions = document.sessions
        s.sessions.maxParticipants = sessions.maxParticipants ?? s.sessions.maxParticipants
        s.sessions.ttl = sessions.ttl ?? s.sessions.ttl
        s.sessions.minTrust = sessions.minTrust ?? s.sessions.minTrust
        let b = document.breach
        s.breach.window = b.window ?? s.breach.window
        s.breach.minCalls = b.minCalls ?? s.breach.minCalls
        s.breach.low = b.low ?? s.breach.low
        s.breach.medium = b.medium ?? s.breach.medium
        s.breach.high = b.high ?? s.breach.high
        s.breach.critical = b.critical ?? s.breach.critical
        s.breach.cooldown = b.cooldown ?? s.breach.cooldown
        if let response = b.onCritical {
            switch response {
            case .trip: s.breach.onCritical = .trip
            case .kill: s.breach.onCritical = .kill
            }
        }
        let l = document.liability
        s.liability.minVoucherTrust = l.minVoucherTrust ?? s.liability.minVoucherTrust
        s.liability.bond = l.bond ?? s.liability.bond
        s.liability.maxExposure = l.maxExposure ?? s.liability.maxExposure
        s.liability.vouchWeight = l.vouchWeight ?? s.liability.vouchWeight
        s.liability.slashFloor = l.slashFloor ?? s.liability.slashFloor
        s.liability.cascadeBelow = l.cascadeBelow ?? s.liability.cascadeBelow
        s.liability.maxCascadeDepth = l.maxCascadeDepth ?? s.liability.maxCascadeDepth
        s.liability.quarantine = l.quarantine ?? s.liability.quarantine
        s.liability.denyRisk = l.denyRisk ?? s.liability.denyRisk
        s.liability.probationRisk = l.probationRisk ?? s.liability.probationRisk
        s.liability.escalationSeverity = l.escalationSeverity ?? s.liability.escalationSeverity
        let a = document.audit
        if let durability = a.durability {
            switch durability {
            case .strict: s.audit.durability = .strict
            case .group: s.audit.durability = .group
            case .relaxed: s.audit.durability = .relaxed
            }
        }
        s.audit.checkpointEvery = a.checkpointEvery ?? s.audit.checkpointEvery
        s.audit.checkpointInterval = a.checkpointInterval ?? s.audit.checkpointInterval
        s.audit.origin = a.origin ?? s.audit.origin
        return s
    }

    /// The problems of `settings` as diagnostics located in `document`. A problem that involves a
    /// setting the parser could not read is left out: that setting's own error is reported already.
    static func check(_ settings: RuntimeSettings, in document: RuntimeDocument) -> [Diagnostic] {
        let values = Dictionary(settings.entries, uniquingKeysWith: { first, _ in first })
        return settings.validate().compactMap { problem in
            guard !problem.keys.contains(where: { isUnreadable($0, in: document) }) else { return nil }
            let at = span(of: problem.keys, in: document)
            var help = problem.help
            if problem.keys.count > 1, let unwritten = problem.keys.first(where: { document.spans[$0] == nil }),
               let value = values[unwritten] {
                help = [Messages.thresholdDefault(unwritten, value), problem.help].compactMap { $0 }.joined(separator: "; ")
            }
            return Diagnostic(problem.code, problem.message, at: at.location, length: at.length, help: help)
        }
    }

    /// True when `key`, or a section holding it, could not be read.
    private static func isUnreadable(_ key: String, in document: RuntimeDocument) -> Bool {
        document.unreadable.contains { key == $0 || key.hasPrefix($0 + ".") }
    }

    /// Where to report a problem: the first of its settings the file writes, else the nearest
    /// section the file writes, else the `kind` line.
    private static func span(of keys: [String], in document: RuntimeDocument) -> SourceSpan {
        for key in keys {
            if let span = document.spans[key] { return span }
        }
        var path = keys.first ?? ""
        while let dot = path.lastIndex(of: ".") {
            path = String(path[..<dot])
            if let span = document.spans[path] { return span }
        }
        return document.spans["kind"] ?? SourceSpan(document.location)
    }
}
