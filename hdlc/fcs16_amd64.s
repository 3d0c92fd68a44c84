//go:build amd64 && !purego

#include "textflag.h"

// FOLD replaces X with the 16-byte block congruent to X shifted past the
// distance whose constants are in K (low qword: for X's low half, high
// qword: for its high half), using T as scratch. See clmulK in fcs.go.
#define FOLD(K, X, T) \
	MOVO X, T \
	PCLMULQDQ $0x00, K, X \
	PCLMULQDQ $0x11, K, T \
	PXOR T, X

// func clmulFold(p []byte, k *[4]uint64, init uint64) (lo, hi uint64)
TEXT ·clmulFold(SB), NOSPLIT, $0-56
	MOVQ p_base+0(FP), SI
	MOVQ p_len+8(FP), CX
	MOVQ k+24(FP), AX
	MOVOU 0(AX), X10  // fold by 16 bytes
	MOVOU 16(AX), X11 // fold by 64 bytes
	MOVQ init+32(FP), X9

	// The initial FCS enters as an XOR into the first two bytes.
	MOVOU 0(SI), X0
	PXOR X9, X0
	ADDQ $16, SI
	SUBQ $16, CX
	CMPQ CX, $48
	JB single

	// Four independent lanes, 64 bytes a round, hide the multiplier's
	// latency.
	MOVOU 0(SI), X1
	MOVOU 16(SI), X2
	MOVOU 32(SI), X3
	ADDQ $48, SI
	SUBQ $48, CX

loop4:
	CMPQ CX, $64
	JB merge
	FOLD(X11, X0, X4)
	FOLD(X11, X1, X5)
	FOLD(X11, X2, X6)
	FOLD(X11, X3, X7)
	MOVOU 0(SI), X4
	MOVOU 16(SI), X5
	MOVOU 32(SI), X6
	MOVOU 48(SI), X7
	PXOR X4, X0
	PXOR X5, X1
	PXOR X6, X2
	PXOR X7, X3
	ADDQ $64, SI
	SUBQ $64, CX
	JMP loop4

merge:
	FOLD(X10, X0, X4)
	PXOR X0, X1
	FOLD(X10, X1, X4)
	PXOR X1, X2
	FOLD(X10, X2, X4)
	PXOR X2, X3
	MOVO X3, X0

single:
	CMPQ CX, $16
	JB done
	FOLD(X10, X0, X4)
	MOVOU 0(SI), X4
	PXOR X4, X0
	ADDQ $16, SI
	SUBQ $16, CX
	JMP single

done:
	MOVQ X0, lo+40(FP)
	PSRLDQ $8, X0
	MOVQ X0, hi+48(FP)
	RET
