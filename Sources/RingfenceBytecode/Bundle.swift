import Crypto
import RingfenceDiagnostics

/// The bundle file format (SPEC §4.2).
///
/// ```
/// offset  size  field
///      0     8  magic            89 52 46 42 0D 0A 1A 0A  ("\x89RFB\r\n\x1a\n")
///      8     2  format version   5 (little-endian; 2 added the regex literals, 3 the runtime settings,
///                                  4 saga base URLs, concurrency bounds and millisecond timeouts,
///                                  5 the source table)
///     10     2  flags            0
///     12     4  reserved         0
///     16     8  ISA fingerprint  first 8 bytes of SHA-256 of `Opcode.tableText`
///     24     8  content length   n
///     32     n  content          the serialised `Program`
///   32+n    32  SHA-256          of the content
/// ```
/// The magic number's high byte and line endings catch text-mode transfers, as PNG's do.
public enum Bundle {
    /// The eight magic bytes.
    public static let magic: [UInt8] = [0x89, 0x52, 0x46, 0x42, 0x0D, 0x0A, 0x1A, 0x0A]
    /// The format version this build writes and reads.
    public static let formatVersion: UInt16 = 5
    /// The header's size in bytes.
    public static let headerSize = 32
    /// The largest bundle accepted (256 MiB).
    public static let maxSize = 256 << 20

    /// The instruction-set fingerprint: the first 8 bytes of SHA-256 of the opcode table.
    public static let fingerprint: [UInt8] = Array(SHA256.hash(data: Array(Opcode.tableText.utf8)))[0..<8].map { $0 }

    /// The SHA-256 of `bytes` as 32 bytes.
    public static func sha256(_ bytes: [UInt8]) -> [UInt8] { Array(SHA256.hash(data: bytes)) }

    /// Serialises a program into bundle bytes.
    public static func encode(_ program: Program) -> [UInt8] {
        let content = ProgramCoding.encode(program)
        var w = BinaryWriter()
        w.bytes.append(contentsOf: magic)
        w.int(formatVersion)
        w.int(UInt16(0))
        w.int(UInt32(0))
        w.bytes.append(contentsOf: fingerprint)
        w.int(UInt64(content.count))
        w.bytes.append(contentsOf: content)
        w.bytes.append(contentsOf: sha256(content))
        return w.bytes
    }

    /// The parts of a bundle header, for `inspect`.
    public struct Header: Sendable, Hashable {
        /// Format version.
        public var version: UInt16
        /// Instruction-set fingerprint.
        public var fingerprint: [UInt8]
        /// Content length in bytes.
        public var contentLength: UInt64
        /// SHA-256 of the content.
        public var contentHash: [UInt8]
    }

    /// Checks the header and checksum, decodes the content and verifies the program — the one
    /// verification a bundle gets: a machine takes the `VerifiedProgram` as it is.
    /// Every failure is a `BundleError` with a stable code; nothing here can trap on bad bytes.
    public static func decode(_ bytes: [UInt8]) throws(BundleError) -> (header: Header, program: VerifiedProgram) {
        if bytes.isEmpty { throw BundleError(.bundleTruncated, "the file is empty") }
        if bytes.count < magic.count || Array(bytes[0..<magic.count]) != magic {
            throw BundleError(.bundleForeign, "not a ringfence bundle (wrong magic number)")
        }
        guard bytes.count >= headerSize + 32 else {
            throw BundleError(.bundleTruncated, "the file ends inside the header (\(bytes.count) bytes)")
        }
        guard bytes.count <= maxSize else { throw BundleError(.bundleMalformed, "the bundle is larger than 256 MiB") }
        var r = BinaryReader(bytes, offset: magic.count)
        do {
            let version = try r.int(UInt16.self)
            guard version == formatVersion else {
                throw BundleError(.bundleVersion, "bundle format version \(version) is not supported (this build reads version \(formatVersion))")
            }
            let flags = try r.int(UInt16.self)
            let reserved = try r.int(UInt32.self)
            guard flags == 0, reserved == 0 else {
                throw BundleError(.bundleMalformed, "the bundle header has unknown flags or reserved bytes set (flags \(flags), reserved \(reserved))")
            }
            let print = Array(bytes[16..<24])
            guard print == fingerprint else {
                throw BundleError(.bundleFingerprint, "the bundle was built for a different instruction set (fingerprint \(hex(print)), this build has \(hex(fingerprint)))")
            }
            var hr = BinaryReader(bytes, offset: 24)
            let length = try hr.int(UInt64.self)
            let available = UInt64(bytes.count - headerSize - 32)
            guard length <= available else {
                throw BundleError(.bundleTruncated, "the bundle is truncated: the header declares \(length) bytes of content, \(available) are present")
            }
            guard length == available else {
                throw BundleError(.bundleMalformed, "\(available - length) unexpected bytes follow the bundle's checksum")
            }
            let content = Array(bytes[headerSize..<headerSize + Int(length)])
            let stored = Array(bytes[(headerSize + Int(length))...])
            let actual = sha256(content)
            guard stored == actual else {
                throw BundleError(.bundleChecksum, "the bundle is corrupted: its SHA-256 does not match its content")
            }
            let program: Program
            do {
                program = try ProgramCoding.decode(content)
            } catch {
                throw BundleError(.bundleMalformed, "the bundle's content is malformed: \(error.message)")
            }
            let verified: VerifiedProgram
            do {
                verified = try Verifier.verify(program)
            } catch {
                throw BundleError(.bundleMalformed, "the bundle failed verification: \(error.message)")
            }
            return (Header(version: version, fingerprint: print, contentLength: length, contentHash: actual), verified)
        } catch let e as BundleError {
            throw e
        } catch {
            throw BundleError(.bundleTruncated, "the bundle is truncated")
        }
    }

    /// Lowercase hex of bytes.
    public static func hex(_ bytes: [UInt8]) -> String {
        let digits = Array("0123456789abcdef")
        var s = ""
        for b in bytes {
            s.append(digits[Int(b >> 4)])
            s.append(digits[Int(b & 15)])
        }
        return s
    }
}

/// Why a bundle was refused.
public struct BundleError: Error, Sendable, Hashable, CustomStringConvertible {
    /// The stable code (RF5xxx).
    public var code: DiagnosticCode
    /// One lowercase line.
    public var message: String
    /// Creates a bundle error.
    public init(_ code: DiagnosticCode, _ message: String) {
        self.code = code
        self.message = message
    }
    /// `error[RF5xxx]: message`.
    public var description: String { "error[\(code.rawValue)]: \(message)" }
}
