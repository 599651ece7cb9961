// Lane masks for the AVX-512 loops' tails, shared by exp_avx512_amd64.s and vec_avx512_amd64.s.

// VTAIL sets K3 to the low DX lanes (DX < 16) and jumps to done when DX is 0; clobbers CX, DX.
#define VTAIL(done) \
	TESTQ DX, DX; \
	JZ    done; \
	MOVQ  DX, CX; \
	MOVL  $1, DX; \
	SHLL  CX, DX; \
	DECL  DX; \
	KMOVW DX, K3
