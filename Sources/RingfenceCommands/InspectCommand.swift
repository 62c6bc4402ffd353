import ArgumentParser
import Ringfence

/// `ringfence inspect BUNDLE`: shows a bundle's header, policies, rules, runtime settings and
/// disassembly (SPEC §4).
///
/// The bundle is decoded and verified exactly as `eval -b` does; a file that is refused gets
/// one `BUNDLE: error[RF5xxx]: message` line on stderr and exit status 2.
struct InspectCommand: RingfenceSubcommand {
    /// The command's name and summary.
    static let configuration = CommandConfiguration(
        commandName: "inspect",
        abstract: "Show a bundle's header, policies, rules, runtime settings, tables and disassembly.",
        discussion: "Exit status: 0 shown, 2 a usage error or a file that is not a valid bundle.")

    /// The bundle file to show.
    @Argument(help: ArgumentHelp("A bundle written by `compile`.", valueName: "bundle"))
    var bundle: String

    /// Reads, verifies (exactly as `eval -b` does) and prints the bundle.
    func execute(_ io: CommandIO) -> Int32 {
        switch EngineLoader.loadBundle(bundle, io: io) {
        case .success(let loaded):
            io.out(BundleReport.render(path: bundle, size: loaded.size, header: loaded.header, program: loaded.engine.program) + "\n")
            return 0
        case .failure(let status):
            return status.code
        }
    }
}

/// The text `inspect` prints for a verified bundle.
enum BundleReport {
    /// The whole report: header, policies, rules, runtime settings, then the disassembler's tables and code.
    static func render(path: String, size: Int, header: Bundle.Header, program: Program) -> String {
        var out: [String] = []
        out.append("bundle \(path) (\(CLIMessages.count(size, "byte")))")
        out.append("  format version   \(header.version)")
        out.append("  isa fingerprint  \(Bundle.hex(header.fingerprint))")
        out.append("  content length   \(CLIMessages.count(Int(header.contentLength), "byte"))")
        out.append("  content sha256   \(Bundle.hex(header.contentHash))")
        out.append("")
        out.append("policies (\(program.policies.count))")
        out += table(program.policies.map { [$0.name, $0.file, combining($0.combining)] })
        out.append("")
        out.append("rules (\(program.rules.count))")
        out += table(program.rules.map { rule(
            $0, policy: Int($0.policy) < program.policies.count ? program.policies[Int($0.policy)] : nil) })
        out.append("")
        out += runtime(program.runtime)
        out.append("")
        out.append("tables and disassembly")
        out.append(Disassembler.render(program))
        return out.joined(separator: "\n")
    }

    /// One rule's row: `policy/id`, `file:line:col`, effect, ring gate, limit and reason.
    static func rule(_ rule: RuleEntry, policy: PolicyEntry?) -> [String] {
        let name = "\(policy?.name ?? "?")/\(rule.id)"
        let location = "\(policy?.file ?? "?"):\(rule.line):\(rule.column)"
        let ring = rule.ring.map { "ring<=\($0)" } ?? "-"
        let limit = rule.limit.map(limitText) ?? "-"
        let reason = rule.reason.map { Disassembler.describe(.string($0)) } ?? "-"
        return [name, location, rule.isDeny ? "deny" : "allow", ring, limit, reason]
    }

    /// The runtime settings: a heading with the deployment's name, then one line per section of
    /// the runtime file with every value as the file writes it (`default_ttl=5m`).
    static func runtime(_ settings: RuntimeSettings) -> [String] {
        var sections: [(name: String, values: [String])] = []
        for (key, value) in settings.entries {
            guard let dot = key.firstIndex(of: ".") else { continue }
            let section = String(key[..<dot]), setting = String(key[key.index(after: dot)...])
            let text = key == "audit.origin" ? Disassembler.describe(.string(value)) : value
            if sections.last?.name != section { sections.append((section, [])) }
            sections[sections.count - 1].values.append("\(setting)=\(text)")
        }
        let width = sections.map(\.name.count).max() ?? 0
        return ["runtime settings \(Disassembler.describe(.string(settings.name)))"]
            + sections.map { "  " + $0.name + String(repeating: " ", count: width - $0.name.count) + "  " + $0.values.joined(separator: " ") }
    }

    /// A limit as written in policies (`100/hour`), or `N/Ms` for other windows.
    static func limitText(_ limit: Limit) -> String {
        switch limit.seconds {
        case 1: "\(limit.count)/second"
        case 60: "\(limit.count)/minute"
        case 3600: "\(limit.count)/hour"
        case 86400: "\(limit.count)/day"
        default: "\(limit.count)/\(limit.seconds)s"
        }
    }

    /// How a policy's rules combine, as docs/language.md names it.
    static func combining(_ combining: Combining) -> String {
        switch combining {
        case .denyOverrides: "deny-overrides"
        case .firstMatchDefaultDeny: "first-match, default deny"
        case .firstMatchDefaultAllow: "first-match, default allow"
        }
    }

    /// Rows as indented columns padded to their widest cell (the last column is not padded).
    static func table(_ rows: [[String]]) -> [String] {
        guard let columns = rows.map(\.count).max() else { return [] }
        var widths = [Int](repeating: 0, count: columns)
        for row in rows {
            for (i, cell) in row.enumerated() { widths[i] = max(widths[i], cell.count) }
        }
        return rows.map { row in
            var line = " "
            for (i, cell) in row.enumerated() {
                line += (i == 0 ? " " : "  ") + (i == row.count - 1 ? cell : cell + String(repeating: " ", count: widths[i] - cell.count))
            }
            return line
        }
    }
}
