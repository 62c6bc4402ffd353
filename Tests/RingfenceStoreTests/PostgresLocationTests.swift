import RingfencePostgres
import RingfenceRuntime
import Testing

/// Reading `postgres://` URLs (no server needed): hosts, sockets, ports, users, passwords kept
/// out of messages, the parameters and their bounds, and plain refusals for everything else.
@Suite struct PostgresLocationTests {
    @Test func tcpURLsAreReadWithLibpqsDefaults() throws {
        let plain = try PostgresLocation(url: "postgres://ringfence@db.example:6543/state")
        #expect(plain.endpoint == .tcp(host: "db.example", port: 6543))
        #expect(plain.user == "ringfence" && plain.password == nil && plain.database == "state")
        #expect(plain.tls == .prefer && plain.connectTimeout == 10 && plain.timeout == 10 && plain.poolSize == 10)
        #expect(plain.redactedURL == "postgres://ringfence@db.example:6543/state")
        #expect(plain.socketPath == nil)

        let defaults = try PostgresLocation(url: "POSTGRESQL://u@10.0.0.7/d")
        #expect(defaults.endpoint == .tcp(host: "10.0.0.7", port: 5432))
        let ipv6 = try PostgresLocation(url: "postgres://u@[::1]:5433/d")
        #expect(ipv6.endpoint == .tcp(host: "::1", port: 5433))
        let tuned = try PostgresLocation(url: "postgres://u@h/d?sslmode=verify-full&connect_timeout=3&timeout=30&pool_size=40")
        #expect(tuned.tls == .verifyFull && tuned.connectTimeout == 3 && tuned.timeout == 30 && tuned.poolSize == 40)
        let encoded = try PostgresLocation(url: "postgres://r%C3%A9my@h/my%20db")
        #expect(encoded.user == "rémy" && encoded.database == "my db")
    }

    @Test func socketDirectoriesComeFromHostParametersOrAnEncodedPath() throws {
        let parameter = try PostgresLocation(url: "postgres://postgres@/ringfence?host=/tmp/cluster")
        #expect(parameter.endpoint == .socket(directory: "/tmp/cluster", port: 5432))
        #expect(parameter.socketPath == "/tmp/cluster/.s.PGSQL.5432")
        #expect(parameter.tls == .disable)
        let encoded = try PostgresLocation(url: "postgres://postgres@%2Fvar%2Frun%2Fpostgresql:5433/ringfence")
        #expect(encoded.socketPath == "/var/run/postgresql/.s.PGSQL.5433")
        let overridden = try PostgresLocation(url: "postgres://postgres@ignored/ringfence?host=/run/pg/&port=6000")
        #expect(overridden.socketPath == "/run/pg/.s.PGSQL.6000")
    }

    @Test func aPasswordNeverReachesTheURLInMessages() throws {
        let location = try PostgresLocation(url: "postgres://ringfence:s3cr%40t@db/state")
        #expect(location.password == "s3cr@t")
        #expect(location.redactedURL == "postgres://ringfence:***@db/state")
        let error = storeError { _ = try PostgresLocation(url: "postgres://ringfence:s3cr%40t@db/state?sslmode=nope") }
        #expect(error?.kind == .badURL)
        #expect(error?.message.contains("s3cr") == false, "\(error?.message ?? "")")
    }

    /// URLs refused, with a fragment of the message.
    static let refused: [(url: String, message: String)] = [
        ("postgres://db/state", "it names no user"),
        ("postgres://:pw@db/state", "it names no user"),
        ("postgres://u@db", "it names no database"),
        ("postgres://u@db/", "it names no database"),
        ("postgres://u@/state", "it names no host"),
        ("postgres://u@db:0/state", "the port `0` is not a number from 1 to 65535"),
        ("postgres://u@db:http/state", "the port `http` is not a number from 1 to 65535"),
        ("postgres://u@[::1/state", "the IPv6 address has no closing `]`"),
        ("postgres://u@db/state?sslmode=maybe", "`sslmode=maybe` is not one of `disable`, `prefer`, `require`, `verify-ca`, `verify-full`"),
        ("postgres://u@/state?host=/tmp/x&sslmode=require", "cannot hold over a unix socket"),
        ("postgres://u@db/state?poolsize=3", "it has the unknown parameter `poolsize`"),
        ("postgres://u@db/state?timeout=0", "`timeout=0` is not a whole number from 1 to 86400"),
        ("postgres://u@db/state?connect_timeout=-1", "`connect_timeout=-1` is not a whole number"),
        ("postgres://u@db/state?timeout=5&timeout=6", "the parameter `timeout` is given twice"),
        ("postgres://u@db/state?timeout", "the parameter `timeout` is not `NAME=VALUE`"),
        ("postgres://u@db/state?host=", "`host=` is empty"),
        ("postgres://u@db/state#top", "a fragment"),
        ("postgres://u@db/sta%zzte", "the database `sta%zzte` is not percent-encoded text"),
        ("postgres://u@db/a/b", "the database `a/b` holds a `/`"),
        ("postgres://u@/d?host=/\(String(repeating: "x", count: 120))", "longer than the 107 bytes"),
    ]

    @Test(arguments: refused)
    func malformedURLsAreRefusedSayingWhy(_ url: String, _ message: String) {
        let error = storeError { _ = try PostgresLocation(url: url) }
        #expect(error?.kind == .badURL)
        // A password is shown as `***` even in the refusal.
        let shown = url.replacingOccurrences(of: ":pw@", with: ":***@")
        #expect(error?.message.hasPrefix("`\(shown)` is not a usable postgresql url: ") == true, "\(error?.message ?? "no error")")
        #expect(error?.message.contains("pw@") == false)
        #expect(error?.message.contains(message) == true, "\(error?.message ?? "no error")")
    }

    @Test func onlyThePostgresSchemesAreNamed() {
        #expect(PostgresLocation.names("postgres://u@h/d") && PostgresLocation.names("PostgreSQL://u@h/d"))
        #expect(!PostgresLocation.names("postgres:/u@h/d") && !PostgresLocation.names("sqlite:x.db") && !PostgresLocation.names("pg://u@h/d"))
        #expect(storeError { _ = try PostgresLocation(url: "pg://u@h/d") }?.kind == .badURL)
    }
}
