import Foundation
import Testing
import RingfenceDiagnostics
@testable import RingfenceSyntax
import RingfenceTestSupport

/// Loads `text` as `t.yaml` with the given limits.
private func load(_ text: String, limits: YAMLLimits = .default) -> YAMLLoadResult {
    YAMLLoader.load(text: text, file: "t.yaml", limits: limits)
}

/// The one diagnostic a load produced, as `code line:column`, for compact assertions.
private func summary(_ result: YAMLLoadResult) -> [String] {
    result.diagnostics.map { "\($0.code.rawValue) \($0.location.line):\($0.location.column)" }
}

/// The resolved value of the root scalar of `text`.
private func rootValue(_ text: String) -> YAMLScalar.Value? {
    load(text).document?.scalar?.value
}

/// The deepest collection nesting and the node count of a tree, walked without recursion.
private func shape(_ root: YAMLNode) -> (depth: Int, nodes: Int) {
    var stack: [(YAMLNode, Int)] = [(root, 0)]
    var deepest = 0
    var nodes = 0
    while let (node, depth) = stack.popLast() {
        nodes += 1
        switch node.content {
        case .scalar: deepest = max(deepest, depth)
        case .sequence(let items):
            deepest = max(deepest, depth + 1)
            stack.append(contentsOf: items.map { ($0, depth + 1) })
        case .mapping(let pairs):
            deepest = max(deepest, depth + 1)
            stack.append(contentsOf: pairs.map { ($0.value, depth + 1) })
        }
    }
    return (deepest, nodes)
}

@Suite struct YAMLLoaderTests {
    // MARK: Scalars

    /// Each core-schema form of a plain scalar and the value it resolves to.
    static let coreSchemaTable: [(String, YAMLScalar.Value)] = [
        ("null", .null), ("Null", .null), ("NULL", .null), ("~", .null), ("", .null),
        ("true", .bool(true)), ("True", .bool(true)), ("TRUE", .bool(true)),
        ("false", .bool(false)), ("False", .bool(false)), ("FALSE", .bool(false)),
        ("0", .integer(0)), ("42", .integer(42)), ("-17", .integer(-17)), ("+8", .integer(8)), ("007", .integer(7)),
        ("0o17", .integer(15)), ("0x1F", .integer(31)), ("0xff", .integer(255)),
        ("9223372036854775807", .integer(Int.max)),
        ("9223372036854775808", .float(9_223_372_036_854_775_808.0)),
        ("0x10000000000000000", .float(18_446_744_073_709_551_616.0)),
        ("1.5", .float(1.5)), ("-0.25", .float(-0.25)), (".5", .float(0.5)), ("1.", .float(1.0)),
        ("+12.5e3", .float(12_500)), ("1e3", .float(1000)), ("2E-2", .float(0.02)),
        (".inf", .float(.infinity)), (".Inf", .float(.infinity)), (".INF", .float(.infinity)),
        ("+.inf", .float(.infinity)), ("-.inf", .float(-.infinity)), ("-.INF", .float(-.infinity)),
        ("nulls", .string("nulls")), ("tru", .string("tru")), ("0o8", .string("0o8")), ("0xG", .string("0xG")),
        ("-0x1F", .string("-0x1F")), ("1e", .string("1e")), (".", .string(".")), ("1.2.3", .string("1.2.3")),
        ("inf", .string("inf")), ("nan", .string("nan")), ("1e999", .string("1e999")), ("0b101", .string("0b101")),
        ("1_000", .string("1_000")), ("hello world", .string("hello world")), ("12:30", .string("12:30")),
    ]

    @Test(arguments: coreSchemaTable)
    func plainScalarsResolveUnderTheCoreSchema(text: String, expected: YAMLScalar.Value) {
        let result = load("value: \(text)\n")
        #expect(result.diagnostics.isEmpty)
        let scalar = result.document?["value"]?.scalar
        #expect(scalar?.value == expected, "`\(text)`")
        #expect(scalar?.text == text)
        #expect(scalar?.style == .plain)
    }

    @Test func nanFormsResolveToNaN() {
        for text in [".nan", ".NaN", ".NAN"] {
            guard case .float(let value)? = rootValue(text) else {
                Issue.record("`\(text)` is not a float")
                continue
            }
            #expect(value.isNaN)
        }
    }

    @Test func quotedAndBlockScalarsAreAlwaysStrings() {
        let text = """
        a: "true"
        b: 'null'
        c: "12"
        d: |
          42
        e: >
          1.5
        f: true
        g: ""
        h:
        """
        let result = load(text)
        #expect(result.diagnostics.isEmpty)
        let doc = result.document
        #expect(doc?["a"]?.scalar == YAMLScalar(text: "true", style: .doubleQuoted, value: .string("true")))
        #expect(doc?["b"]?.scalar == YAMLScalar(text: "null", style: .singleQuoted, value: .string("null")))
        #expect(doc?["c"]?.scalar?.value == .string("12"))
        #expect(doc?["d"]?.scalar == YAMLScalar(text: "42\n", style: .literal, value: .string("42\n")))
        #expect(doc?["e"]?.scalar == YAMLScalar(text: "1.5\n", style: .folded, value: .string("1.5\n")))
        #expect(doc?["f"]?.scalar?.value == .bool(true))
        #expect(doc?["g"]?.scalar?.value == .string(""))
        #expect(doc?["h"]?.scalar?.value == .null)
    }

    @Test func escapesAreResolvedInDoubleQuotedScalars() {
        let result = load(#"a: "tab\there \u00e9 \"q\"""#)
        #expect(result.document?["a"]?.scalar?.text == "tab\there é \"q\"")
    }

    @Test func coreTagsResolveTheirText() {
        let text = """
        a: !!str 12
        b: !!int "12"
        c: !!float 3
        d: !!bool "true"
        e: !!null ""
        f: !!float 0x10
        g: ! 12
        h: !!str
        """
        let result = load(text)
        #expect(result.diagnostics.isEmpty)
        let doc = result.document
        #expect(doc?["a"]?.scalar?.value == .string("12"))
        #expect(doc?["b"]?.scalar?.value == .integer(12))
        #expect(doc?["c"]?.scalar?.value == .float(3))
        #expect(doc?["d"]?.scalar?.value == .bool(true))
        #expect(doc?["e"]?.scalar?.value == .null)
        #expect(doc?["f"]?.scalar?.value == .float(16))
        #expect(doc?["g"]?.scalar?.value == .string("12"))
        #expect(doc?["h"]?.scalar?.value == .string(""))
    }

    // MARK: Structure and locations

    @Test func nestedNodesAndKeysCarryExactLocations() throws {
        let text = """
        # policy
        name: "wörk"
        rules:
          - id: read
            actions: [fs.read, 'fs.list']
          - {id: x, n: 3}
        """
        let result = load(text)
        #expect(result.diagnostics.isEmpty)
        let root = try #require(result.document)
        #expect(root.location == SourceLocation(file: "t.yaml", line: 2, column: 1))
        let pairs = try #require(root.mapping)
        #expect(pairs.map(\.key) == ["name", "rules"])
        #expect(pairs[0].keyLocation == SourceLocation(file: "t.yaml", line: 2, column: 1))
        #expect(pairs[0].value.location == SourceLocation(file: "t.yaml", line: 2, column: 7))
        #expect(pairs[1].keyLocation == SourceLocation(file: "t.yaml", line: 3, column: 1))
        let rules = try #require(pairs[1].value.sequence)
        #expect(pairs[1].value.location == SourceLocation(file: "t.yaml", line: 4, column: 3))
        #expect(rules.count == 2)
        #expect(rules[0].location == SourceLocation(file: "t.yaml", line: 4, column: 5))
        let first = try #require(rules[0].mapping)
        #expect(first[0].keyLocation == SourceLocation(file: "t.yaml", line: 4, column: 5))
        #expect(first[0].value.location == SourceLocation(file: "t.yaml", line: 4, column: 9))
        #expect(first[1].keyLocation == SourceLocation(file: "t.yaml", line: 5, column: 5))
        let actions = try #require(first[1].value.sequence)
        #expect(first[1].value.location == SourceLocation(file: "t.yaml", line: 5, column: 14))
        #expect(actions.map(\.location.column) == [15, 24])
        #expect(actions.map { $0.scalar?.text } == ["fs.read", "fs.list"])
        let second = try #require(rules[1].mapping)
        #expect(rules[1].location == SourceLocation(file: "t.yaml", line: 6, column: 5))
        #expect(second.map(\.keyLocation.column) == [6, 13])
        #expect(second[1].value.scalar?.value == .integer(3))
    }

    @Test func columnsCountCharactersAndABOMIsFine() throws {
        let bytes: [UInt8] = [0xEF, 0xBB, 0xBF] + Array("é: ü\nk: [ä, b]\n".utf8)
        let result = YAMLLoader.load(bytes: bytes, file: "t.yaml")
        #expect(result.diagnostics.isEmpty)
        let pairs = try #require(result.document?.mapping)
        #expect(pairs[0].keyLocation == SourceLocation(file: "t.yaml", line: 1, column: 1))
        #expect(pairs[0].value.location.column == 4)
        #expect(pairs[1].value.sequence?.map(\.location.column) == [5, 8])
    }

    @Test func aliasesExpandToCopiesOfTheAnchoredNode() throws {
        let text = """
        base: &b
          x: 1
          y: [a, b]
        copy: *b
        word: &w hello
        again: *w
        """
        let result = load(text)
        #expect(result.diagnostics.isEmpty)
        let root = try #require(result.document)
        let copy = try #require(root["copy"])
        #expect(copy["x"]?.scalar?.value == .integer(1))
        #expect(copy["y"]?.sequence?.map { $0.scalar?.text } == ["a", "b"])
        // libyaml starts an anchored node at its anchor; the copy keeps the anchored node's location.
        #expect(copy.location == SourceLocation(file: "t.yaml", line: 1, column: 7))
        #expect(root["again"]?.scalar?.text == "hello")
    }

    @Test func aliasesCanBeKeys() {
        let result = load("name: &k name\n*k : 1\n")
        #expect(summary(result) == ["RF0005 2:1"])
        #expect(load("k: &k name\n*k : 1\n").document?.mapping?.map(\.key) == ["k", "name"])
    }

    // MARK: Errors

    @Test func fileTooLargeIsRefused() {
        var limits = YAMLLimits()
        limits.maxBytes = 10
        let result = load("key: a long value\n", limits: limits)
        #expect(result.document == nil)
        #expect(summary(result) == ["RF0003 1:1"])
    }

    @Test func invalidUTF8IsLocatedAtTheFirstBadByte() {
        let bytes = Array("a: 1\nbé: x".utf8) + [0xC3, 0x28] + Array("\n".utf8)
        let result = YAMLLoader.load(bytes: bytes, file: "t.yaml")
        #expect(result.document == nil)
        #expect(summary(result) == ["RF0002 2:6"])
        #expect(result.diagnostics.first?.message == "file is not valid UTF-8: invalid byte `0xC3`")
        for bad: [UInt8] in [[0xFF], [0xED, 0xA0, 0x80], [0xC0, 0xAF], [0xF4, 0x90, 0x80, 0x80], [0xE2, 0x82]] {
            #expect(summary(YAMLLoader.load(bytes: Array("x: ".utf8) + bad, file: "t.yaml")) == ["RF0002 1:4"])
        }
    }

    @Test func syntaxErrorsCarryLibyamlsProblemAndPosition() {
        let result = load("a: 1\nb: @x\n")
        #expect(result.document == nil)
        #expect(summary(result) == ["RF0004 2:4"])
        #expect(result.diagnostics.first?.message == "found character that cannot start any token")

        let unclosed = load("a: [1, 2\nb: 3\n")
        #expect(unclosed.document == nil)
        #expect(unclosed.diagnostics.count == 1)
        #expect(unclosed.diagnostics.first?.code == .yamlSyntax)

        let indentation = load("a:\n  b: 1\n c: 2\n")
        #expect(summary(indentation) == ["RF0004 3:2"])
        #expect(indentation.diagnostics.first?.message == "did not find expected key")
        #expect(indentation.diagnostics.first?.help == "while parsing a block mapping that starts at line 1, column 1")

        let tab = load("a:\n\t- b\n")
        #expect(summary(tab) == ["RF0004 2:1"])
        #expect(tab.diagnostics.first?.help == "YAML does not allow tabs for indentation; use spaces")
    }

    @Test func controlCharactersAreLocated() {
        let result = YAMLLoader.load(bytes: Array("a: 1\nb: x".utf8) + [0x07] + Array("\n".utf8), file: "t.yaml")
        #expect(summary(result) == ["RF0004 2:5"])
        #expect(result.diagnostics.first?.message == "control characters are not allowed (found U+0007)")
    }

    @Test func duplicateKeysAreReportedAtTheSecondKeyAndTheFirstIsKept() throws {
        let result = load("name: one\nother: 2\nname: two\n")
        #expect(summary(result) == ["RF0005 3:1"])
        let diagnostic = try #require(result.diagnostics.first)
        #expect(diagnostic.message == "duplicate key `name`")
        #expect(diagnostic.help == "first defined at line 1")
        #expect(diagnostic.length == 4)
        #expect(result.document?.mapping?.count == 2)
        #expect(result.document?["name"]?.scalar?.text == "one")
    }

    @Test(arguments: [
        ("yes", "true"), ("Yes", "true"), ("YES", "true"), ("y", "true"), ("Y", "true"),
        ("on", "true"), ("On", "true"), ("ON", "true"),
        ("no", "false"), ("No", "false"), ("NO", "false"), ("n", "false"), ("N", "false"),
        ("off", "false"), ("Off", "false"), ("OFF", "false"),
    ])
    func yaml11BooleansAreRejected(word: String, meaning: String) throws {
        let result = load("list:\n  - \(word)\n")
        #expect(summary(result) == ["RF0006 2:5"])
        let diagnostic = try #require(result.diagnostics.first)
        #expect(diagnostic.message == "`\(word)` is a YAML 1.1 boolean; write `\(meaning)` or quote it as `\"\(word)\"`")
        #expect(result.document?["list"]?.sequence?.first?.scalar?.value == .string(word))
    }

    @Test func quotedYaml11WordsAndKeysAreFine() {
        let result = load("a: \"yes\"\nb: 'off'\non: 1\n")
        #expect(result.diagnostics.isEmpty)
        #expect(result.document?["on"]?.scalar?.value == .integer(1))
    }

    @Test func nestingDeeperThanTheLimitStops() {
        let ok = String(repeating: "[", count: 64) + String(repeating: "]", count: 64)
        #expect(load(ok).diagnostics.isEmpty)
        #expect(load(ok).document.map { shape($0).depth } == 64)

        let deep = String(repeating: "[", count: 65) + String(repeating: "]", count: 65)
        let result = load(deep)
        #expect(result.document == nil)
        #expect(summary(result) == ["RF0007 1:65"])

        let block = (0..<70).map { String(repeating: "  ", count: $0) + "k:" }.joined(separator: "\n") + " 1\n"
        #expect(summary(load(block)) == ["RF0007 65:129"])
    }

    @Test func aliasesCannotNestPastTheLimit() {
        let inner = String(repeating: "[", count: 40) + String(repeating: "]", count: 40)
        let text = "a: &a \(inner)\nb: " + String(repeating: "[", count: 30) + "*a" + String(repeating: "]", count: 30)
        let result = load(text)
        #expect(result.document == nil)
        #expect(summary(result) == ["RF0007 2:34"])
    }

    @Test func billionLaughsIsRefusedQuickly() {
        var lines = ["a0: &a0 [lol, lol, lol, lol, lol, lol, lol, lol, lol, lol]"]
        for level in 1...9 {
            let refs = Array(repeating: "*a\(level - 1)", count: 10).joined(separator: ", ")
            lines.append("a\(level): &a\(level) [\(refs)]")
        }
        let started = ContinuousClock.now
        let result = load(lines.joined(separator: "\n") + "\n")
        let elapsed = ContinuousClock.now - started
        #expect(result.document == nil)
        #expect(result.diagnostics.map(\.code) == [.aliasLimit])
        // `a5` alone expands to 1,111,111 nodes: the budget of 1,000,000 runs out inside it.
        #expect(result.diagnostics.first?.location.line == 6)
        #expect(elapsed < .seconds(5))
    }

    @Test func theNodeBudgetCountsAliasExpansions() {
        var limits = YAMLLimits()
        limits.maxNodes = 12
        let result = load("a: &a [1, 2, 3]\nb: *a\nc: *a\n", limits: limits)
        #expect(summary(result) == ["RF0008 3:4"])
        #expect(result.diagnostics.first?.message == "alias `*a` expands the document past 12 nodes")
    }

    @Test func unknownAliasesAreReported() {
        let result = load("a: *nope\nb: &self [*self]\n")
        #expect(summary(result) == ["RF0009 1:4", "RF0009 2:11"])
        #expect(result.diagnostics.first?.message == "unknown alias `*nope`")
        #expect(result.document?["a"]?.scalar?.value == .null)
    }

    @Test func moreThanOneDocumentIsRefused() {
        let result = load("a: 1\n---\nb: 2\n")
        #expect(summary(result) == ["RF0010 2:1"])
        #expect(result.document?["a"]?.scalar?.value == .integer(1))
        #expect(summary(load("--- 1\n...\n--- 2\n")) == ["RF0010 3:1"])
    }

    @Test func noDocumentIsReportedAtTheStart() {
        for text in ["", "# only a comment\n", "\n\n   \n"] {
            let result = load(text)
            #expect(result.document == nil)
            #expect(summary(result) == ["RF0011 1:1"], "`\(text)`")
        }
        #expect(load("---\n").document?.scalar?.value == .null)
    }

    @Test func complexKeysAreRefused() {
        let result = load("? [a, b]\n: 1\nc: 2\n{x: 1}: 3\n")
        #expect(summary(result) == ["RF0012 1:3", "RF0012 4:1"])
        #expect(result.document?.mapping?.map(\.key) == ["c"])
    }

    @Test func unsupportedAndMisfittingTagsAreReported() {
        let result = load("a: !!int abc\nb: !custom x\nc: !!set {x: null}\nd: !!binary aGk=\ne: !!bool yes\n")
        #expect(summary(result) == ["RF0013 1:4", "RF0013 2:4", "RF0013 3:4", "RF0013 4:4", "RF0013 5:4"])
        #expect(result.diagnostics.map(\.message) == [
            "`abc` is not a valid `!!int` value", "unsupported tag `!custom`", "unsupported tag `!!set`",
            "unsupported tag `!!binary`", "`yes` is not a valid `!!bool` value",
        ])
        #expect(result.document?["a"]?.scalar?.value == .string("abc"))
    }

    @Test func mergeKeysAreRefused() {
        let result = load("base: &b {x: 1}\nother:\n  <<: *b\n  y: 2\n  \"<<\": 3\n")
        #expect(summary(result) == ["RF0014 3:3"])
        #expect(result.document?["other"]?.mapping?.map(\.key) == ["y", "<<"])
    }

    // MARK: Size and robustness

    @Test func aMegabyteFileLoads() throws {
        var text = "rules:\n"
        var index = 0
        while text.utf8.count < 1 << 20 {
            text += "  - id: rule-\(index)\n    effect: allow\n    actions: [fs.read, \"fs.write\"]\n    ring: 2\n"
            index += 1
        }
        let result = load(text)
        #expect(result.diagnostics.isEmpty)
        let rules = try #require(result.document?["rules"]?.sequence)
        #expect(rules.count == index)
        #expect(rules.last?["id"]?.scalar?.text == "rule-\(index - 1)")
        #expect(rules.last?.location.line == 2 + 4 * (index - 1))
    }

    /// Small policy-like documents the robustness corpus mutates.
    static let seeds = [
        "ringfence: 1\nkind: policy\nname: workspace\nrules:\n  - id: read\n    effect: allow\n    actions: [fs.read]\n",
        "rules:\n  - {id: x, effect: deny, when: 'params.q =~ \"(?i)drop\"'}\n  - &r {id: y}\n  - *r\n",
        "a: |\n  literal\n  text\nb: >-\n  folded\nc: \"esc\\u00e9\\n\"\nd: 'it''s'\n",
        "? complex\n: value\n--- \nsecond: doc\n...\n",
        "%YAML 1.2\n---\n!!map {a: !!str 1, b: !!int 2, c: [.inf, -.inf, .nan, 0x1f, 0o17]}\n",
        "base: &b {x: 1}\nmerged:\n  <<: *b\n  y: yes\n  z: ~\n",
    ]

    @Test func neverCrashesOnRandomOrMutatedInput() {
        var random = SeededGenerator(seed: 0x5EED_CAFE)
        let interesting: [UInt8] = Array("[]{}:-&*!\"'\n \t#|>%@,?`\\".utf8) + [0x00, 0xFF, 0xC3, 0xE2, 0x85]
        var inputs: [[UInt8]] = []
        for round in 0..<2_400 {
            var bytes = Array(Self.seeds[round % Self.seeds.count].utf8)
            for _ in 0..<(1 + random.below(8)) {
                let position = random.below(bytes.count + 1)
                switch random.below(4) {
                case 0 where position < bytes.count: bytes[position] ^= UInt8(1 << random.below(8))
                case 1: bytes.insert(interesting[random.below(interesting.count)], at: position)
                case 2 where position < bytes.count: bytes.remove(at: position)
                default:
                    let length = min(random.below(12), bytes.count - min(position, bytes.count))
                    bytes.insert(contentsOf: bytes[position..<(position + length)], at: position)
                }
            }
            inputs.append(bytes)
        }
        for _ in 0..<600 {
            let count = random.below(200)
            let useInteresting = random.below(2) == 0
            inputs.append((0..<count).map { _ in
                useInteresting ? interesting[random.below(interesting.count)] : UInt8(truncatingIfNeeded: random.next())
            })
        }
        inputs.append(Array((String(repeating: "[", count: 100_000) + String(repeating: "]", count: 100_000)).utf8))
        inputs.append(Array(String(repeating: "{a: ", count: 100_000).utf8) + Array(String(repeating: "}", count: 100_000).utf8))
        inputs.append(Array(String(repeating: "- ", count: 100_000).utf8) + Array("x\n".utf8))
        var laughs = "a0: &a0 [lol, lol, lol, lol, lol, lol, lol, lol, lol, lol]\n"
        for level in 1...20 {
            laughs += "a\(level): &a\(level) [" + Array(repeating: "*a\(level - 1)", count: 10).joined(separator: ", ") + "]\n"
        }
        inputs.append(Array(laughs.utf8))

        var documents = 0
        for bytes in inputs {
            let result = YAMLLoader.load(bytes: bytes, file: "fuzz.yaml")
            // A refusal names its cause: never the loader's catch-all for a stream that ended
            // without a document and without an error (the loader adds that one itself, so
            // "a document or an error" always holds and proves nothing).
            #expect(!result.diagnostics.contains { $0.message == "could not read a YAML document" },
                    "no specific reason for \(String(decoding: bytes.prefix(80), as: UTF8.self))")
            for diagnostic in result.diagnostics {
                #expect(diagnostic.location.file == "fuzz.yaml")
                #expect(diagnostic.location.line >= 1 && diagnostic.location.column >= 1)
                #expect(!diagnostic.message.isEmpty && !diagnostic.message.contains("\n"))
            }
            if let document = result.document {
                documents += 1
                let (depth, nodes) = shape(document)
                #expect(depth <= YAMLLimits.default.maxDepth)
                #expect(nodes <= YAMLLimits.default.maxNodes)
            }
        }
        // The corpus is not all rejected at the door: plenty of it still parses.
        #expect(documents > 300)
    }
}
