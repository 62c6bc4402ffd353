import RingfencePostgres
import RingfenceRuntime
import RingfenceSQLite
import RingfenceStores
import Testing
import RingfenceTestSupport

/// `Stores.open(url:)` and `RINGFENCE_STATE` (SPEC §12): which URLs name which store, and the
/// plain refusals for the rest.
@Suite struct StoreLocatorTests {
    @Test func urlsNameTheirStores() throws {
        #expect(try Stores.locate("memory:", workingDirectory: "/srv") == .memory)
        #expect(try Stores.locate("sqlite:/var/lib/ringfence/state.db", workingDirectory: "/srv") == .sqlite(path: "/var/lib/ringfence/state.db"))
        #expect(try Stores.locate("sqlite:state.db", workingDirectory: "/srv") == .sqlite(path: "/srv/state.db"))
        #expect(try Stores.locate("sqlite:.ringfence/state.db", workingDirectory: "/srv/") == .sqlite(path: "/srv/.ringfence/state.db"))
        #expect(try Stores.locate("sqlite:///abs/state.db", workingDirectory: "/srv") == .sqlite(path: "///abs/state.db"))
        #expect(try Stores.locate(Stores.defaultURL, workingDirectory: "/w") == .sqlite(path: "/w/.ringfence/state.db"))
        #expect(Stores.defaultURL == "sqlite:.ringfence/state.db")
        guard case .postgres(let location) = try Stores.locate("postgres://ringfence@db.internal:6543/state", workingDirectory: "/srv") else {
            Issue.record("a postgres url located elsewhere")
            return
        }
        #expect(location.endpoint == .tcp(host: "db.internal", port: 6543) && location.user == "ringfence" && location.database == "state")
        guard case .postgres(let socket) = try Stores.locate("postgresql://rf@/state?host=/run/postgresql", workingDirectory: "/srv") else {
            Issue.record("a postgresql url located elsewhere")
            return
        }
        #expect(socket.socketPath == "/run/postgresql/.s.PGSQL.5432")
    }

    /// URLs refused, with what their message starts with.
    static let refused: [(url: String, message: String)] = [
        ("sqlite:", "`sqlite:` names no file: write `sqlite:PATH`, e.g. `sqlite:.ringfence/state.db`"),
        ("sqlite://db.example/state", "`sqlite://db.example/state` names a host, but a sqlite store is a local file"),
        ("postgres://db:5432/ringfence", "`postgres://db:5432/ringfence` is not a usable postgresql url: it names no user"),
        ("postgresql://ringfence@db", "`postgresql://ringfence@db` is not a usable postgresql url: it names no database"),
        ("memory:extra", "`memory:extra` is not a store url: use `memory:`, `sqlite:PATH`"),
        ("state.db", "`state.db` is not a store url: use `memory:`, `sqlite:PATH` (e.g. `sqlite:.ringfence/state.db`) or `postgres://USER@HOST:PORT/DB`"),
        ("", "`` is not a store url"),
        ("redis://localhost", "`redis://localhost` is not a store url"),
    ]

    @Test(arguments: refused)
    func otherURLsAreRefusedSayingWhatIsAccepted(_ url: String, _ message: String) {
        let error = storeError { _ = try Stores.open(url: url) }
        #expect(error?.kind == .badURL)
        #expect(error?.message.hasPrefix(message) == true, "\(error?.message ?? "no error")")
    }

    @Test func theEnvironmentNamesTheStoreWhenNoURLIsGiven() {
        let environment = ["RINGFENCE_STATE": "memory:"]
        #expect(Stores.url(given: nil, environment: environment) == "memory:")
        #expect(Stores.url(given: "sqlite:x.db", environment: environment) == "sqlite:x.db")
        #expect(Stores.url(given: nil, environment: [:]) == Stores.defaultURL)
        #expect(Stores.url(given: nil, environment: ["RINGFENCE_STATE": ""]) == Stores.defaultURL)
        #expect(Stores.environmentVariable == "RINGFENCE_STATE")
    }

    @Test func openingGivesTheNamedBackend() throws {
        let scratch = try Scratch()
        let memory = try Stores.open(url: nil, environment: ["RINGFENCE_STATE": "memory:"])
        #expect(memory is MemoryStore && memory.url == "memory:")
        let url = "sqlite:\(scratch.path)/state.db"
        let sqlite = try Stores.open(url: nil, environment: ["RINGFENCE_STATE": url])
        #expect((sqlite as? SQLiteStore)?.path == "\(scratch.path)/state.db")
        #expect(sqlite.url == url)
        let postgres = storeError { _ = try Stores.open(url: nil, environment: ["RINGFENCE_STATE": "postgres://u@h:5432/d?pool_size=0"]) }
        #expect(postgres?.kind == .badURL)
        #expect(postgres?.message == "`postgres://u@h:5432/d?pool_size=0` is not a usable postgresql url: `pool_size=0` is not a whole number from 1 to 1000")
    }
}
