import Foundation
import Ringfence
import RingfenceCommands
import Testing
import RingfenceTestSupport

/// `eval` over inputs large enough to be decoded on several threads, in several batches (so one
/// batch is printed while the next is decoded): decisions and errors come out in input order, and
/// rate limits are consumed in input order, exactly as one request at a time through the library
/// would.
@Suite struct EvalBatchTests {
    static let limited = """
    ringfence: 1
    kind: policy
    name: batch
    rules:
      - id: no-secrets
        effect: deny
        action: fs.read
        resources: ["/secrets/**"]
      - id: read
        effect: allow
        action: fs.read
        resources: ["/workspace/**"]
        when: agent.trust >= 0.5
        limit: 400/hour
      - id: query
        effect: allow
        action: database.query
        ring: 2
    """

    /// The same policy without the limit (so deciding is spread over threads too).
    static var unlimited: String { limited.replacingOccurrences(of: "        limit: 400/hour\n", with: "") }

    /// 20,000 lines (three batches): requests from seven agents over three actions, with a
    /// malformed line every 97.
    static let lines: [String] = (0..<20_000).map { i in
        if i % 97 == 13 { return i % 2 == 0 ? #"{"agent":{"id":"a"},"action":"#  : #"{"agent":{"trust":0.9},"action":"fs.read"}"# }
        let agent = "agent-\(i % 7)", trust = Double(i % 10) / 10
        let (action, resource) = [("fs.read", "/workspace/f\(i).csv"), ("fs.read", "/secrets/k\(i)"), ("database.query", "")][i % 3]
        let resourceField = resource.isEmpty ? "" : #","resource":"\#(resource)""#
        return #"{"agent":{"id":"\#(agent)","trust":\#(trust)},"action":"\#(action)"\#(resourceField),"context":{"time":"2026-11-21T10:00:00Z"}}"#
    }

    func check(policy: String) throws {
        let dir = try Scratch("eval-batch")
        let file = try dir.write("batch.yaml", policy)

        let engine = try Engine(source: policy, file: file, timeSource: .requestTimeOrClock)
        var expected: [String] = []
        var badLines: [Int] = []
        for (i, line) in Self.lines.enumerated() {
            do {
                expected.append(engine.evaluate(try Request(json: line)).jsonLine)
            } catch {
                badLines.append(i + 1)
            }
        }
        #expect(badLines.count == 207)

        let capture = CommandCapture(stdin: Self.lines.joined(separator: "\n") + "\n")
        #expect(RingfenceCLI.run(["eval", "-p", file], io: capture.io) == 2)
        #expect(capture.stdout.split(separator: "\n").map(String.init) == expected)
        let errorLines = capture.stderr.split(separator: "\n").compactMap { line -> Int? in
            let parts = line.split(separator: ":")
            return parts.count > 2 ? Int(parts[1]) : nil
        }
        #expect(errorLines == badLines)
    }

    @Test func rateLimitedPolicyDecidesInInputOrder() throws {
        try check(policy: Self.limited)
    }

    @Test func unlimitedPolicyDecidesInInputOrder() throws {
        try check(policy: Self.unlimited)
    }
}
