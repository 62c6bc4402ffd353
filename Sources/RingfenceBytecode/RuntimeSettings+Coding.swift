// The runtime section of a bundle: the last section of the content (since format version 3).
//
// ```
// field                          encoding
// name                           string
// rings                          privileged, standard: f64
// limits                         ring 0…3: rate f64, burst i64
// elevation                      ring1, ring2: f64 · default_ttl, max_ttl: i64 ms
// sessions                       max_participants i64 · ttl i64 ms · min_trust f64
// breach                         window i64 ms · min_calls i64 · low, medium, high, critical f64 ·
//                                cooldown i64 ms · on_critical u8 (0 trip, 1 kill)
// liability                      min_voucher_trust, bond, max_exposure, vouch_weight, slash_floor,
//                                cascade_below f64 · max_cascade_depth i64 · quarantine i64 ms ·
//                                deny_risk, probation_risk, escalation_severity f64
// audit                          durability u8 (0 strict, 1 group, 2 relaxed) · checkpoint_every i64 ·
//                                checkpoint_interval i64 ms · origin string
// ```
// Signed integers are stored as their 64-bit two's complement; the verifier then runs
// `RuntimeSettings.validate()`, so a forged section with a value out of range is refused.

extension ProgramCoding {
    /// Appends the runtime section.
    static func encodeRuntime(_ s: RuntimeSettings, _ w: inout BinaryWriter) {
        w.string(s.name)
        w.double(s.rings.privileged)
        w.double(s.rings.standard)
        for ring in 0...3 {
            w.double(s.limits[ring: ring].rate)
            w.signed(s.limits[ring: ring].burst)
        }
        w.double(s.elevation.ring1)
        w.double(s.elevation.ring2)
        w.signed(s.elevation.defaultTTL)
        w.signed(s.elevation.maxTTL)
        w.signed(s.sessions.maxParticipants)
        w.signed(s.sessions.ttl)
        w.double(s.sessions.minTrust)
        let b = s.breach
        w.signed(b.window)
        w.signed(b.minCalls)
        for x in [b.low, b.medium, b.high, b.critical] { w.double(x) }
        w.signed(b.cooldown)
        w.int(b.onCritical.rawValue)
        let l = s.liability
        for x in [l.minVoucherTrust, l.bond, l.maxExposure, l.vouchWeight, l.slashFloor, l.cascadeBelow] { w.double(x) }
        w.signed(l.maxCascadeDepth)
        w.signed(l.quarantine)
        for x in [l.denyRisk, l.probationRisk, l.escalationSeverity] { w.double(x) }
        w.int(s.audit.durability.rawValue)
        w.signed(s.audit.checkpointEvery)
        w.signed(s.audit.checkpointInterval)
        w.string(s.audit.origin)
    }

    /// Reads the runtime section written by `encodeRuntime`.
    static func decodeRuntime(_ r: inout BinaryReader) throws(BinaryReader.Malformed) -> RuntimeSettings {
        var s = RuntimeSettings()
        s.name = try r.string()
        s.rings.privileged = try r.double()
        s.rings.standard = try r.double()
        for ring in 0...3 {
            s.limits[ring: ring] = RuntimeSettings.RingLimit(rate: try r.double(), burst: Int(try r.signed()))
        }
        s.elevation.ring1 = try r.double()
        s.elevation.ring2 = try r.double()
        s.elevation.defaultTTL = try r.signed()
        s.elevation.maxTTL = try r.signed()
        s.sessions.maxParticipants = Int(try r.signed())
        s.sessions.ttl = try r.signed()
        s.sessions.minTrust = try r.double()
        s.breach.window = try r.signed()
        s.breach.minCalls = Int(try r.signed())
        s.breach.low = try r.double()
        s.breach.medium = try r.double()
        s.breach.high = try r.double()
        s.breach.critical = try r.double()
        s.breach.cooldown = try r.signed()
        let response = try r.int(UInt8.self)
        guard let onCritical = RuntimeSettings.Breach.Response(rawValue: response) else {
            throw .init(message: "unknown breach response \(response)")
        }
        s.breach.onCritical = onCritical
        s.liability.minVoucherTrust = try r.double()
        s.liability.bond = try r.double()
        s.liability.maxExposure = try r.double()
        s.liability.vouchWeight = try r.double()
        s.liability.slashFloor = try r.double()
        s.liability.cascadeBelow = try r.double()
        s.liability.maxCascadeDepth = Int(try r.signed())
        s.liability.quarantine = try r.signed()
        s.liability.denyRisk = try r.double()
        s.liability.probationRisk = try r.double()
        s.liability.escalationSeverity = try r.double()
        let durability = try r.int(UInt8.self)
        guard let mode = RuntimeSettings.Audit.Durability(rawValue: durability) else {
            throw .init(message: "unknown audit durability \(durability)")
        }
        s.audit.durability = mode
        s.audit.checkpointEvery = Int(try r.signed())
        s.audit.checkpointInterval = try r.signed()
        s.audit.origin = try r.string()
        return s
    }
}

extension BinaryWriter {
    /// Appends a signed integer as its 64-bit two's complement, little-endian.
    mutating func signed<T: FixedWidthInteger & SignedInteger>(_ value: T) {
        int(UInt64(bitPattern: Int64(value)))
    }
}

extension BinaryReader {
    /// Reads a signed 64-bit integer written by `BinaryWriter.signed`.
    mutating func signed() throws(Malformed) -> Int64 {
        Int64(bitPattern: try int(UInt64.self))
    }
}

extension Verifier {
    /// Refuses runtime settings that break any rule of `RuntimeSettings.validate()`, naming the
    /// first problem.
    static func verifyRuntime(_ p: Program) throws(Failure) {
        if let problem = p.runtime.validate().first {
            throw Failure(message: "the runtime settings are invalid: \(problem.message)")
        }
    }
}
