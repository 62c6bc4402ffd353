import CAllocationCounter
import Foundation
import RingfenceCommands
import Testing
import RingfenceTestSupport

/// `ringfence bench` (SPEC §4.3): output shapes and errors. Timings are not asserted here;
/// they belong to `Benchmarks/`. Serialized: the allocation counter is one per process, and a
/// `bench` run in a test beside `allocationCounterCountsAllocations` restarts and stops it there.
@Suite(.serialized) struct BenchCommandTests {
    static let policy = """
    ringfence: 1
    kind: policy
    name: single
    rules:
      - id: read-workspace
        effect: allow
        action: fs.read
        resources: ["/workspace/**"]
        when: agent.trust >= 0.7
    """

    /// The policy and a request, written into a scratch folder (removed when it goes away).
    struct Files {
        /// The folder holding both files.
        let dir: Scratch
        /// The policy file's path.
        let policy: String
        /// The request file's path.
        let request: String
    }

    /// Writes the policy and an allowed request into a fresh folder.
    func files() throws -> Files {
        let dir = try Scratch("bench")
        let policy = try dir.write("p.yaml", Self.policy)
        let request = try dir.write("r.json", #"{"agent":{"id":"a","trust":0.9},"action":"fs.read","resource":"/workspace/a"}"#)
        return Files(dir: dir, policy: policy, request: request)
    }

    @Test func jsonHasTheThreeFigures() throws {
        let made = try files()
        let (policy, request) = (made.policy, made.request)
        let capture = CommandCapture()
        let status = RingfenceCLI.run(["bench", "-p", policy, "-i", request, "--iterations", "2100", "--format", "json"], io: capture.io)
        #expect(status == 0, "\(capture.stderr)")
        let object = try #require(try JSONSerialization.jsonObject(with: Data(capture.stdout.utf8)) as? [String: Any])
        #expect(Set(object.keys) == ["ns_per_decision", "decisions_per_second", "allocations_per_decision"])
        #expect((object["ns_per_decision"] as? Double).map { $0 > 0 } == true)
        #expect((object["decisions_per_second"] as? Int).map { $0 > 0 } == true)
        #expect((object["allocations_per_decision"] as? Double).map { $0 >= 0 } == true)
    }

    @Test func threadsAddTheSharedEngineFigures() throws {
        let made = try files()
        let (policy, request) = (made.policy, made.request)
        let capture = CommandCapture()
        let status = RingfenceCLI.run(["bench", "-p", policy, "-i", request, "--iterations", "2100", "--threads", "2", "--format", "json"],
                                      io: capture.io)
        #expect(status == 0, "\(capture.stderr)")
        let object = try #require(try JSONSerialization.jsonObject(with: Data(capture.stdout.utf8)) as? [String: Any])
        #expect(Set(object.keys) == ["ns_per_decision", "decisions_per_second", "allocations_per_decision",
                                     "threads", "threads_decisions_per_second", "threads_scaling"])
        #expect(object["threads"] as? Int == 2)
        #expect((object["threads_decisions_per_second"] as? Int).map { $0 > 0 } == true)
        #expect((object["threads_scaling"] as? Double).map { $0 > 0 } == true)
        let text = CommandCapture()
        #expect(RingfenceCLI.run(["bench", "-p", policy, "-i", request, "--iterations", "2100", "--threads", "2"], io: text.io) == 0)
        #expect(text.stdout.contains("2 threads sharing the engine: "))
        let usage = CommandCapture()
        #expect(RingfenceCLI.run(["bench", "-p", policy, "-i", request, "--threads", "0"], io: usage.io) == 2)
    }

    @Test func textNamesTheDecision() throws {
        let made = try files()
        let (policy, request) = (made.policy, made.request)
        let capture = CommandCapture()
        #expect(RingfenceCLI.run(["bench", "-p", policy, "-i", request, "--iterations", "2100"], io: capture.io) == 0)
        #expect(capture.stdout.contains("ns per decision (median of 21 batches)"))
        #expect(capture.stdout.contains("each decided allow (allow) by single/read-workspace"))
    }

    /// The counter behind `allocations_per_decision` really counts: a deliberate allocation shows.
    @Test func allocationCounterCountsAllocations() {
        #expect(rf_allocation_counter_available() == 1)
        rf_allocation_counter_start()
        for i in 0..<10 {
            let array = [Int](repeating: i, count: 1000 + i)
            #expect(array.count == 1000 + i)
        }
        let counted = rf_allocation_counter_stop()
        #expect(counted >= 10, "counted \(counted) allocations for 10 arrays")
        rf_allocation_counter_start()
        let none = rf_allocation_counter_stop()
        #expect(none == 0)
        // Aligned allocations count too (the runtime's heap fallback for temporary buffers uses them).
        rf_allocation_counter_start()
        var block: UnsafeMutableRawPointer?
        #expect(posix_memalign(&block, 64, 4096) == 0)
        let aligned = rf_allocation_counter_stop()
        free(block)
        #expect(aligned >= 1)  // other tests may allocate meanwhile; none of this kind went uncounted
        let temporary = (0..<4).map { _ in
            rf_allocation_counter_start()
            withUnsafeTemporaryAllocation(byteCount: 1 << 20, alignment: 64) { buffer in _ = buffer.initializeMemory(as: UInt8.self, repeating: 1) }
            return rf_allocation_counter_stop()
        }
        #expect(temporary.allSatisfy { $0 >= 1 }, "a 1 MiB temporary buffer is on the heap: \(temporary)")
    }

    @Test func badInputExitsTwo() throws {
        let made = try files()
        let policy = made.policy
        let missing = CommandCapture()
        #expect(RingfenceCLI.run(["bench", "-p", policy, "-i", "/nonexistent/r.json"], io: missing.io) == 2)
        #expect(missing.stderr.contains("error[RF0001]"))
        let usage = CommandCapture()
        #expect(RingfenceCLI.run(["bench", "-p", policy, "-i", "x", "--iterations", "3"], io: usage.io) == 2)
    }
}
