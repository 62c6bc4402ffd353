import RingfenceBytecode
import RingfenceRuntime
import Testing

/// The runtime's tables and small values: the state machines, ids, times, durations, TTL
/// clamping, rings at join and breach severities.
@Suite struct RuntimeUnitTests {
    // MARK: The session state machine

    @Test func everyEventHasOneRow() {
        let events = SessionMachine.table.map(\.event)
        #expect(Set(events) == Set(SessionEvent.allCases))
        #expect(events.count == SessionEvent.allCases.count)
    }

    @Test func transitionsFollowTheTable() throws {
        #expect(try SessionMachine.next(.activate, from: .handshaking) == .active)
        #expect(try SessionMachine.next(.join, from: .handshaking) == .handshaking)
        #expect(try SessionMachine.next(.join, from: .active) == .active)
        #expect(try SessionMachine.next(.terminate, from: .handshaking) == .terminating)
        #expect(try SessionMachine.next(.terminate, from: .active) == .terminating)
        #expect(try SessionMachine.next(.archive, from: .terminating) == .archived)
        for event in [SessionEvent.decide, .elevate, .sagaStart] {
            #expect(try SessionMachine.next(event, from: .active) == .active)
            #expect(throws: RuntimeError.self) { try SessionMachine.next(event, from: .handshaking) }
        }
    }

    @Test func archivedAllowsNothing() {
        for event in SessionEvent.allCases {
            #expect(throws: RuntimeError.self) { try SessionMachine.next(event, from: .archived) }
        }
        // Only the runtime's own archive step leaves `terminating`.
        for event in SessionEvent.allCases where event != .archive {
            #expect(throws: RuntimeError.self) { try SessionMachine.next(event, from: .terminating) }
        }
    }

    @Test func wrongStateNamesTheAllowedStates() {
        do {
            _ = try SessionMachine.next(.decide, from: .archived)
            Issue.record("decide was allowed in archived")
        } catch {
            #expect(error.code == .sessionState)
            #expect(error.message == "operation `decide` is not allowed in state `archived`; allowed in `active`")
        }
    }

    @Test func elevationsEndOnlyFromActive() {
        for event in ElevationEvent.allCases {
            #expect(ElevationMachine.next(event, from: .active) != nil)
            #expect(ElevationMachine.next(event, from: .expired) == nil)
            #expect(ElevationMachine.next(event, from: .revoked) == nil)
        }
        #expect(ElevationMachine.next(.expiry, from: .active) == .expired)
        #expect(ElevationMachine.next(.revoke, from: .active) == .revoked)
    }

    // MARK: Ids

    @Test(arguments: ["a", "A", "9", "did:mesh:agent-1", "a.b_c:d-9", String(repeating: "x", count: 256), "session:910a2dec89025cc1"])
    func validIDs(_ id: String) {
        #expect(RuntimeID.isValid(id))
    }

    @Test(arguments: ["", "-a", "a-", ".a", "a.", "a b", "a/b", "sé", "a\u{0}b", "a\nb", String(repeating: "x", count: 257), "ａ", "a+b"])
    func invalidIDs(_ id: String) {
        #expect(!RuntimeID.isValid(id))
    }

    @Test func seededIDsRepeatAndHaveTheirShape() {
        let a = IDGenerator.seeded(42), b = IDGenerator.seeded(42), c = IDGenerator.seeded(43)
        let first = (0..<5).map { _ in a.make("session") }
        #expect(first == (0..<5).map { _ in b.make("session") })
        #expect(first != (0..<5).map { _ in c.make("session") })
        for id in first {
            #expect(id.hasPrefix("session:") && id.count == "session:".count + 16 && RuntimeID.isValid(id))
            #expect(id.dropFirst(8).allSatisfy { "0123456789abcdef".contains($0) })
        }
    }

    @Test(arguments: [0, 1, 0xabc, 0x9E37_79B9_7F4A_7C15, UInt64.max] as [UInt64])
    func anIDIsItsKindAndSixteenHexDigits(_ value: UInt64) {
        let hex = String(value, radix: 16)
        #expect(IDGenerator { value }.make("saga") == "saga:" + String(repeating: "0", count: 16 - hex.count) + hex)
    }

    // MARK: Times and durations

    @Test func rfc3339TimesReadExactly() {
        #expect(RuntimeTime.parse("2026-11-21T10:00:00Z") == 1_795_255_200_000_000)
        #expect(RuntimeTime.parse("2026-11-21T10:00:00.000001Z") == 1_795_255_200_000_001)
        #expect(RuntimeTime.parse("2026-11-21T10:00:00.1234569Z") == 1_795_255_200_123_456)
        #expect(RuntimeTime.parse("2026-11-21T11:30:00+01:30") == 1_795_255_200_000_000)
        #expect(RuntimeTime.parse("2026-11-21t10:00:00z") == 1_795_255_200_000_000)
        #expect(RuntimeTime.parse("1969-12-31T23:59:59Z") == -1_000_000)
        for bad in ["2026-11-21", "2026-11-21T10:00:00", "2026-02-30T00:00:00Z", "2026-11-21T24:00:00Z", "2026-11-21T10:00:60Z",
                    "2026-11-21T10:00:00.Z", "2026-11-21T10:00:00+0100", "10000-01-01T00:00:00Z", "0000-01-01T00:00:00Z", ""] {
            #expect(RuntimeTime.parse(bad) == nil, "\(bad)")
        }
        #expect(RuntimeTime.text(1_795_255_200_000_001) == "2026-11-21T10:00:00.000001Z")
    }

    @Test func durationsReadAsMilliseconds() {
        #expect(RuntimeDuration.milliseconds(text: "500ms") == 500)
        #expect(RuntimeDuration.milliseconds(text: "30s") == 30_000)
        #expect(RuntimeDuration.milliseconds(text: "5m") == 300_000)
        #expect(RuntimeDuration.milliseconds(text: "1.5h") == 5_400_000)
        #expect(RuntimeDuration.milliseconds(text: "7d") == 604_800_000)
        for bad in ["", "5", "5x", "5min", "-5s", "1h30m", "1.5ms", ".5s", "5.s", "366d", "5 m"] {
            #expect(RuntimeDuration.milliseconds(text: bad) == nil, "\(bad)")
        }
        #expect(RuntimeDuration.milliseconds(0.5) == 500)
        #expect(RuntimeDuration.milliseconds(-5) == -5_000)
        #expect(RuntimeDuration.milliseconds(.infinity) == nil)
        #expect(RuntimeDuration.milliseconds(1e12) == nil)
    }

    // MARK: Elevation TTLs (SPEC §8.6; the seed's facts: 0 → 5 m, 99,999 s → 1 h)

    @Test func elevationTTLsAreClamped() {
        let settings = RuntimeSettings.Elevation()
        #expect(Runtime.elevationTTL(nil, settings) == 300_000)
        #expect(Runtime.elevationTTL(0, settings) == 300_000)
        #expect(Runtime.elevationTTL(-5_000, settings) == 300_000)
        #expect(Runtime.elevationTTL(99_999_000, settings) == 3_600_000)
        #expect(Runtime.elevationTTL(3_600_000, settings) == 3_600_000)
        #expect(Runtime.elevationTTL(1, settings) == 1)
        #expect(Runtime.elevationTTL(60_000, settings) == 60_000)
    }

    // MARK: Rings at join (SPEC §8.2, strict thresholds)

    @Test func ringsAtJoin() {
        let rings = RuntimeSettings.Rings()
        func ring(_ t: Double, _ c: Bool = false, _ s: Standing = .admit, min: Double = 0.6, parent: Int? = nil) -> Int {
            Runtime.ringAtJoin(trustEff: t, consensus: c, standing: s, minTrust: min, parentRing: parent, rings: rings)
        }
        #expect(ring(0.60) == 3 && ring(0.61) == 2)
        #expect(ring(0.95, true) == 2 && ring(0.96, true) == 1 && ring(0.96) == 2)
        #expect(ring(0.99, true, .probation) == 3)
        #expect(ring(0.65, min: 0.7) == 3)
        #expect(ring(0.99, true, parent: 1) == 2 && ring(0.99, true, parent: 2) == 3 && ring(0.5, parent: 1) == 3)
    }

    // MARK: Breach severities (SPEC §8.5: at the thresholds, once `min_calls`)

    @Test func severitiesAtTheThresholds() {
        let b = RuntimeSettings.Breach()
        #expect(BreachSeverity.of(aimed: 4, calls: 4, settings: b) == .none)
        #expect(BreachSeverity.of(aimed: 5, calls: 5, settings: b) == .critical)
        #expect(BreachSeverity.of(aimed: 2, calls: 10, settings: b) == .none)
        #expect(BreachSeverity.of(aimed: 3, calls: 10, settings: b) == .low)
        #expect(BreachSeverity.of(aimed: 5, calls: 10, settings: b) == .medium)
        #expect(BreachSeverity.of(aimed: 7, calls: 10, settings: b) == .high)
        #expect(BreachSeverity.of(aimed: 9, calls: 10, settings: b) == .critical)
        #expect(BreachSeverity.of(aimed: 69, calls: 100, settings: b) == .medium)
        #expect(BreachSeverity.of(aimed: 0, calls: 1_000_000, settings: b) == .none)
    }
}
