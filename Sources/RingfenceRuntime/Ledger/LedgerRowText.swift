// The ledger's members of a state row (`RowText`): amounts in micro-units and the ledger rows'
// version.

extension RowText {
    /// A number member from micro-units: as `JSONText.number` writes micros / 10^6, the digits
    /// made from the integer when it is 0.0001 or more and below 1 (where a double's shortest
    /// text is the plain decimal); through the double otherwise.
    mutating func micros(_ key: StaticString, _ micros: Int64) {
        guard micros >= 100, micros < LedgerUnits.micro else {
            number(key, LedgerUnits.value(micros: micros))
            return
        }
        raw(key) { Self.appendFraction(micros, to: &$0) }
    }

    /// Appends `micros` / 10^6 (100 ≤ `micros` < 10^6) as `0.` and its digits without trailing zeros.
    static func appendFraction(_ micros: Int64, to bytes: inout [UInt8]) {
        var digits = micros, places = 6
        while digits % 10 == 0 {
            digits /= 10
            places -= 1
        }
        bytes.append(UInt8(ascii: "0"))
        bytes.append(UInt8(ascii: "."))
        // `places` zeros, then the digits written over them from the last place back.
        let start = bytes.count
        bytes.append(contentsOf: repeatElement(UInt8(ascii: "0"), count: places))
        var place = start + places - 1
        while digits > 0 {
            bytes[place] = UInt8(ascii: "0") + UInt8(digits % 10)
            digits /= 10
            place -= 1
        }
    }


    /// The ledger rows' version (`"v"`).
    mutating func version() { version(LedgerRows.version) }
}
