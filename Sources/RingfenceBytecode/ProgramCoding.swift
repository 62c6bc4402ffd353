/// Serialises a `Program` to the bundle content and back.
///
/// Content layout, in order (counts are u32, strings are u32 length + UTF-8):
/// thresholds (2 × f64) · policies · rules · code (8 bytes each) · code lines (LEB128 zigzag steps from the previous line) ·
/// source table (texts, then one entry of 3 LEB128 numbers per instruction, see `SourceTable`) · constants · globs · glob sets · regexes · slots · sagas (see `SagaPlan.swift`) · action index ·
/// regex literals · runtime settings (see `RuntimeSettings+Coding.swift`). Decoding bounds-checks
/// every read and refuses trailing bytes; `Verifier` then checks every cross-reference and range.
enum ProgramCoding {
    /// Deepest constant-list nesting accepted when decoding.
    static let maxConstantDepth = 8

    /// Encodes a program.
    static func encode(_ p: Program) -> [UInt8] {
        var w = BinaryWriter()
        w.double(p.thresholds.privileged)
        w.double(p.thresholds.standard)
        w.count(p.policies.count)
        for policy in p.policies {
            w.string(policy.name)
            w.string(policy.file)
            w.int(policy.combining.rawValue)
        }
        w.count(p.rules.count)
        for r in p.rules {
            w.string(r.id)
            w.int(r.policy)
            w.bool(r.isDeny)
            w.optional(r.ring) { $0.int($1) }
            w.optional(r.limit) { w, l in
                w.int(l.count)
                w.int(l.seconds)
            }
            w.optional(r.reason) { $0.string($1) }
            w.int(r.entry)
            w.int(r.end)
            w.int(r.registers)
            w.int(r.line)
            w.int(r.column)
        }
        w.count(p.code.count)
        for i in p.code {
            w.int(i.opcode)
            w.int(i.a)
            w.int(i.b)
            w.int(i.c)
        }
        w.count(p.codeLines.count)
        var previousLine: UInt32 = 0
        for line in p.codeLines {
            // Lines as signed steps from the previous one: consecutive instructions share or
            // follow their line, so most steps take one byte.
            w.varint(zigzag(Int64(line) - Int64(previousLine)))
            previousLine = line
        }
        w.count(p.sourceTable.texts.count)
        for text in p.sourceTable.texts { w.string(text) }
        w.count(p.sourceTable.entries.count)
        for (pc, entry) in p.sourceTable.entries.enumerated() { SourceTable.encode(entry, at: pc, &w) }
        w.count(p.constants.count)
        for k in p.constants { encodeConstant(k, &w) }
        w.count(p.globs.count)
        for g in p.globs {
            w.string(g.pattern)
            w.int(g.separator)
            w.bool(g.starCrossesSeparator)
        }
        w.count(p.globSets.count)
        for set in p.globSets {
            w.count(set.count)
            for g in set { w.int(g) }
        }
        w.count(p.regexes.count)
        for x in p.regexes { w.string(x) }
        w.count(p.slots.count)
        for s in p.slots {
            w.int(s.root.rawValue)
            w.count(s.path.count)
            for name in s.path { w.string(name) }
            w.count(s.transforms.count)
            for t in s.transforms { w.int(UInt8(t == .lower ? 0 : 1)) }
        }
        encodeSagas(p.sagas, &w)
        w.count(p.actionIndex.buckets.count)
        for bucket in p.actionIndex.buckets {
            w.string(bucket.action)
            w.count(bucket.rules.count)
            for r in bucket.rules { w.int(r) }
        }
        w.count(p.actionIndex.wildcards.count)
        for r in p.actionIndex.wildcards { w.int(r) }
        w.count(p.actionIndex.resourcePrefixes.count)
        for prefixes in p.actionIndex.resourcePrefixes {
            w.optional(prefixes) { (w: inout BinaryWriter, prefixes: [[UInt8]]) in
                w.count(prefixes.count)
                for prefix in prefixes {
                    w.count(prefix.count)
                    for byte in prefix { w.int(byte) }
                }
            }
        }
        w.count(p.regexLiterals.count)
        for literal in p.regexLiterals {
            w.optional(literal) { (w: inout BinaryWriter, literal: RegexLiteral) in
                w.bool(literal.caseless)
                w.count(literal.bytes.count)
                for byte in literal.bytes { w.int(byte) }
            }
        }
        encodeRuntime(p.runtime, &w)
        return w.bytes
    }

    private static func encodeConstant(_ k: Constant, _ w: inout BinaryWriter) {
        switch k {
        case .null: w.int(UInt8(0))
        case .bool(let b):
            w.int(UInt8(1))
            w.bool(b)
        case .number(let x):
            w.int(UInt8(2))
            w.double(x)
        case .string(let s):
            w.int(UInt8(3))
            w.string(s)
        case .list(let items):
            w.int(UInt8(4))
            w.count(items.count)
            for item in items { encodeConstant(item, &w) }
        }
    }

    /// Decodes a program; throws on any short read, bad tag or trailing byte.
    static func decode(_ bytes: [UInt8]) throws(BinaryReader.Malformed) -> Program {
        var r = BinaryReader(bytes)
        var p = Program()
        p.thresholds = Thresholds(privileged: try r.double(), standard: try r.double())
        for _ in 0..<(try r.count(minimumItemSize: 9)) {
            let name = try r.string(), file = try r.string()
            let raw = try r.int(UInt8.self)
            guard let combining = Combining(rawValue: raw) else { throw .init(message: "unknown combining algorithm \(raw)") }
            p.policies.append(PolicyEntry(name: name, file: file, combining: combining))
        }
        for _ in 0..<(try r.count(minimumItemSize: 30)) {
            let id = try r.string()
            let policy = try r.int(UInt32.self)
            let isDeny = try r.bool()
            let ring = try r.optional { (r: inout BinaryReader) throws(BinaryReader.Malformed) in try r.int(UInt8.self) }
            let limit = try r.optional { (r: inout BinaryReader) throws(BinaryReader.Malformed) in
                Limit(count: try r.int(UInt32.self), seconds: try r.int(UInt32.self))
            }
            let reason = try r.optional { (r: inout BinaryReader) throws(BinaryReader.Malformed) in try r.string() }
            p.rules.append(RuleEntry(
                id: id, policy: policy, isDeny: isDeny, ring: ring, limit: limit, reason: reason,
                entry: try r.int(), end: try r.int(), registers: try r.int(), line: try r.int(), column: try r.int()))
        }
        for _ in 0..<(try r.count(minimumItemSize: 8)) {
            p.code.append(Instruction(raw: try r.int(), a: try r.int(), b: try r.int(), c: try r.int()))
        }
        var previousLine: Int64 = 0
        for _ in 0..<(try r.count(minimumItemSize: 1)) {
            let line = previousLine + unzigzag(try r.varint())
            guard line >= 0, line <= Int64(UInt32.max) else { throw BinaryReader.Malformed(message: "a code line out of range at byte \(r.offset)") }
            p.codeLines.append(UInt32(line))
            previousLine = line
        }
        for _ in 0..<(try r.count(minimumItemSize: 4)) { p.sourceTable.texts.append(try r.string()) }
        for pc in 0..<(try r.count(minimumItemSize: 3)) { p.sourceTable.entries.append(try SourceTable.decode(at: pc, &r)) }
        for _ in 0..<(try r.count()) { p.constants.append(try decodeConstant(&r, depth: 0)) }
        for _ in 0..<(try r.count(minimumItemSize: 6)) {
            p.globs.append(GlobEntry(pattern: try r.string(), separator: try r.int(), starCrossesSeparator: try r.bool()))
        }
        for _ in 0..<(try r.count(minimumItemSize: 4)) {
            var set: [UInt32] = []
            for _ in 0..<(try r.count(minimumItemSize: 4)) { set.append(try r.int()) }
            p.globSets.append(set)
        }
        for _ in 0..<(try r.count(minimumItemSize: 4)) { p.regexes.append(try r.string()) }
        for _ in 0..<(try r.count(minimumItemSize: 9)) {
            let raw = try r.int(UInt8.self)
            guard let root = SlotRoot(rawValue: raw) else { throw .init(message: "unknown slot root \(raw)") }
            var path: [String] = []
            for _ in 0..<(try r.count(minimumItemSize: 4)) { path.append(try r.string()) }
            var transforms: [StringTransform] = []
            for _ in 0..<(try r.count()) {
                switch try r.int(UInt8.self) {
                case 0: transforms.append(.lower)
                case 1: transforms.append(.upper)
                default: throw .init(message: "unknown string transform")
                }
            }
            p.slots.append(SlotEntry(root: root, path: path, transforms: transforms))
        }
        p.sagas = try decodeSagas(&r)
        for _ in 0..<(try r.count(minimumItemSize: 8)) {
            let action = try r.string()
            var rules: [UInt32] = []
            for _ in 0..<(try r.count(minimumItemSize: 4)) { rules.append(try r.int()) }
            p.actionIndex.buckets.append(ActionIndex.Bucket(action: action, rules: rules))
        }
        for _ in 0..<(try r.count(minimumItemSize: 4)) { p.actionIndex.wildcards.append(try r.int()) }
        for _ in 0..<(try r.count(minimumItemSize: 1)) {
            p.actionIndex.resourcePrefixes.append(try r.optional { (r: inout BinaryReader) throws(BinaryReader.Malformed) in
                var prefixes: [[UInt8]] = []
                for _ in 0..<(try r.count(minimumItemSize: 4)) {
                    var prefix: [UInt8] = []
                    for _ in 0..<(try r.count(minimumItemSize: 1)) { prefix.append(try r.int(UInt8.self)) }
                    prefixes.append(prefix)
                }
                return prefixes
            })
        }
        for _ in 0..<(try r.count(minimumItemSize: 1)) {
            p.regexLiterals.append(try r.optional { (r: inout BinaryReader) throws(BinaryReader.Malformed) in
                let caseless = try r.bool()
                var bytes: [UInt8] = []
                for _ in 0..<(try r.count(minimumItemSize: 1)) { bytes.append(try r.int(UInt8.self)) }
                return RegexLiteral(bytes: bytes, caseless: caseless)
            })
        }
        p.runtime = try decodeRuntime(&r)
        guard r.atEnd else { throw .init(message: "unexpected bytes after the program") }
        return p
    }

    private static func decodeConstant(_ r: inout BinaryReader, depth: Int) throws(BinaryReader.Malformed) -> Constant {
        guard depth <= maxConstantDepth else { throw .init(message: "constants nest too deeply") }
        switch try r.int(UInt8.self) {
        case 0: return .null
        case 1: return .bool(try r.bool())
        case 2: return .number(try r.double())
        case 3: return .string(try r.string())
        case 4:
            var items: [Constant] = []
            for _ in 0..<(try r.count()) { items.append(try decodeConstant(&r, depth: depth + 1)) }
            return .list(items)
        case let tag: throw .init(message: "unknown constant tag \(tag)")
        }
    }
}
