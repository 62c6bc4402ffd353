import Foundation
import RingfenceCommands
import RingfenceTestSupport
import Testing

/// The operations corpus again, through `ringfence ops` on a PostgreSQL store (a fresh database
/// of the test process's throwaway cluster per script): the same result lines as on `memory:`,
/// and `ringfence audit verify` passes on what the run left in the database.
@Suite struct OpsCorpusPostgresTests {
    @Test(arguments: try OpsScript.all())
    func throughAPostgresStore(_ script: OpsScript) throws {
        let cluster = try PostgresTestCluster.require()
        let url = cluster.url(database: try cluster.createDatabase())
        let capture = CommandCapture()
        let status = RingfenceCLI.run(["ops", "-p", script.policies.path, "-i", script.script.path, "--seed", String(OpsScript.seed),
                                       "--state", url],
                                      io: capture.io)
        #expect(capture.stderr.isEmpty, "\(script): \(capture.stderr)")
        let expected = try Fixtures.text(script.expected)
        #expect(capture.stdout == expected, "\(script): `ringfence ops --state postgres://…` printed other lines than on `memory:`")
        #expect(status == (expected.contains("\"ok\":false") ? 1 : 0))
        let verify = CommandCapture()
        let verified = RingfenceCLI.run(["audit", "verify", "--state", url], io: verify.io)
        #expect(verified == 0, "\(script): `audit verify` on the database: \(verify.stdout)\(verify.stderr)")
    }
}
