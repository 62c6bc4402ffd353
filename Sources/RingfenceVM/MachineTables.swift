import RingfenceBytecode
import RingfenceMatch

/// The machine's immutable tables in buffers allocated once at load and freed with the
/// machine, so the dispatch loop reads code, constants and patterns through plain pointers:
/// no array bounds checks beyond the verifier's, and no reference counting per access.
final class MachineTables: @unchecked Sendable {
    // Safety: every buffer is written once in `init` and only read afterwards; `deinit` frees them.
    let code: UnsafeMutableBufferPointer<Instruction>
    let constants: UnsafeMutableBufferPointer<Register>
    let constantBytes: UnsafeMutableBufferPointer<UInt8>
    let constantItems: UnsafeMutableBufferPointer<Register>
    let globs: UnsafeMutableBufferPointer<Unmanaged<GlobProgram>>
    /// Glob set `s` is `globSetMembers[globSetStarts[s] ..< globSetStarts[s + 1]]`.
    let globSetStarts: UnsafeMutableBufferPointer<Int32>
    let globSetMembers: UnsafeMutableBufferPointer<Int32>
    let regexes: UnsafeMutableBufferPointer<Unmanaged<Regex>>

    /// Copies the tables into fresh buffers; the regexes are retained until `deinit`.
    init(code: [Instruction], constants: [Register], arena: Arena, globs: [Glob], globSets: [[Int]], regexes: [Regex]) {
        self.code = stableCopy(code)
        self.constants = stableCopy(constants)
        self.constantBytes = stableCopy(arena.bytes)
        self.constantItems = stableCopy(arena.items)
        self.globs = stableCopy(globs.map { Unmanaged.passRetained($0.matcher) })
        var starts: [Int32] = [0]
        var members: [Int32] = []
        for set in globSets {
            members += set.map { Int32(truncatingIfNeeded: $0) }
            starts.append(Int32(truncatingIfNeeded: members.count))
        }
        self.globSetStarts = stableCopy(starts)
        self.globSetMembers = stableCopy(members)
        self.regexes = stableCopy(regexes.map { Unmanaged.passRetained($0) })
    }

    deinit {
        for r in regexes { r.release() }
        for g in globs { g.release() }
        for buffer in [code.baseAddress.map(UnsafeMutableRawPointer.init), constants.baseAddress.map(UnsafeMutableRawPointer.init),
                       constantBytes.baseAddress.map(UnsafeMutableRawPointer.init), constantItems.baseAddress.map(UnsafeMutableRawPointer.init),
                       globSetStarts.baseAddress.map(UnsafeMutableRawPointer.init), globSetMembers.baseAddress.map(UnsafeMutableRawPointer.init),
                       regexes.baseAddress.map(UnsafeMutableRawPointer.init)] {
            // Every element type here is trivial (the references are unmanaged), so no deinitialization is needed.
            buffer?.deallocate()
        }
        globs.baseAddress?.deallocate()
    }
}

/// A buffer holding a copy of `array`, allocated with at least one slot so its base address is
/// never nil; the caller owns it and deallocates it from its base address.
func stableCopy<T>(_ array: [T]) -> UnsafeMutableBufferPointer<T> {
    let buffer = UnsafeMutableBufferPointer<T>.allocate(capacity: max(1, array.count))
    _ = buffer.initialize(from: array)
    return UnsafeMutableBufferPointer(rebasing: buffer[0..<array.count])
}
