// Macros shared by the hand-written kernels (vnni_side_amd64.s, a16vnni_amd64.s, a16_amd64.s).

// ZERO8 clears eight accumulators.
#define ZERO8(a0, a1, a2, a3, a4, a5, a6, a7) \
	VPXORD a0, a0, a0; \
	VPXORD a1, a1, a1; \
	VPXORD a2, a2, a2; \
	VPXORD a3, a3, a3; \
	VPXORD a4, a4, a4; \
	VPXORD a5, a5, a5; \
	VPXORD a6, a6, a6; \
	VPXORD a7, a7, a7
