//go:build amd64 && !purego

package hdlc

import "golang.org/x/sys/cpu"

// useCLMUL says whether FCS16 folds long inputs with carry-less
// multiplication; without PCLMULQDQ the tables do all the work.
var useCLMUL = cpu.X86.HasPCLMULQDQ

// clmulFold folds p (a non-zero multiple of 16 bytes) into one 16-byte
// block, returned as two little-endian halves, whose FCS-16 from 0 equals the
// FCS-16 of p from init. k holds the folding constants of clmulK.
//
//go:noescape
func clmulFold(p []byte, k *[4]uint64, init uint64) (lo, hi uint64)
