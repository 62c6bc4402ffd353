import Foundation
import Testing
import RingfenceTestSupport

/// Every module a target imports is one its Package.swift entry declares, and the layers depend
/// one way (docs/architecture.md): the VM, wire format and runtime never see the compiler, and
/// neither do the tests of those layers.
@Suite struct TargetImportTests {
    /// Each target's declared dependencies (targets and products by name), read from Package.swift.
    static func declaredDependencies() throws -> [String: Set<String>] {
        let text = try String(contentsOf: Repository.url("Package.swift"), encoding: .utf8)
        var result: [String: Set<String>] = [:]
        var rest = Substring(text)
        while let start = [rest.range(of: "Target(name: \""), rest.range(of: ".target(name: \""), rest.range(of: ".systemLibrary(name: \"")]
            .compactMap({ $0 }).min(by: { $0.lowerBound < $1.lowerBound }) {
            let afterName = rest[start.upperBound...]
            guard let nameEnd = afterName.firstIndex(of: "\"") else { break }
            let name = String(afterName[..<nameEnd])
            var dependencies: Set<String> = []
            let body = afterName[nameEnd...]
            // The entry ends at the next target declaration.
            let next = [body.range(of: "Target(name:"), body.range(of: ".target(name:"), body.range(of: ".systemLibrary(name:")]
                .compactMap { $0?.lowerBound }.min() ?? body.endIndex
            let entry = body[..<next]
            if let deps = entry.range(of: "dependencies: [") {
                var depth = 1, i = deps.upperBound
                while i < entry.endIndex, depth > 0 {
                    if entry[i] == "[" { depth += 1 } else if entry[i] == "]" { depth -= 1 }
                    i = entry.index(after: i)
                }
                let list = entry[deps.upperBound..<i]
                var scan = list
                while let quote = scan.firstIndex(of: "\"") {
                    let after = scan[scan.index(after: quote)...]
                    guard let close = after.firstIndex(of: "\"") else { break }
                    dependencies.insert(String(after[..<close]))
                    scan = after[after.index(after: close)...]
                }
            }
            result[name] = dependencies
            rest = afterName[nameEnd...]
        }
        return result
    }

    /// The project modules `import`ed by the Swift files under `folder`.
    static func imports(under folder: URL) -> Set<String> {
        var found: Set<String> = []
        let files = FileManager.default.enumerator(at: folder, includingPropertiesForKeys: nil)?.compactMap { $0 as? URL } ?? []
        for file in files where file.pathExtension == "swift" {
            guard let text = try? String(contentsOf: file, encoding: .utf8) else { continue }
            for line in text.split(separator: "\n") {
                let words = line.split(separator: " ")
                guard let i = words.firstIndex(of: "import"), i + 1 < words.count,
                      words[..<i].allSatisfy({ $0.hasPrefix("@") }) else { continue }
                let module = String(words[i + 1])
                if module.hasPrefix("Ringfence") || module.hasPrefix("C") && module.first?.isUppercase == true && module != "Crypto"
                    || module == "GRDB" || module == "ArgumentParser" || module == "Crypto" {
                    found.insert(module)
                }
            }
        }
        return found
    }

    /// Every target `target` reaches through its declared dependencies, followed through the
    /// package's targets (products of other packages are leaves).
    static func reachable(from target: String, _ declared: [String: Set<String>]) -> Set<String> {
        var seen: Set<String> = []
        var queue = Array(declared[target] ?? [])
        while let next = queue.popLast() {
            guard seen.insert(next).inserted else { continue }
            queue += declared[next] ?? []
        }
        return seen
    }

    /// C modules a declared product of another package builds and links in, which no product
    /// names: importing one counts as declared when the target declares that product. Only
    /// swift-crypto's BoringSSL, whose one-shot SHA-256 the audit log hashes with on Linux
    /// (`AuditHash.sha256`; on Apple platforms the module is absent and the import is skipped).
    static let providedBy = ["CCryptoBoringSSL": "Crypto"]

    @Test func everyImportIsDeclared() throws {
        let declared = try Self.declaredDependencies()
        #expect(declared.count >= 15, "read only \(declared.count) targets from Package.swift")
        let root = Repository.root
        for source in ["Sources", "Tests"] {
            let folder = root.appendingPathComponent(source)
            for target in (try? FileManager.default.contentsOfDirectory(atPath: folder.path)) ?? [] {
                guard let dependencies = declared[target] else { continue }
                let imported = Self.imports(under: folder.appendingPathComponent(target))
                for module in imported.subtracting([target]) {
                    let declaredAs = Self.providedBy[module] ?? module
                    #expect(dependencies.contains(declaredAs), "\(source)/\(target) imports \(module) but Package.swift does not declare \(declaredAs)")
                }
            }
        }
    }

    /// Every folder of `Sources/` and `Tests/` (but the shared `Tests/Fixtures`) is a target,
    /// so the import check above cannot pass a folder by not knowing it.
    @Test func everySourceFolderIsATarget() throws {
        let declared = try Self.declaredDependencies()
        for source in ["Sources", "Tests"] {
            let folder = Repository.url(source)
            let entries = try FileManager.default.contentsOfDirectory(atPath: folder.path).filter { !$0.hasPrefix(".") }
            for name in entries where !(source == "Tests" && name == "Fixtures") {
                var isDirectory: ObjCBool = false
                guard FileManager.default.fileExists(atPath: folder.appendingPathComponent(name).path, isDirectory: &isDirectory),
                      isDirectory.boolValue else { continue }
                #expect(declared[name] != nil, "\(source)/\(name) is not a target in Package.swift")
            }
        }
    }

    /// The tests of the layers below the compiler, and the support libraries they use, reach
    /// neither the compiler nor the facade through their dependencies (and the runtime's tests
    /// not even libyaml), so they prove those layers work without it.
    @Test func testsBelowTheCompilerLinkNoCompiler() throws {
        let declared = try Self.declaredDependencies()
        let compilerSide: Set<String> = ["RingfenceCompiler", "Ringfence", "RingfenceCommands"]
        for target in ["RingfenceTestSupport", "RingfenceCorpusSupport", "RingfenceMatchTests", "RingfenceVMTests", "RingfenceWireTests",
                       "RingfenceAuditTests", "RingfenceRuntimeTests", "RingfenceStoreTests"] {
            #expect(declared[target] != nil, "Package.swift declares no target `\(target)`")
            let reached = Self.reachable(from: target, declared)
            #expect(reached.isDisjoint(with: compilerSide), "\(target) reaches \(reached.intersection(compilerSide).sorted())")
        }
        let runtime = Self.reachable(from: "RingfenceRuntimeTests", declared)
        #expect(runtime.isDisjoint(with: ["RingfenceSyntax", "CYAML"]), "the runtime's tests reach libyaml: \(runtime.sorted())")
        #expect(Self.reachable(from: "RingfenceTestSupport", declared).isEmpty, "the base test support depends on the project")
    }

    @Test func layersDependOneWay() throws {
        let root = Repository.url("Sources")
        let compilerSide: Set<String> = ["RingfenceCompiler", "RingfenceSyntax", "CYAML", "Ringfence"]
        for target in ["RingfenceVM", "RingfenceWire", "RingfenceAudit", "RingfenceRuntime", "RingfenceSQLite", "RingfenceStores", "RingfenceBytecode"] {
            let imported = Self.imports(under: root.appendingPathComponent(target))
            #expect(imported.isDisjoint(with: compilerSide), "\(target) imports \(imported.intersection(compilerSide))")
        }
        #expect(Self.imports(under: root.appendingPathComponent("RingfenceVM")).isDisjoint(with: ["RingfenceWire", "RingfenceRuntime"]))
        #expect(!Self.imports(under: root.appendingPathComponent("RingfenceRuntime")).contains("GRDB"))
        let commands = Self.imports(under: root.appendingPathComponent("RingfenceCommands"))
        #expect(commands.isDisjoint(with: ["RingfenceSyntax", "RingfenceMatch", "RingfenceCompiler", "RingfenceVM"]),
                "commands reach around the facade: \(commands)")
    }
}
