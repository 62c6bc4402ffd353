/// True when the `count` bytes at `a` and at `b` are equal.
///
/// The runs compared on the decision path (action names, glob literals, index labels) are short,
/// where a call to `memcmp` costs more than the compare itself: eight bytes at a time, then the
/// last 0–7 bytes as two overlapping loads of the widest size that fits. Inlinable, so the VM's
/// callers inline it too.
@inlinable @inline(__always)
public func shortBytesEqual(_ a: UnsafePointer<UInt8>, _ b: UnsafePointer<UInt8>, count n: Int) -> Bool {
    let x = UnsafeRawPointer(a), y = UnsafeRawPointer(b)
    var k = 0
    while k + 8 <= n {
        if x.loadUnaligned(fromByteOffset: k, as: UInt64.self) != y.loadUnaligned(fromByteOffset: k, as: UInt64.self) { return false }
        k += 8
    }
    switch n - k {
    case 4...7:
        return x.loadUnaligned(fromByteOffset: k, as: UInt32.self) == y.loadUnaligned(fromByteOffset: k, as: UInt32.self)
            && x.loadUnaligned(fromByteOffset: n - 4, as: UInt32.self) == y.loadUnaligned(fromByteOffset: n - 4, as: UInt32.self)
    case 2...3:
        return x.loadUnaligned(fromByteOffset: k, as: UInt16.self) == y.loadUnaligned(fromByteOffset: k, as: UInt16.self)
            && x.loadUnaligned(fromByteOffset: n - 2, as: UInt16.self) == y.loadUnaligned(fromByteOffset: n - 2, as: UInt16.self)
    case 1:
        return a[k] == b[k]
    default:
        return true
    }
}
