import Foundation
import RingfenceCommands
import RingfenceTestSupport
import Testing

/// `ringfence store migrate|check` on SQLite files and PostgreSQL databases: check changes
/// nothing and says what migrate would do; migrate creates the store once; a file or database
/// of something else is refused unchanged; an unreachable server is a plain error.
@Suite struct StoreCommandTests {
    /// Runs `ringfence` in-process; returns the status, stdout and stderr.
    static func ringfence(_ arguments: [String]) -> (status: Int32, out: String, err: String) {
        let capture = CommandCapture()
        let status = RingfenceCLI.run(arguments, io: capture.io)
        return (status, capture.stdout, capture.stderr)
    }

    /// A SQLite store in a scratch folder, and a fresh database of the test cluster.
    enum Backend: String, CaseIterable, CustomTestStringConvertible {
        case sqlite, postgres
        var testDescription: String { rawValue }

        /// The schema version this build writes for the backend (SQLite 3, with envelopes in tiles; PostgreSQL 2).
        var schemaVersion: Int { self == .sqlite ? 3 : 2 }

        /// A URL naming no store yet.
        func freshURL(_ scratch: Scratch) throws -> String {
            switch self {
            case .sqlite: return "sqlite:" + scratch.file("state.db")
            case .postgres:
                let cluster = try PostgresTestCluster.require()
                return cluster.url(database: try cluster.createDatabase())
            }
        }
    }

    @Test(arguments: Backend.allCases)
    func checkChangesNothingAndMigrateCreatesTheStoreOnce(_ backend: Backend) throws {
        let scratch = try Scratch()
        let url = try backend.freshURL(scratch)
        let before = Self.ringfence(["store", "check", "--state", url])
        #expect(before.status == 1 && before.err.isEmpty)
        #expect(before.out == "\(url): no store yet: `ringfence store migrate --state \(url)` creates it\n")
        if backend == .sqlite { #expect(!FileManager.default.fileExists(atPath: scratch.file("state.db"))) }
        // Still nothing after the check.
        #expect(Self.ringfence(["store", "check", "--state", url]).status == 1)

        let created = Self.ringfence(["store", "migrate", "--state", url])
        #expect(created.status == 0 && created.err.isEmpty, "\(created.err)")
        #expect(created.out == "\(url): created the store at schema version \(backend.schemaVersion)\n")
        let again = Self.ringfence(["store", "migrate", "--state", url])
        #expect(again.out == "\(url): schema version \(backend.schemaVersion) already\n" && again.status == 0)

        let after = Self.ringfence(["store", "check", "--state", url])
        #expect(after.status == 0 && after.err.isEmpty, "\(after.err)")
        #expect(after.out == "\(url): schema version \(backend.schemaVersion), current; 0 state rows, 0 audit entries\n")
        let verify = Self.ringfence(["audit", "verify", "--state", url])
        #expect(verify.status == 0, "\(verify.out)\(verify.err)")
    }

    @Test func somethingElseIsRefusedUnchangedAndMemoryHasNoSchema() throws {
        let scratch = try Scratch()
        let text = try scratch.write("notes.db", "not a database")
        let refused = Self.ringfence(["store", "migrate", "--state", "sqlite:" + text])
        #expect(refused.status == 2 && refused.out.isEmpty)
        #expect(refused.err.hasPrefix("sqlite:\(text): error: "), "\(refused.err)")
        #expect(try scratch.read("notes.db") == Array("not a database".utf8))

        let cluster = try PostgresTestCluster.require()
        let database = try cluster.createDatabase()
        try cluster.psql("CREATE TABLE customers (id integer PRIMARY KEY)", database: database)
        let url = cluster.url(database: database)
        for command in ["check", "migrate"] {
            let foreign = Self.ringfence(["store", command, "--state", url])
            #expect(foreign.status == 2 && foreign.out.isEmpty)
            #expect(foreign.err.hasPrefix("\(url): error: `\(url)` is not a ringfence store: its database holds other tables (`public.customers`)"),
                    "\(foreign.err)")
        }
        #expect(try cluster.psql("SELECT count(*) FROM pg_namespace WHERE nspname = 'ringfence'", database: database)
            .trimmingCharacters(in: .whitespacesAndNewlines) == "0")

        let memory = Self.ringfence(["store", "check", "--state", "memory:"])
        #expect(memory.status == 2)
        #expect(memory.err == "memory:: error: `memory:` keeps nothing, so it has no schema: name a `sqlite:PATH` or `postgres://…` store\n")
    }

    @Test func anUnreachableServerIsAPlainError() throws {
        let scratch = try Scratch()
        let url = "postgres://postgres@/ringfence?host=\(scratch.path)&connect_timeout=2"
        let result = Self.ringfence(["store", "check", "--state", url])
        #expect(result.status == 2 && result.out.isEmpty)
        #expect(result.err == "\(url): error: cannot read the store's schema in `\(url)`: no server socket at `\(scratch.path)/.s.PGSQL.5432` (is the server running?)\n")
    }
}
