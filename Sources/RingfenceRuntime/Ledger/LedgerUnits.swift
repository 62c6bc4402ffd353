import RingfenceBytecode

// The ledger's numbers (SPEC §11) are fixed-point integers, so sums of bonds and exposure are
// exact and a cap such as "four bonds of 0.18 fit under 0.72" holds to the last digit:
//
//   quantity                                   unit       type    range
//   σ, σ_eff, bond shares, severities,         10^-6      Int64   0 … 1_000_000
//   risk weights, settings in [0, 1]           (micro)
//   bonds (σ_voucher × share), exposure        10^-12     Int64   exact products of two micros
//                                              (pico)
//   risk                                       10^-8      Int64   0 … 100_000_000 (clamped)
//   attribution shares                         10^-4      Int     0 … 10_000, summing to 10_000
//
// Inputs (trust, bond, severity, weights, settings) are read to the nearest micro-unit. A clip
// σ × (1 − severity) and the ω·Σ bonds term of σ_eff are rounded down to the micro-unit, so the
// ledger never states more trust than the formula gives. Values shown to people are an integer
// divided by a power of ten — the nearest double to the exact decimal — so 0.18, 0.39 or 0.56
// print as written.

/// Fixed-point conversions of the ledger's numbers.
enum LedgerUnits {
    /// One in micro-units (10^-6).
    static let micro: Int64 = 1_000_000
    /// One in pico-units (10^-12): a micro-unit times a micro-unit.
    static let pico: Int64 = 1_000_000_000_000
    /// One in risk units (10^-8).
    static let risk: Int64 = 100_000_000
    /// One in attribution units (10^-4).
    static let share = 10_000

    /// `x` (a number from 0 to 1) in micro-units, to the nearest; nil when not finite or outside [0, 1].
    static func micros(_ x: Double) -> Int64? {
        guard x.isFinite, x >= 0, x <= 1 else { return nil }
        return Int64((x * 1e6).rounded())
    }

    /// `x` in micro-units, to the nearest, clamped to [0, 1] (settings, which `check` validated).
    static func clampedMicros(_ x: Double) -> Int64 {
        guard x.isFinite else { return 0 }
        return Int64((min(max(x, 0), 1) * 1e6).rounded())
    }

    /// `x` (0 to 1) in risk units, to the nearest, clamped.
    static func riskUnits(_ x: Double) -> Int64 {
        guard x.isFinite else { return risk }
        return Int64((min(max(x, 0), 1) * 1e8).rounded())
    }

    /// Micro-units as the number people read.
    static func value(micros: Int64) -> Double { Double(micros) / 1e6 }

    /// Pico-units as the number people read.
    static func value(picos: Int64) -> Double { Double(picos) / 1e12 }

    /// Risk units as the number people read.
    static func value(risk units: Int64) -> Double { Double(units) / 1e8 }

    /// σ_eff in micro-units: min(1, σ + ω·Σ bonds), the ω·Σ bonds term rounded down (SPEC §11.2).
    static func effectiveTrust(sigma: Int64, bondsIn: Int64, weight: Int64) -> Int64 {
        guard bondsIn > 0, weight > 0 else { return min(sigma, micro) }
        // ω (micro) × Σ bonds (pico) is in 10^-18; the quotient by 10^12 is micro and always fits.
        let bonus = pico.dividingFullWidth(weight.multipliedFullWidth(by: bondsIn)).quotient
        return bonus >= micro - sigma ? micro : sigma + bonus
    }

    /// σ × (1 − severity), rounded down to the micro-unit.
    static func clip(_ sigma: Int64, severity: Int64) -> Int64 {
        sigma * (micro - severity) / micro
    }

    /// A number as messages write it (`0.18`, `1`).
    static func text(micros: Int64) -> String { RuntimeSettings.numberText(value(micros: micros)) }

    /// A pico amount as messages write it.
    static func text(picos: Int64) -> String { RuntimeSettings.numberText(value(picos: picos)) }
}

/// The `liability` settings (SPEC §7) in the ledger's units.
struct LedgerSettings: Sendable, Hashable {
    /// The least σ a voucher needs (micro).
    var minVoucherTrust: Int64
    /// The share one vouch bonds by default (micro).
    var bond: Int64
    /// The share of its σ a voucher's bonds never exceed (micro).
    var maxExposure: Int64
    /// ω (micro).
    var vouchWeight: Int64
    /// The least σ a slash leaves a voucher with (micro).
    var slashFloor: Int64
    /// A clipped voucher below this, itself vouched for, is slashed in turn (micro).
    var cascadeBelow: Int64
    /// The most hops a slash cascades.
    var maxCascadeDepth: Int
    /// The default quarantine (µs).
    var quarantine: Int64
    /// Risk at or above which an agent is refused at join (risk units).
    var denyRisk: Int64
    /// Risk at or above which an agent joins at ring 3 (risk units).
    var probationRisk: Int64
    /// The slash severity of a saga escalation (micro).
    var escalationSeverity: Int64

    /// The runtime file's `liability` settings, converted (and clamped into range).
    init(_ l: RuntimeSettings.Liability) {
        minVoucherTrust = LedgerUnits.clampedMicros(l.minVoucherTrust)
        bond = LedgerUnits.clampedMicros(l.bond)
        maxExposure = LedgerUnits.clampedMicros(l.maxExposure)
        vouchWeight = LedgerUnits.clampedMicros(l.vouchWeight)
        slashFloor = LedgerUnits.clampedMicros(l.slashFloor)
        cascadeBelow = LedgerUnits.clampedMicros(l.cascadeBelow)
        maxCascadeDepth = min(max(l.maxCascadeDepth, 0), RuntimeSettings.maxCascadeDepth)
        let (µs, overflow) = max(l.quarantine, 1).multipliedReportingOverflow(by: 1_000)
        quarantine = overflow ? Int64.max / 4 : µs
        denyRisk = LedgerUnits.riskUnits(l.denyRisk)
        probationRisk = LedgerUnits.riskUnits(l.probationRisk)
        escalationSeverity = max(1, LedgerUnits.clampedMicros(l.escalationSeverity))
    }
}
