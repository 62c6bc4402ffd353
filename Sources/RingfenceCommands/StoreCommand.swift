import ArgumentParser
import Foundation
import Ringfence
import RingfenceStores

/// `ringfence store migrate|check` (SPEC §12): a state store's schema, created, upgraded or
/// inspected.
struct StoreCommand: ParsableCommand {
    /// The command group.
    static let configuration = CommandConfiguration(
        commandName: "store",
        abstract: "Create, upgrade or check a state store's schema.",
        subcommands: [StoreMigrateCommand.self, StoreCheckCommand.self])
}

/// The phrase for a status in messages.
enum StoreSchemaWording {
    /// `url: …` for a status; `nil` found means no store yet.
    static func line(_ url: String, _ status: StoreSchemaStatus) -> String {
        guard let found = status.found else { return "\(url): no store yet: `ringfence store migrate --state \(url)` creates it" }
        if found == status.current { return "\(url): schema version \(found), current" }
        return "\(url): schema version \(found), older than version \(status.current): `ringfence store migrate --state \(url)` upgrades it"
    }
}

/// Reports a store error as `url: error: …` with exit status 2.
func storeFailure(_ url: String, _ error: StoreError) -> CommandFailure {
    CommandFailure(status: 2, message: "\(url): error: \(error.message)")
}

/// `ringfence store migrate [--state URL]`.
struct StoreMigrateCommand: RingfenceSubcommand {
    /// The command's name and summary.
    static let configuration = CommandConfiguration(
        commandName: "migrate",
        abstract: "Create the store's tables, or upgrade them to this version's schema.",
        discussion: """
            Safe to run from several nodes at once: one creates or upgrades, the others wait and \
            find it done. A store written by a newer ringfence, or a database or file of something \
            else, is refused unchanged. Exit status: 0 done, 2 refused or unreachable.
            """)

    /// The store.
    @OptionGroup var store: StateOption

    /// Migrates and reports.
    func execute(_ io: CommandIO) -> Int32 {
        runReporting(io) { () throws(CommandFailure) -> Int32 in
            let url = store.url
            let before: StoreSchemaStatus
            do throws(StoreError) {
                before = try Stores.migrate(url: url)
            } catch {
                throw storeFailure(url, error)
            }
            switch before.found {
            case nil: io.out("\(url): created the store at schema version \(before.current)\n")
            case before.current: io.out("\(url): schema version \(before.current) already\n")
            case let found?: io.out("\(url): upgraded the schema from version \(found) to \(before.current)\n")
            }
            return 0
        }
    }
}

/// `ringfence store check [--state URL]`.
struct StoreCheckCommand: RingfenceSubcommand {
    /// The command's name and summary.
    static let configuration = CommandConfiguration(
        commandName: "check",
        abstract: "Report a store's schema version and read its head, changing nothing.",
        discussion: """
            Reads the schema version without creating or upgrading anything; at the current \
            version also reads every state row and the audit log's head, which must agree with \
            the last stored entry (`audit verify` checks the whole log). Exit status: 0 current \
            and readable, 1 no store yet or an older schema, 2 refused, damaged or unreachable.
            """)

    /// The store.
    @OptionGroup var store: StateOption

    /// Checks and reports.
    func execute(_ io: CommandIO) -> Int32 {
        runReporting(io) { () throws(CommandFailure) -> Int32 in
            let url = store.url
            let status: StoreSchemaStatus
            do throws(StoreError) {
                status = try Stores.schemaStatus(url: url)
            } catch {
                throw storeFailure(url, error)
            }
            guard status.found == status.current else {
                io.out(StoreSchemaWording.line(url, status) + "\n")
                return 1
            }
            do throws(StoreError) {
                let opened = try Stores.open(url: url)
                let snapshot = try opened.load()
                io.out(StoreSchemaWording.line(url, status) + "; \(snapshot.rows.count) state rows, \(snapshot.auditSize) audit entries\n")
            } catch {
                throw storeFailure(url, error)
            }
            return 0
        }
    }
}
