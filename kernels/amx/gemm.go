package amx

import (
	"fmt"
	"sync"
	"unsafe"
)

// Panel holds float32 activations (n, cols) split into Parts bfloat16 pieces in the B-tile layout
// (package comment): part p, token tile tb, column pair kp, token t at dword
// ((p·ntb + tb)·kpairs + kp)·16 + t. Token tiles are padded to an even count with zero tokens.
type Panel struct {
	tokenTiles
	Cols  int
	parts int      // pieces the products use (Parts, or fewer for activations exact in bf16)
	buf   []uint16 // the panel
}

// Supported reports whether the AMX products take a matrix with cols columns: cols a positive
// multiple of 32 (one tile row), and Available.
func Supported(cols int) bool { return cols > 0 && cols%32 == 0 && Available() }

// Pack fills p with x (n, cols) row-major, reusing its buffer. cols must be a multiple of 32.
func (p *Panel) Pack(x []float32, n, cols int) { p.PackParts(x, n, cols, Parts) }

// PackParts is Pack for products that use only the first parts pieces: 1 when every activation is
// exact in bfloat16 (e4m3 values), so the products skip the zero pieces.
func (p *Panel) PackParts(x []float32, n, cols, parts int) {
	if parts < 1 || parts > Parts {
		panic(fmt.Sprintf("amx: PackParts: %d parts", parts))
	}
	p.parts = parts
	if cols%32 != 0 || cols <= 0 {
		panic(fmt.Sprintf("amx: Pack: cols %d is not a positive multiple of 32", cols))
	}
	if len(x) < n*cols {
		panic("amx: Pack: len(x) < n·cols")
	}
	p.Cols = cols
	p.setTokens(n)
	size := Parts * p.ntb * cols * 16
	if cap(p.buf) < size {
		p.buf = make([]uint16, size)
	}
	p.buf = p.buf[:size]
	kpairs := cols / 2
	ps := p.ntb * kpairs * 64 // bytes between parts
	full := n / 16
	// Whole tiles are overwritten; the partial tile and the padding tile must read as zero tokens.
	if tile := kpairs * 32; full < p.ntb {
		for part := range Parts {
			clear(p.buf[(part*p.ntb+full)*tile : (part+1)*p.ntb*tile])
		}
	}
	p.packFull(cols, 1<<18, func(tb int) {
		packTile16(&p.buf[tb*kpairs*32], &x[tb*16*cols], cols, kpairs, ps)
	})
	if n > full*16 {
		packTile(&p.buf[full*kpairs*32], &x[full*16*cols], cols, n-full*16, kpairs, Parts, ps)
	}
}

// Parallel, when set, runs fn over disjoint ranges covering [0, n) on several cores (the engine
// sets it to its worker pool); nil runs everything on the calling goroutine.
var Parallel func(n int, fn func(lo, hi int))

// PackRef is Pack in plain Go: the definition of the layout and of the split.
func (p *Panel) PackRef(x []float32, n, cols int) {
	p.Cols, p.parts = cols, Parts
	p.setTokens(n)
	kpairs := cols / 2
	p.buf = make([]uint16, Parts*p.ntb*cols*16)
	for t := range n {
		tb, ti := t/16, t%16
		for k := range cols {
			v := x[t*cols+k]
			for part := range Parts {
				h := BF16(v)
				p.buf[(((part*p.ntb+tb)*kpairs+k/2)*16+ti)*2+k%2] = h
				v -= F32(h)
			}
		}
	}
}

// BF16 rounds f to bfloat16, nearest even (the packer's rounding: NaN payloads are not preserved).
func BF16(f float32) uint16 {
	b := *(*uint32)(unsafe.Pointer(&f))
	b += 0x7fff + (b>>16)&1
	return uint16(b >> 16)
}

// F32 widens a bfloat16 to float32 (exact).
func F32(h uint16) float32 {
	b := uint32(h) << 16
	return *(*float32)(unsafe.Pointer(&b))
}

// Acc is the scratch of float32 accumulator tiles for 32 weight rows × all tokens of a Panel.
type Acc []float32

// NewAcc returns accumulators for 32 rows of p.
func (p *Panel) NewAcc() Acc { return make(Acc, p.accLen()) }

// Dot accumulates the 32 rows of A (bf16, row r at a[r·lda:], columns k0..k0+kl of the panel,
// kl a multiple of 32) times every token of p into acc: acc = A·Xᵀ (load false) or acc += A·Xᵀ.
func (p *Panel) Dot(acc Acc, a []uint16, lda, k0, kl int, load bool) {
	if k0%32 != 0 || kl%32 != 0 || k0+kl > p.Cols || kl <= 0 {
		panic(fmt.Sprintf("amx: Dot: columns [%d, %d) not a tile range of %d", k0, k0+kl, p.Cols))
	}
	if len(a) < 31*lda+kl || len(acc) < p.accLen() {
		panic("amx: Dot: a or acc too short")
	}
	kpairs := p.Cols / 2
	bts := kpairs * 64
	ps := p.ntb * bts
	for tp := 0; tp < p.ntb/2; tp++ {
		b := &p.buf[(2*tp*kpairs+k0/2)*32]
		dotTiles(cfg, &a[0], lda*2, b, bts, ps, p.parts, kl/32, &acc[tp*1024], load)
	}
}

// Store writes the finished acc of the 32 rows starting at row r0 of an output with ld floats per
// token: dst[t·ld + r0 + r] = acc(r, t)·scale[r] (scale nil: 1), plus dst's value if accumulate.
func (p *Panel) Store(dst []float32, ld, r0 int, acc Acc, scale []float32, accumulate bool) {
	if p.N > 0 && len(dst) < (p.N-1)*ld+r0+32 || scale != nil && len(scale) < 32 {
		panic("amx: Store: dst or scale too short")
	}
	var sp [2]*float32
	if scale != nil {
		sp = [2]*float32{&scale[0], &scale[16]}
	}
	p.eachTile(func(tp, j, t0, ntok int) {
		for i := range 2 {
			storeTile(&acc[tp*1024+(2*i+j)*256], &dst[t0*ld+r0+16*i], ld, ntok, sp[i], accumulate)
		}
	})
}

var (
	accPool    = sync.Pool{New: func() any { return new([]float32) }}
	accPoolI32 = sync.Pool{New: func() any { return new([]int32) }}
)

// getScratch returns a pooled scratch of at least n elements (contents undefined) and its pool.
func getScratch[E float32 | int32](n int) (*[]E, *sync.Pool) {
	pool := &accPool
	var z E
	if _, ok := any(z).(int32); ok {
		pool = &accPoolI32
	}
	b := pool.Get().(*[]E)
	if cap(*b) < n {
		*b = make([]E, n)
	}
	*b = (*b)[:n]
	return b, pool
}

// Sweep is the column-blocked loop every AMX driver runs over its 32-row blocks lo, lo+32, … < hi:
// for each column block [kb, kb+kl) of width kc (the last may be narrower), dot(acc, r, kb, kl,
// load) accumulates row block r's sums (load false on the first column block: start from zero),
// and store(acc, r) writes a block once it has seen every column. With one column block a single
// accumulator of per elements serves the row blocks in turn; otherwise each keeps its own.
func Sweep[E float32 | int32](lo, hi, cols, kc, per int, dot func(acc []E, r, kb, kl int, load bool), store func(acc []E, r int)) {
	if kc >= cols {
		b, pool := getScratch[E](per)
		for r := lo; r < hi; r += 32 {
			dot(*b, r, 0, cols, false)
			store(*b, r)
		}
		pool.Put(b)
		return
	}
	b, pool := getScratch[E]((hi - lo) / 32 * per)
	defer pool.Put(b)
	accs := *b
	for kb := 0; kb < cols; kb += kc {
		kl := min(kc, cols-kb)
		for r := lo; r < hi; r += 32 {
			i := (r - lo) / 32
			dot(accs[i*per:(i+1)*per], r, kb, kl, kb > 0)
		}
	}
	for r := lo; r < hi; r += 32 {
		i := (r - lo) / 32
		store(accs[i*per:(i+1)*per], r)
	}
}

// MulBF16 computes dst[t·rows + r] = Σ_k w[r·cols+k]·x[t·cols+k] for rows r in [lo, hi) and all
// tokens of p, where w holds (rows, cols) bfloat16 row-major; hi−lo must be a multiple of 32.
func (p *Panel) MulBF16(dst []float32, w []uint16, rows, lo, hi int) {
	cols := p.Cols
	if (hi-lo)%32 != 0 || len(w) < rows*cols {
		panic("amx: MulBF16: row range not a multiple of 32, or w too short")
	}
	Sweep(lo, hi, cols, p.KBlock(), p.accLen(),
		func(acc []float32, r, kb, kl int, load bool) { p.Dot(acc, w[r*cols+kb:], cols, kb, kl, load) },
		func(acc []float32, r int) { p.Store(dst, rows, r, acc, nil, false) })
}

// KBlock is the column block the drivers sweep at once: the panel's slice of it (all tokens, all
// parts) stays within ~1 MiB of L2 while the weight rows stream over it. A multiple of 32.
func (p *Panel) KBlock() int { return kBlock(p.Cols, p.ntb*16*Parts*2, 32, 128) }

// DotGrouped is Dot for weights quantized in groups of group columns (a multiple of 32) with a
// float32 scale per row and group: acc (+)= Σ_g s_g ⊙ (A_g · X_gᵀ), where A holds the groups'
// integer codes as bf16 and s[g·32 + r] is the scale of row r in the block's g-th group (columns
// k0 + g·group ...). kl must be a multiple of group.
func (p *Panel) DotGrouped(acc Acc, a []uint16, lda, k0, kl, group int, s []float32, load bool) {
	if group%32 != 0 || group <= 0 || kl%group != 0 {
		panic(fmt.Sprintf("amx: DotGrouped: group %d does not tile columns [%d, %d)", group, k0, k0+kl))
	}
	if k0%32 != 0 || k0+kl > p.Cols || kl <= 0 {
		panic(fmt.Sprintf("amx: DotGrouped: columns [%d, %d) not a tile range of %d", k0, k0+kl, p.Cols))
	}
	ng := kl / group
	if len(a) < 31*lda+kl || len(acc) < p.accLen() || len(s) < ng*32 {
		panic("amx: DotGrouped: a, acc or s too short")
	}
	if !load {
		clear(acc[:p.accLen()])
	}
	cb, pool := getScratch[float32](1024)
	kpairs := p.Cols / 2
	bts := kpairs * 64
	ps := p.ntb * bts
	for tp := 0; tp < p.ntb/2; tp++ {
		b := &p.buf[(2*tp*kpairs+k0/2)*32]
		dotTilesG(cfg, &a[0], lda*2, b, bts, ps, p.parts, ng, group/32, &acc[tp*1024], &(*cb)[0], &s[0])
	}
	pool.Put(cb)
}
