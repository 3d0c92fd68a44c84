//go:build !amd64 || purego

package hdlc

// useCLMUL is false where no carry-less multiply is wired up: the tables do
// all the work.
const useCLMUL = false

func clmulFold(p []byte, k *[4]uint64, init uint64) (lo, hi uint64) {
	panic("hdlc: clmulFold without CLMUL")
}
