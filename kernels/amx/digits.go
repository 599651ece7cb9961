package amx

import "fmt"

// Digit products: float32 activations carried exactly enough as three signed int8 digits per
// token (X = d0 + 256·d1 + 65536·d2, x ≈ unit·X; qgemm's a16vnni.go) multiply int8 weights on
// TDPBSSD. The digit rows of 32 tokens form three consecutive token-tile pairs of a PanelI8 —
// rows 96q + 32p + 16h + i hold digit p of token 32q + 16h + i — so that the three products
// of 16 tokens are the same C-tile position in pairs 3q, 3q+1, 3q+2, and StoreDigits combines
// them before the transposing store.

// DigitRow is the PanelI8 row of digit p of token t.
func DigitRow(t, p int) int { return 96*(t/32) + 32*p + t%32 }

// DigitRows is the number of PanelI8 rows holding the digits of n tokens.
func DigitRows(n int) int { return 96 * ((n + 31) / 32) }

// AccLen is the length of p's accumulators for 32 rows (NewAcc, NewAccF32).
func (p *PanelI8) AccLen() int { return p.accLen() }

// NewAccF32 returns float32 accumulators for 32 rows of p (DotGrouped).
func (p *PanelI8) NewAccF32() Acc { return make(Acc, p.accLen()) }

// DotGrouped is Dot for weights in groups of group columns (a multiple of 64) with a float32
// scale per row and group: acc (+)= Σ_g s_g ⊙ float32(A_g · X_gᵀ), s[g·32 + r] the scale of row r
// in the g-th group of columns k0… (kl a multiple of group). Each group's int32 sums are exact.
func (p *PanelI8) DotGrouped(acc Acc, a []int8, lda, k0, kl, group int, s []float32, load bool) {
	if group%64 != 0 || group <= 0 || kl%group != 0 {
		panic(fmt.Sprintf("amx: PanelI8.DotGrouped: group %d does not tile columns [%d, %d)", group, k0, k0+kl))
	}
	if k0%64 != 0 || k0+kl > p.Cols || kl <= 0 {
		panic(fmt.Sprintf("amx: PanelI8.DotGrouped: columns [%d, %d) not a tile range of %d", k0, k0+kl, p.Cols))
	}
	ng := kl / group
	if len(a) < 31*lda+kl || len(acc) < p.accLen() || len(s) < ng*32 {
		panic("amx: PanelI8.DotGrouped: a, acc or s too short")
	}
	cb, pool := getScratch[int32](1024)
	bts := p.Cols * 16
	for tp := 0; tp < p.ntb/2; tp++ { // !load: the first group writes acc (no clear)
		dotTilesGI8(cfg, &a[0], lda, &p.buf[2*tp*bts+k0*16], bts, ng, group/64, &acc[tp*1024], &(*cb)[0], &s[0], !load)
	}
	pool.Put(cb)
}

// StoreDigits writes the n tokens of a digit panel (N = DigitRows(n)) for the 32 rows from r0:
// dst[t·ld + r0 + r] = (((256·C2 + C1)·256 + C0)·unit[t])·scale[r] (scale nil: 1), C_p = acc(r,
// DigitRow(t, p)). unit needs DigitRows(n)/3 entries (the padding tokens' are not used).
func (p *PanelI8) StoreDigits(dst []float32, ld, r0 int, acc AccI32, scale, unit []float32, n int) {
	p.storeDigits(dst, ld, r0, n, scale, unit, func(off int, tile, u *float32) { comb3I32(&acc[off], 4096, tile, u) })
}

// StoreDigitsF32 is StoreDigits for DotGrouped's float32 accumulators.
func (p *PanelI8) StoreDigitsF32(dst []float32, ld, r0 int, acc Acc, scale, unit []float32, n int) {
	p.storeDigits(dst, ld, r0, n, scale, unit, func(off int, tile, u *float32) { comb3F32(&acc[off], 4096, tile, u) })
}

// storeDigits runs comb (the tiles at acc offset off, pair step 1024 elements = 4096 bytes) on
// every 16-token tile of the n tokens, then the transposing store.
func (p *PanelI8) storeDigits(dst []float32, ld, r0, n int, scale, unit []float32, comb func(off int, tile, u *float32)) {
	if p.N != DigitRows(n) || n > 0 && len(dst) < (n-1)*ld+r0+32 || scale != nil && len(scale) < 32 || len(unit) < p.N/3 {
		panic("amx: PanelI8.StoreDigits: panel not of n tokens' digits, or dst, scale or unit too short")
	}
	var sp [2]*float32
	if scale != nil {
		sp = [2]*float32{&scale[0], &scale[16]}
	}
	var tile [256]float32
	for q := range (n + 31) / 32 {
		for h := range 2 {
			t0 := 32*q + 16*h
			if t0 >= n {
				break
			}
			for i := range 2 {
				comb(3*q*1024+(2*i+h)*256, &tile[0], &unit[t0])
				storeTile(&tile[0], &dst[t0*ld+r0+16*i], ld, min(16, n-t0), sp[i], false)
			}
		}
	}
}
