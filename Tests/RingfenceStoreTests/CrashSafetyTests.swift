import Foundation
import RingfenceAudit
import RingfencePostgres
import RingfenceRuntime
import RingfenceSQLite
import RingfenceStores
import Synchronization
import Testing
import RingfenceTestSupport

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// SPEC §9.4: a crash loses no acknowledged entry under `strict`, and never leaves a gap or a
/// broken link. Child processes (`ringfence-store-crash-probe`) append strict batches and print
/// each acknowledgement; the test kills them with SIGKILL at a moment drawn from a seeded
/// generator, reopens the file and checks that every entry ever acknowledged is there and
/// belongs to the process it was acknowledged to, that the chain is continuous, and that the
/// Merkle nodes, checkpoints and state rows match it. Fifty kills on one store, so each run also
/// recovers after the previous one; on SQLite (one file) and on PostgreSQL (one database, where
/// a killed probe is a node dying mid-append). Single probes alternate between appending through the
/// runtime's audit log and through `StateStore.commit` directly; every fifth run has two
/// probes appending to the file at once, directly, each re-reading the head when the other
/// wins a race.
@Suite struct CrashSafetyTests {
    /// What one probe acknowledged before it was killed.
    struct Run {
        /// The probe's seed (its session is `probe-SEED`, its state row `probe/SEED`).
        var seed: UInt64
        /// The seqs of each acknowledged append.
        var acknowledged: [ClosedRange<UInt64>] = []
        /// The highest acknowledged round.
        var lastRound: Int?
        /// True when the process died of SIGKILL, as the test intends.
        var killed = false
        /// How it ended otherwise: its exit status or signal.
        var ending = ""
        /// True when the safety net had to kill it (it stopped acknowledging).
        var stalled = false
        /// What it wrote to the standard error.
        var stderr = ""
    }

    /// Starts one probe per seed on `url`, appending in `mode` (`log` or `direct`), kills them all once each has printed its number of
    /// `acks` lines and a further `delay` microseconds have passed, and reads every
    /// acknowledgement they printed.
    static func run(_ probe: String, url: String, seeds: [UInt64], mode: String, acks: [Int], delay: UInt32) throws -> [Run] {
        var processes: [(process: Process, output: Pipe, errors: Pipe)] = []
        for seed in seeds {
            let process = Process()
            process.executableURL = URL(fileURLWithPath: probe)
            process.arguments = [url, String(seed), mode]
            let output = Pipe(), errors = Pipe()
            process.standardOutput = output
            process.standardError = errors
            try process.run()
            processes.append((process, output, errors))
        }
        // A safety net, not a measurement: a probe that stops acknowledging is killed after a
        // minute, and the run is marked stalled.
        let stalled = Mutex(false)
        let identifiers = processes.map { $0.process.processIdentifier }
        let safetyNet = DispatchWorkItem {
            stalled.withLock { $0 = true }
            for identifier in identifiers { kill(identifier, SIGKILL) }
        }
        DispatchQueue.global().asyncAfter(deadline: .now() + 60, execute: safetyNet)
        let texts = Mutex(Array(repeating: "", count: seeds.count))
        let outputs = processes.map { $0.output.fileHandleForReading }
        DispatchQueue.concurrentPerform(iterations: seeds.count) { index in
            var text = ""
            while text.filter({ $0 == "\n" }).count < acks[index] {
                let chunk = outputs[index].availableData
                if chunk.isEmpty { break }  // the probe ended
                text += String(decoding: chunk, as: UTF8.self)
            }
            texts.withLock { $0[index] = text }
        }
        usleep(delay)
        for entry in processes { kill(entry.process.processIdentifier, SIGKILL) }
        var runs: [Run] = []
        for (index, entry) in processes.enumerated() {
            var text = texts.withLock { $0[index] }
            text += String(decoding: entry.output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
            var run = Run(seed: seeds[index])
            run.stderr = String(decoding: entry.errors.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
            entry.process.waitUntilExit()
            run.killed = entry.process.terminationReason == .uncaughtSignal && entry.process.terminationStatus == SIGKILL
            run.ending = "\(entry.process.terminationReason == .exit ? "exit status" : "signal") \(entry.process.terminationStatus)"
            // Only whole lines count: a line cut by the kill was never completely acknowledged.
            let complete = text[..<(text.lastIndex(of: "\n") ?? text.startIndex)]
            for line in complete.split(separator: "\n") {
                let fields = line.split(separator: " ")
                guard fields.count == 4, fields[0] == "acked", let first = UInt64(fields[1]), let last = UInt64(fields[2]),
                      first <= last, let round = Int(fields[3]) else {
                    Issue.record("the probe printed `\(line)`")
                    continue
                }
                run.acknowledged.append(first...last)
                run.lastRound = max(run.lastRound ?? 0, round)
            }
            runs.append(run)
        }
        safetyNet.cancel()
        let stalledNow = stalled.withLock { $0 }
        return runs.map { var run = $0; run.stalled = stalledNow; return run }
    }

    /// The stores the probes append to.
    enum Backend: String, CaseIterable, CustomTestStringConvertible {
        case sqlite, postgres
        var testDescription: String { rawValue }
    }

    @Test(arguments: Backend.allCases)
    func killedStrictWritersLoseNoAcknowledgedEntry(_ backend: Backend) throws {
        // The probe is built beside the test bundle; a missing one fails the test.
        let probe = try BuiltBinary.path("ringfence-store-crash-probe")
        let scratch = try Scratch()
        let postgres = backend == .postgres ? try PostgresStoreTests.freshDatabase() : nil
        let url = postgres?.url ?? "sqlite:\(scratch.file("state.db"))"
        var generator = SeededGenerator(seed: 20_261_121)
        /// Every entry acknowledged so far, with the session of the probe it was acknowledged to.
        var owners: [UInt64: String] = [:]
        for iteration in 0..<50 {
            let together = iteration % 5 == 4
            let seeds = together ? [UInt64(iteration) * 2 + 1, UInt64(iteration) * 2 + 2] : [UInt64(iteration) * 2 + 1]
            // On PostgreSQL two runtimes' audit logs appending without pause starve one another
            // (the loser of the head lock re-reads the head while the winner queues its next
            // commit; docs/scaling.md): probes appending together there do it directly.
            let mode = iteration.isMultiple(of: 2) || (together && backend == .postgres) ? "direct" : "log"
            let acks = seeds.map { _ in Int.random(in: 1...12, using: &generator) }
            let runs = try Self.run(probe, url: url, seeds: seeds, mode: mode, acks: acks,
                                    delay: UInt32.random(in: 0..<4000, using: &generator))
            for run in runs {
                #expect(run.killed && !run.stalled, "run \(iteration): probe \(run.seed) was not killed as planned (\(run.ending)): \(run.stderr)")
                #expect(!run.acknowledged.isEmpty, "run \(iteration): probe \(run.seed) acknowledged nothing: \(run.stderr)")
                for range in run.acknowledged {
                    for seq in range {
                        #expect(owners.updateValue("probe-\(run.seed)", forKey: seq) == nil,
                                "run \(iteration): entry \(seq) was acknowledged twice")
                    }
                }
            }

            if let postgres {
                // A probe killed just after sending its COMMIT still commits: PostgreSQL finishes
                // the transaction before its backend notices that the client is gone. The store is
                // read once the killed probes' backends have ended, at rest, or the entries could
                // grow between reading its head and reading its entries.
                let atRest = try eventually(within: 30, every: 0.01) {
                    try postgres.cluster.psql("SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND backend_type = 'client backend' AND pid <> pg_backend_pid()",
                                              database: postgres.database).trimmingCharacters(in: .whitespacesAndNewlines) == "0"
                }
                #expect(atRest, "run \(iteration): the killed probes' connections did not end")
            }
            let store = try Stores.open(url: url)
            let snapshot = try store.load()
            let entries = try allEntries(store, chunk: 500)
            #expect(UInt64(entries.count) == snapshot.auditSize)
            for (seq, session) in owners {
                #expect(seq < entries.count && entries[Int(seq)].entry.session == session,
                        "run \(iteration): acknowledged entry \(seq) of `\(session)` is missing or replaced")
            }
            let report = AuditChainVerifier.verify(entries.map { ($0.entry, $0.data) })
            #expect(report.failure == nil, "run \(iteration): \(report.failure?.message ?? "")")
            #expect(report.lastHash == snapshot.lastHash)
            #expect(entries.allSatisfy { $0.hash == $0.entry.hash })
            // The Merkle nodes and every checkpoint committed with the entries.
            #expect(try MerkleFrontier(size: snapshot.auditSize, source: StoreNodeSource(frontierOf: snapshot.auditSize, in: store)).root == report.root)
            var frontier = MerkleFrontier(), roots: [UInt64: AuditHash] = [:]
            for stored in entries {
                frontier.append(MerkleHash.leaf(entryHash: stored.hash))
                roots[frontier.size] = frontier.root
            }
            for checkpoint in try store.checkpoints() {
                #expect(roots[checkpoint.size] == checkpoint.root, "run \(iteration): checkpoint \(checkpoint.size)")
            }
            // The state row each append wrote in the same transaction as its entries.
            for run in runs {
                guard let round = run.lastRound else { continue }
                let row = snapshot.rows.first { $0.key == StateKey("probe", String(run.seed)) }
                let stored = row.flatMap { Int(String(decoding: $0.value, as: UTF8.self)) }
                #expect((stored ?? -1) >= round, "run \(iteration): probe \(run.seed)'s row lags its acknowledged round \(round)")
            }
            try (store as? SQLiteStore)?.close()
            (store as? PostgresStore)?.close()
        }
    }
}
