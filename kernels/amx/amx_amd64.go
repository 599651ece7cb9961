//go:build linux && amd64 && !noasm

package amx

import (
	"syscall"

	"golang.org/x/sys/cpu"
)

func cpuHasAMX() bool {
	return cpu.X86.HasAMXTile && cpu.X86.HasAMXBF16 && cpu.X86.HasAMXInt8 && cpu.X86.HasAVX512F && cpu.X86.HasAVX512BW
}

// requestPermission asks Linux for the AMX tile data state (arch_prctl(ARCH_REQ_XCOMP_PERM,
// XFEATURE_XTILEDATA)); without it the first tile instruction faults. The permission covers the
// whole process.
func requestPermission() error {
	const archReqXcompPerm, xfeatureXtiledata = 0x1023, 18
	if _, _, e := syscall.RawSyscall(syscall.SYS_ARCH_PRCTL, archReqXcompPerm, xfeatureXtiledata, 0); e != 0 {
		return e
	}
	return nil
}

// dotTiles computes one 32-row × 32-token block with TDPBF16PS:
//
//	for kstep < ksteps, for p < parts, for i < 2 (row tile), for j < 2 (token tile):
//	    C[i][j][r][t] += Σ_{q<32} A[16i+r][32·kstep+q] · B_p[j][32·kstep+q][t]
//
// where A row r is 32·ksteps bf16 at a + r·lda bytes, and B_p[j] is the panel tile of part p and
// token tile j: 16 column pairs × 16 tokens × 2 bf16 (1 KiB per k-step) at b + p·ps + j·bts bytes.
// acc holds the four C tiles (C[i][j] at float offset (2i+j)·256, row r at r·16); they start from acc
// (load) or from zero, and are stored back.
//
//go:noescape
func dotTiles(c *tileConfig, a *uint16, lda int, b *uint16, bts int, ps int, parts int, ksteps int, acc *float32, load bool)

// storeTile writes one finished 16×16 C tile (src[r·16+t], row r = output row, t = token) to dst
// (token t at dst + t·ldd floats, 16 consecutive output rows):
//
//	for t < ntok, r < 16: v = src[r·16+t]·(scale[r] if scale != nil); dst[t·ldd+r] = v (+ dst if acc)
//
//go:noescape
func storeTile(src *float32, dst *float32, ldd int, ntok int, scale *float32, acc bool)

// packTile splits ntok tokens (rows of x, ldx floats apart) of one 16-token tile into parts bf16
// pieces (package comment) and writes them in the panel layout: the pair (x[t,2kp], x[t,2kp+1]) of
// part p at dword kp·16 + t of dst + p·ps bytes, for kp < kpairs (a multiple of 16). Tokens ntok..15
// are not written.
//
//go:noescape
func packTile(dst *uint16, x *float32, ldx int, ntok int, kpairs int, parts int, ps int)

// packTile16 is packTile for ntok = 16 and Parts = 3, transposing whole 16×16 blocks of pairs in
// registers instead of scattering them.
//
//go:noescape
func packTile16(dst *uint16, x *float32, ldx int, kpairs int, ps int)

// dotTilesG is dotTiles over ngroups groups of gsteps k-steps each, with a float32 scale per row and
// group applied between groups (per-group quantization scales):
//
//	for g < ngroups: C = Σ over the group's k-steps (as dotTiles, from zero); stored to cbuf;
//	    acc[i][j][r][t] += s[g·32 + 16i + r] · C[i][j][r][t]
//
// acc and cbuf are four C tiles each (dotTiles' acc layout); s holds 32 scales per group.
//
//go:noescape
func dotTilesG(c *tileConfig, a *uint16, lda int, b *uint16, bts int, ps int, parts int, ngroups int, gsteps int, acc *float32, cbuf *float32, s *float32)

// dotTilesI8 is dotTiles over signed bytes with TDPBSSD: A rows of 64·ksteps int8 (lda bytes
// apart), B tiles of 16 column quads × 16 tokens × 4 bytes (1 KiB per k-step of 64), int32 sums;
// exact, as long as they stay in int32.
//
//go:noescape
func dotTilesI8(c *tileConfig, a *int8, lda int, b *int8, bts int, ksteps int, acc *int32, load bool)

// storeTileI32 writes one finished int32 C tile: dst[t·ldd + r] = (float32(src[r·16+t])·scale[r])·
// tscale[t] for t < ntok, r < 16 (the plain loops' order of operations).
//
//go:noescape
func storeTileI32(src *int32, dst *float32, ldd int, ntok int, scale *float32, tscale *float32)

// packI8Tile16 writes 16 tokens of int8 activations (rows ldx bytes apart) in the B-tile layout:
// dword kq·16 + t of dst is x[t, 4kq : 4kq+4], kq < kquads (a multiple of 16).
//
//go:noescape
func packI8Tile16(dst *int8, x *int8, ldx int, kquads int)

// dotTilesGI8 is dotTilesG over signed bytes (TDPBSSD, gsteps k-steps of 64 per group): each
// group's exact int32 C tiles go to cbuf, then acc[i][j][r][t] += s[g·32 + 16i + r]·float32(C)
// (with init, the first group writes acc instead: acc need not be cleared).
//
//go:noescape
func dotTilesGI8(c *tileConfig, a *int8, lda int, b *int8, bts int, ngroups int, gsteps int, acc *float32, cbuf *int32, s *float32, init bool)

// comb3I32 makes one f32 tile of three int32 digit tiles (src, src+step, src+2·step bytes):
// dst[r·16+t] = ((256·C2 + C1)·256 + C0)·unit[t].
//
//go:noescape
func comb3I32(src *int32, step int, dst *float32, unit *float32)

// comb3F32 is comb3I32 for float32 tiles.
//
//go:noescape
func comb3F32(src *float32, step int, dst *float32, unit *float32)
