import Foundation
import RingfenceAudit
import RingfenceRuntime
import RingfenceSQLite
import Testing

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// SPEC §9.4: a crash loses no acknowledged entry under `strict`, and never leaves a gap or a
/// broken link. A child process (`ringfence-store-crash-probe`) appends strict batches through
/// the runtime's audit log and prints each acknowledgement; the test kills it with SIGKILL at a
/// moment drawn from a seeded generator, reopens the file and checks every acknowledged entry
/// is there, the chain is continuous and the Merkle nodes and checkpoints match it. Twenty
/// kills, all on one file, so each run also recovers after the previous one.
@Suite struct CrashSafetyTests {
    /// The probe executable built beside the test bundle.
    static let probe: String? = {
        var candidates: [URL] = []
        if let main = Foundation.Bundle.main.executableURL { candidates.append(main.deletingLastPathComponent()) }
        candidates.append(Foundation.Bundle.main.bundleURL.deletingLastPathComponent())
        candidates.append(Foundation.Bundle.main.bundleURL)
        if let first = CommandLine.arguments.first { candidates.append(URL(fileURLWithPath: first).deletingLastPathComponent()) }
        // On Darwin the test runner lives inside `RingfencePackageTests.xctest/Contents/MacOS`.
        candidates += candidates.map { $0.deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent() }
        for directory in candidates {
            let path = directory.appendingPathComponent("ringfence-store-crash-probe").path
            if FileManager.default.isExecutableFile(atPath: path) { return path }
        }
        return nil
    }()

    /// What one run of the probe acknowledged before it was killed.
    struct Run {
        /// The highest acknowledged `seq`, if any.
        var lastSeq: UInt64?
        /// The highest acknowledged round.
        var lastRound: Int?
        /// How the process ended.
        var reason: Process.TerminationReason
        /// Its exit status or signal.
        var status: Int32
        /// What it wrote to the standard error.
        var stderr: String
    }

    /// Starts the probe on `url` with `seed`, kills it once it has printed `acks` lines and a
    /// further `delay` microseconds have passed, and reads every acknowledgement it printed.
    static func run(_ probe: String, url: String, seed: UInt64, acks: Int, delay: UInt32) throws -> Run {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: probe)
        process.arguments = [url, String(seed)]
        let output = Pipe(), errors = Pipe()
        process.standardOutput = output
        process.standardError = errors
        try process.run()
        var text = ""
        var lines = 0
        while lines < acks {
            let chunk = output.fileHandleForReading.availableData
            if chunk.isEmpty { break }  // the probe ended by itself
            text += String(decoding: chunk, as: UTF8.self)
            lines = text.filter { $0 == "\n" }.count
        }
        usleep(delay)
        kill(process.processIdentifier, SIGKILL)
        text += String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        let stderr = String(decoding: errors.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        var run = Run(reason: process.terminationReason, status: process.terminationStatus, stderr: stderr)
        // Only whole lines count: a line cut by the kill was never completely acknowledged.
        let complete = text[..<(text.lastIndex(of: "\n") ?? text.startIndex)]
        for line in complete.split(separator: "\n") {
            let fields = line.split(separator: " ")
            guard fields.count == 3, fields[0] == "acked", let seq = UInt64(fields[1]), let round = Int(fields[2]) else { continue }
            run.lastSeq = max(run.lastSeq ?? 0, seq)
            run.lastRound = max(run.lastRound ?? 0, round)
        }
        return run
    }

    @Test func killedStrictWritersLoseNoAcknowledgedEntry() throws {
        guard let probe = Self.probe else {
            Issue.record("no `ringfence-store-crash-probe` executable next to the test bundle: build the package first")
            return
        }
        let scratch = try Scratch()
        let path = scratch.file("state.db"), url = "sqlite:\(path)"
        var generator = SeededGenerator(seed: 20_261_121)
        var acknowledged: UInt64?
        for iteration in 0..<20 {
            let seed = UInt64(iteration) + 1
            let run = try Self.run(probe, url: url, seed: seed, acks: Int.random(in: 1...12, using: &generator),
                                   delay: UInt32.random(in: 0..<4000, using: &generator))
            #expect(run.reason == .uncaughtSignal && run.status == SIGKILL, "run \(iteration): the probe ended by itself: \(run.stderr)")
            #expect(run.lastSeq != nil, "run \(iteration): nothing was acknowledged: \(run.stderr)")
            if let last = run.lastSeq { acknowledged = max(acknowledged ?? 0, last) }

            let store = try SQLiteStore(path: path, url: url)
            let snapshot = try store.load()
            if let acknowledged {
                #expect(snapshot.auditSize > acknowledged, "run \(iteration): entry \(acknowledged) was acknowledged but is missing")
            }
            let entries = try allEntries(store, chunk: 500)
            #expect(UInt64(entries.count) == snapshot.auditSize)
            let report = AuditChainVerifier.verify(entries.map { ($0.entry, $0.data) })
            #expect(report.failure == nil, "run \(iteration): \(report.failure?.message ?? "")")
            #expect(report.lastHash == snapshot.lastHash)
            #expect(entries.allSatisfy { $0.hash == $0.entry.hash })
            // The Merkle nodes and every checkpoint committed with the entries.
            #expect(try MerkleFrontier(size: snapshot.auditSize, source: StoreNodes(store: store)).root == report.root)
            var frontier = MerkleFrontier(), roots: [UInt64: AuditHash] = [:]
            for stored in entries {
                frontier.append(MerkleHash.leaf(entryHash: stored.hash))
                roots[frontier.size] = frontier.root
            }
            for checkpoint in try store.checkpoints() {
                #expect(roots[checkpoint.size] == checkpoint.root, "run \(iteration): checkpoint \(checkpoint.size)")
            }
            // The state row written in the same transaction as the acknowledged entries.
            if let round = run.lastRound {
                let row = snapshot.rows.first { $0.key == StateKey("probe", String(seed)) }
                let stored = row.flatMap { Int(String(decoding: $0.value, as: UTF8.self)) }
                #expect((stored ?? -1) >= round, "run \(iteration): the row lags its acknowledged round \(round)")
            }
            try store.close()
        }
    }
}
