package cmux

// The 27.010 frame check sequence (clause 5.2.1.6) is an 8-bit CRC with the generator
// x^8 + x^2 + x + 1, processed least significant bit first (the reversed polynomial 0xE0),
// register preset to all ones, sent as the ones' complement of the register. Run over the
// covered bytes followed by the received FCS, the register ends at fcsGood when nothing was hurt.
const (
	fcsInit = 0xFF
	fcsGood = 0xCF
)

var fcsTable = func() (t [256]byte) {
	for i := range t {
		c := byte(i)
		for range 8 {
			if c&1 != 0 {
				c = c>>1 ^ 0xE0
			} else {
				c >>= 1
			}
		}
		t[i] = c
	}
	return t
}()

// fcsUpdate runs the CRC register over p.
func fcsUpdate(crc byte, p []byte) byte {
	for _, b := range p {
		crc = fcsTable[crc^b]
	}
	return crc
}

// fcsOf is the FCS octet to send after p.
func fcsOf(p []byte) byte { return 0xFF - fcsUpdate(fcsInit, p) }
