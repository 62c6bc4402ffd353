import Foundation
import RingfenceCommands
import RingfenceCorpusSupport
import RingfenceTestSupport
import Testing

/// Runs `ringfence` in-process (`RingfenceCLI.run` with a `CommandCapture`) with `arguments`
/// and `stdin`.
public func ringfence(_ arguments: [String], stdin: String = "") -> CommandRun {
    let capture = CommandCapture(stdin: stdin)
    let status = RingfenceCLI.run(arguments, io: capture.io)
    return CommandRun(status: status, stdout: capture.stdout, stderr: capture.stderr)
}

extension EvalCorpus {
    /// Writes `cases`' requests as JSON Lines into `folder`, runs `ringfence eval -p policyPaths…
    /// -i` in-process and checks the exit status and every decision line against the expectations.
    public static func checkThroughCLI(_ name: String, cases: [Case], policyPaths: [String], in folder: Scratch) {
        let input: String
        do {
            input = try folder.write("requests.jsonl", cases.map { $0.request.jsonText + "\n" }.joined())
        } catch {
            Issue.record("\(name): cannot write the requests: \(error)")
            return
        }
        let run = ringfence(["eval", "-p"] + policyPaths + ["-i", input])
        let anyDenied = cases.contains { $0.expect.decision == "deny" }
        #expect(run.status == (anyDenied ? 3 : 0), "\(name): exit status \(run.status); stderr: \(run.stderr)")
        let lines = run.stdout.split(separator: "\n", omittingEmptySubsequences: true)
        #expect(lines.count == cases.count, "\(name): \(lines.count) decision lines for \(cases.count) requests; stderr: \(run.stderr)")
        for (c, line) in zip(cases, lines) {
            guard let object = (try? JSONSerialization.jsonObject(with: Data(line.utf8))) as? [String: Any] else {
                Issue.record("\(name): \(c.name): output line is not a JSON object: \(line)")
                continue
            }
            let fields = (decision: object["decision"] as? String ?? "?", code: object["code"] as? String ?? "?",
                          policy: object["policy"] as? String, rule: object["rule"] as? String,
                          reason: object["reason"] as? String, ring: object["ring"] as? Int)
            let problems = mismatches(fields, c.expect)
            #expect(problems.isEmpty, "\(name): \(c.name) (CLI): \(problems.joined(separator: "; ")) — got \(line)")
        }
    }
}
