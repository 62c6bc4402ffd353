import FuzzSupport
import RingfenceMatch

/// Runs libFuzzer over `normalizerFuzzerTestOneInput`.
@main enum NormalizerFuzzerMain {
    /// Hands the command line to libFuzzer.
    static func main() { runFuzzer(normalizerFuzzerTestOneInput) }
}

/// libFuzzer's entry point for the resource normaliser: the input is a resource string. It never
/// traps; a path result is canonical and normalises to itself; a URL result's canonical form
/// normalises to the same components; an unplaceable result says why.
@_cdecl("LLVMFuzzerTestOneInput")
public func normalizerFuzzerTestOneInput(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    let resource = String(decoding: UnsafeBufferPointer(start: data, count: size), as: UTF8.self)
    NormalizerChecks.check(resource, ResourceNormalizer.normalize(resource))
    return 0
}

/// The invariants of `ResourceNormalizer` (SPEC §3.1).
enum NormalizerChecks {
    /// Checks the normal form `result` of `resource`.
    static func check(_ resource: String, _ result: NormalizedResource) {
        switch result {
        case .path(let text):
            fuzzCheck(ResourceNormalizer.normalize(text) == result, "`\(resource)` → `\(text)` → \(ResourceNormalizer.normalize(text))")
            if text.utf8.contains(UInt8(ascii: "/")), !containsBytes(text, "://") { canonicalPath(text, of: resource) }
        case .url(let url):
            fuzzCheck(url.path.utf8.first == UInt8(ascii: "/"), "`\(resource)`: url path `\(url.path)` does not start with `/`")
            canonicalPath(url.path, of: resource)
            let again = ResourceNormalizer.normalize(url.canonical)
            let expected = ResourceURL(scheme: url.scheme, host: url.host, port: url.port, path: url.path, query: nil, fragment: nil)
            fuzzCheck(again == .url(expected), "`\(resource)` → `\(url.canonical)` → \(again)")
        case .unplaceable(let reason):
            fuzzCheck(!reason.isEmpty && reason.last != ".", "`\(resource)`: unplaceable reason `\(reason)`")
        }
        fuzzCheck(result.matchText == nil || !(result.matchText ?? "").isEmpty || resource.isEmpty, "`\(resource)`: empty match text")
    }

    /// True when `text` contains `part` byte for byte (`String.contains` compares characters, and a
    /// combining mark after `/` makes `://` a different character sequence).
    static func containsBytes(_ text: String, _ part: String) -> Bool {
        let bytes = Array(text.utf8), needle = Array(part.utf8)
        guard bytes.count >= needle.count else { return false }
        return (0...(bytes.count - needle.count)).contains { bytes[$0 ..< $0 + needle.count].elementsEqual(needle) }
    }

    /// A normalised path has no empty, `.` or `..` segment and no trailing `/`, except the root
    /// `/` itself and the relative path `.`.
    static func canonicalPath(_ path: String, of resource: String) {
        guard path != "/", path != "." else { return }
        let bytes = Array(path.utf8)
        let body = bytes.first == UInt8(ascii: "/") ? bytes.dropFirst() : bytes[...]
        for segment in body.split(separator: UInt8(ascii: "/"), omittingEmptySubsequences: false) {
            fuzzCheck(!segment.isEmpty && !segment.elementsEqual(".".utf8) && !segment.elementsEqual("..".utf8),
                      "`\(resource)` → path `\(path)` keeps an empty, `.` or `..` segment")
        }
    }
}
