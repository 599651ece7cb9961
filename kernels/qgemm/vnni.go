package qgemm

import (
	"sync"
	"unsafe"
)

//go:generate go run vnni_gen.go

// vnniMaxT is the widest token tile of the VNNI micro-kernels: 2·14 accumulators + 2 weight
// vectors + 1 broadcast (+ the nibble mask for 4-bit) fill the 32 zmm registers.
const vnniMaxT = 14

// vnniPanels is a weight matrix repacked for the weight-stationary VNNI kernels
// (vnni_gen.go). Rows are cut into nb blocks of 32 (the last one padded), columns into k4
// steps of 4 (the last one padded; padded activations are 0 so padded weights never count).
//
//	int8:  w (nb, k4, 2, 16, 4) bytes: w[b,j,h,i,c] = Q[32b+16h+i, 4j+c] + 128 (unsigned)
//	int4:  w (nb, k4, 16, 4) bytes:    low nibble u[32b+i, 4j+c], high nibble u[32b+16+i, 4j+c]
//
// so one zmm (64 bytes) holds 16 rows × 4 consecutive k and VPDPBUSD against a broadcast
// dword of 4 activation bytes accumulates 16 rows of one token, with no lane reductions.
type vnniPanels struct {
	nb, k4 int
	w      []byte
	scale  []float32 // (nb·32) per-row scale, 0 past Rows
	gs     []int8    // (nb, ng, 32) integer group scales (grouped int4), 0 past Rows
	ng     int       // groups of the activation sums: 1, or ceil(Cols/Group) when grouped
	gk4    int       // k4 steps per group (grouped)
}

// rowMask has one bit per valid row of a 32-row block whose first row leaves `left` rows.
func rowMask(left int) int {
	if left >= 32 {
		return 1<<32 - 1
	}
	return 1<<left - 1
}

func newInt8Panels(m *Int8Matrix) *vnniPanels {
	rows, cols := m.Rows, m.Cols
	p := &vnniPanels{nb: (rows + 31) / 32, k4: (cols + 3) / 4, ng: 1}
	p.w = make([]byte, p.nb*p.k4*128)
	p.scale = make([]float32, p.nb*32)
	copy(p.scale, m.Scale)
	for i := range p.w {
		p.w[i] = 128
	}
	for r := range rows {
		b, h, i := r/32, (r%32)/16, r%16
		q := m.Q[r*cols : (r+1)*cols]
		for k, v := range q {
			p.w[((b*p.k4+k/4)*2+h)*64+i*4+k%4] = uint8(v) ^ 0x80
		}
	}
	return p
}

func newInt4Panels(m *Int4Matrix) *vnniPanels {
	rows, cols, rb := m.Rows, m.Cols, RowBytes(m.Cols)
	p := &vnniPanels{nb: (rows + 31) / 32, k4: (cols + 3) / 4, ng: 1}
	p.w = make([]byte, p.nb*p.k4*64)
	p.scale = make([]float32, p.nb*32)
	copy(p.scale, m.Scale)
	var u [64]uint8 // one 64-column block of codes
	for r := range rows {
		b, h, i := r/32, uint((r%32)/16)*4, r%16
		row := m.Packed[r*rb : (r+1)*rb]
		dst := p.w[b*p.k4*64+i*4:]
		for k0 := 0; k0 < cols; k0 += 64 {
			for j, v := range row[k0/2 : k0/2+32] {
				u[j], u[32+j] = v&0xF, v>>4
			}
			for k := k0; k < min(k0+64, cols); k++ {
				dst[(k/4)*64+k%4] |= u[k-k0] << h
			}
		}
	}
	if m.GroupScaleInt != nil {
		ng := m.groups()
		p.ng, p.gk4 = ng, m.Group/4
		// int8 as in m ([1, 16]), widened in the kernels' folds: a g128 product then reads 0.508
		// bytes per weight instead of 0.531 with int32. BenchmarkGEMVCold, three interleaved
		// pairs, ns: 576×576 7654-7969 → 7206-7468, 1536×576 17685-18974 → 15791-16613.
		p.gs = make([]int8, p.nb*ng*32)
		for r := range rows {
			for g := range ng {
				p.gs[((r/32)*ng+g)*32+r%32] = m.GroupScaleInt[r*ng+g]
			}
		}
	}
	return p
}

// vnniTile is a run of T ≤ vnniMaxT consecutive tokens starting at t0.
type vnniTile struct{ t0, T int }

// vnniAct holds activations quantized per token (QuantizeActInt8) in the kernels' layout.
type vnniAct struct {
	k4, ng int
	x      []int8    // tile (t0, T) at byte t0·k4·4: (k4, T) dwords of 4 signed codes
	corr   []int32   // tile (t0, T) at t0·ng: (ng, T) c·Σ_{k in group} xq[t, k]
	sx     []float32 // (n) token scales
	tiles  []vnniTile
	row    []int8  // (tiles, k4·4) scratch: one token's padded codes per tile
	sums   []int32 // (tiles, ng) scratch
}

// splitTiles cuts n tokens into ceil(n/vnniMaxT) tiles of near-equal size.
func splitTiles(tiles []vnniTile, n int) []vnniTile {
	nt := (n + vnniMaxT - 1) / vnniMaxT
	t0 := 0
	for j := range nt {
		T := n / nt
		if j < n%nt {
			T++
		}
		tiles = append(tiles, vnniTile{t0, T})
		t0 += T
	}
	return tiles
}

var tmpPool = sync.Pool{New: func() any { return new([vnniMaxT * 32]int32) }}

// actPool recycles vnniAct buffers between products (a decode step runs hundreds).
var actPool = sync.Pool{New: func() any { return new(vnniAct) }}

// grow returns s with length n, reusing its storage when large enough.
func grow[T any](s []T, n int) []T {
	if cap(s) < n {
		return make([]T, n)
	}
	return s[:n]
}

// getVNNIAct returns a pooled vnniAct sized for n tokens of cols columns with ng groups;
// give it back with actPool.Put.
func getVNNIAct(n, cols, ng int) *vnniAct {
	a := actPool.Get().(*vnniAct)
	a.k4, a.ng = (cols+3)/4, ng
	a.x = grow(a.x, n*a.k4*4)
	a.corr = grow(a.corr, n*ng)
	a.sx = grow(a.sx, n)
	a.tiles = splitTiles(a.tiles[:0], n)
	a.row = grow(a.row, len(a.tiles)*a.k4*4)
	a.sums = grow(a.sums, len(a.tiles)*ng)
	return a
}

// put stores token t's codes row (k4·4 bytes, zero-padded) and group sums into the tile
// layout; corr = c·sum.
func (a *vnniAct) put(tl vnniTile, t int, row []int8, sums []int32, c int32) {
	tt := t - tl.t0
	base := tl.t0 * a.k4 * 4
	if tl.T == 1 {
		copy(a.x[base:base+a.k4*4], row)
	} else {
		dst := a.x[base : base+a.k4*4*tl.T]
		for j := range a.k4 {
			*(*uint32)(unsafe.Pointer(&dst[(j*tl.T+tt)*4])) = *(*uint32)(unsafe.Pointer(&row[j*4]))
		}
	}
	for g, s := range sums {
		a.corr[tl.t0*a.ng+g*tl.T+tt] = c * s
	}
}

// quantRowGroups quantizes one token like quantRowInt8Ref into q (len ≥ len(x)) and returns the
// scale and, in sums (len ceil(len(x)/group), or 0 to skip them), Σ q over each group of
// `group` columns.
func quantRowGroups(q []int8, x []float32, group int, sums []int32) float32 {
	cols := len(x)
	if hasAVX512 && cols > 0 {
		amax, bad := vnniAmax(&x[0], cols)
		if bad == 0 { // no Inf or NaN: the fast path is bit-identical (see vnniQuant)
			if amax == 0 {
				clear(q[:cols])
				clear(sums)
				return 0
			}
			inv := 127 / amax
			if len(sums) == 0 {
				vnniQuant(&x[0], cols, inv, &q[0])
			}
			for g := range sums {
				k0, k1 := g*group, min((g+1)*group, cols)
				sums[g] = vnniQuant(&x[k0], k1-k0, inv, &q[k0])
			}
			return amax / 127
		}
	}
	s := quantRowInt8Ref(q[:cols], x)
	sumGroups(sums, q[:cols], group)
	return s
}

func sumGroups(sums []int32, q []int8, group int) {
	for g := range sums {
		var s int32
		for _, v := range q[g*group : min((g+1)*group, len(q))] {
			s += int32(v)
		}
		sums[g] = s
	}
}

// quantizeVNNI quantizes x (n, cols) per token into a; group: columns per activation sum;
// c: the weight offset (128 for int8 q+128, 8 for 4-bit codes u = q+8).
func quantizeVNNI(x []float32, n, cols, group int, c int32) *vnniAct {
	ng := (cols + group - 1) / group
	a := getVNNIAct(n, cols, ng)
	if n*cols < 1<<16 { // small (decode): on this core, with no closure to allocate
		a.quantTiles(x, cols, group, c, 0, len(a.tiles))
		return a
	}
	parallel(len(a.tiles), 1, func(j0, j1 int) { a.quantTiles(x, cols, group, c, j0, j1) })
	return a
}

// quantTiles quantizes the tokens of tiles j0..j1-1 of x (n, cols) into a.
func (a *vnniAct) quantTiles(x []float32, cols, group int, c int32, j0, j1 int) {
	for j := j0; j < j1; j++ {
		tl := a.tiles[j]
		row, sums := a.row[j*a.k4*4:(j+1)*a.k4*4], a.sums[j*a.ng:(j+1)*a.ng]
		clear(row[cols:])
		for t := tl.t0; t < tl.t0+tl.T; t++ {
			if a.quantDirect(tl, t, x[t*cols:(t+1)*cols], group, c) {
				continue
			}
			a.sx[t] = quantRowGroups(row, x[t*cols:(t+1)*cols], group, sums)
			a.put(tl, t, row, sums, c)
		}
	}
}

// quantDirect quantizes token t (x, cols > 0) straight into its tile with AVX-512 (codes
// written a dword at a time with the tile's stride), bit-identical to quantRowInt8Ref; it
// returns false, writing nothing, for rows the fast path does not take (NaN or ±Inf, no
// AVX-512).
func (a *vnniAct) quantDirect(tl vnniTile, t int, x []float32, group int, c int32) bool {
	if !hasAVX512 {
		return false
	}
	cols := len(x)
	amax, bad := vnniAmax(&x[0], cols)
	if bad != 0 {
		return false
	}
	tt := t - tl.t0
	dst := a.x[tl.t0*a.k4*4+tt*4:]
	corr := a.corr[tl.t0*a.ng+tt:]
	if amax == 0 {
		for j := range a.k4 {
			*(*uint32)(unsafe.Pointer(&dst[j*tl.T*4])) = 0
		}
		for g := range a.ng {
			corr[g*tl.T] = 0
		}
		a.sx[t] = 0
		return true
	}
	inv := 127 / amax
	for g := range a.ng {
		k0, k1 := g*group, min((g+1)*group, cols)
		corr[g*tl.T] = c * vnniQuantS(&x[k0], k1-k0, inv, &dst[k0/4*tl.T*4], tl.T*4)
	}
	a.sx[t] = amax / 127
	return true
}

// vnniActQ is quantizeVNNI for codes already quantized: xq (n, cols), sx (n).
func vnniActQ(xq []int8, sx []float32, n, cols, group int, c int32) *vnniAct {
	ng := (cols + group - 1) / group
	a := getVNNIAct(n, cols, ng)
	copy(a.sx, sx[:n])
	row, sums := a.row[:a.k4*4], a.sums[:ng]
	clear(row[cols:])
	for _, tl := range a.tiles {
		for t := tl.t0; t < tl.t0+tl.T; t++ {
			copy(row, xq[t*cols:(t+1)*cols])
			sumGroups(sums, row[:cols], group)
			a.put(tl, t, row, sums, c)
		}
	}
	return a
}

// panels returns the VNNI repacking of m, built on first use.
func (m *Int8Matrix) panels() *vnniPanels {
	if p := m.vnni.Load(); p != nil {
		return p
	}
	m.vnni.CompareAndSwap(nil, newInt8Panels(m))
	return m.vnni.Load()
}

func (m *Int4Matrix) panels() *vnniPanels {
	if p := m.vnni.Load(); p != nil {
		return p
	}
	m.vnni.CompareAndSwap(nil, newInt4Panels(m))
	return m.vnni.Load()
}

// vnniSerialMACs: products with fewer multiply-adds run on one core. With the weights in cache
// one core wins at 576×576 (331K): on the 2-core Zen 5 (GEMV, best of 3) 416 GOP/s on one core
// vs 262 on two, on the 2-core Xeon (W4A8, BenchmarkGEMV) 282-285 vs 226-230. But a decode step
// reads every matrix from beyond L2, and there two cores win: SmolLM2-shape decode (qbench bench
// --schemes w8a8-int8,w4a8 --prompt 16 --decode 64, interleaved) at 2^19 (576×576 on one core)
// 161-177 / 346-372 tok/s, at 2^17 180-206 / 397-426, at 0 203-217 / 396-407. 576×192 (110K)
// stays on one core.
const vnniSerialMACs = 1 << 17

// mulVNNI runs the kernels of p over all row blocks and token tiles: dst (n, rows).
func mulVNNI(p *vnniPanels, int4 bool, rows int, dst []float32, a *vnniAct) {
	if n := len(a.sx); p.nb*32*p.k4*4*n < vnniSerialMACs { // one worker, no closure to allocate
		mulVNNIBlocks(p, int4, rows, dst, a, 0, p.nb)
		return
	}
	parallel(p.nb, 1, func(b0, b1 int) { mulVNNIBlocks(p, int4, rows, dst, a, b0, b1) })
}

// vnniProduct is one matrix of quantMulVNNI: its VNNI panels, rows and output (n, rows).
type vnniProduct struct {
	p    *vnniPanels
	rows int
	dst  []float32
}

// quantMulVNNI quantizes x (n, cols) with activation group `group` and correction factor c
// (quantizeVNNI) and runs every product on it; the products share int4 (W4A8 or W8A8) and
// group. Results equal one quantizeVNNI and mulVNNI per product bit for bit.
//
// One token on several workers (decode): one parallel region covers the 32-row blocks of all
// the products, and each worker quantizes x into its own buffer first. Codes that one core
// has just written and both cores then read over and over slow both: with x quantized once on
// the calling core, each 9-block half of a 576×576 W4A8 GEMV (weights in cache) took 1.1 µs,
// against 0.72 µs alone or with the codes unchanged since the call before; quantizing on each
// worker, 0.81-0.90 µs with the quantization. BenchmarkGEMV, interleaved, ns: 576×576 W4A8
// 2249-2396 → 2104-2271, 1536×576 3379-3551 → 3052-3106 (g128 3658-4135 → 3406-3475).
func quantMulVNNI(ps []vnniProduct, int4 bool, x []float32, n, cols, group int, c int32) {
	macs := 0
	for _, pr := range ps {
		macs += pr.p.nb * 32 * pr.p.k4 * 4 * n
	}
	if n > 1 || macs < vnniSerialMACs {
		a := quantizeVNNI(x, n, cols, group, c)
		for _, pr := range ps {
			mulVNNI(pr.p, int4, pr.rows, pr.dst, a)
		}
		actPool.Put(a)
		return
	}
	first := make([]int, len(ps)+1) // the products' first blocks in the concatenation
	for i, pr := range ps {
		first[i+1] = first[i] + pr.p.nb
	}
	parallel(first[len(ps)], 1, func(lo, hi int) { // blocks [lo, hi) of the concatenation
		a := quantizeVNNI(x, 1, cols, group, c)
		forSpans(first, lo, hi, func(i, b0, b1 int) {
			mulVNNIBlocks(ps[i].p, int4, ps[i].rows, ps[i].dst, a, b0, b1)
		})
		actPool.Put(a)
	})
}

// forSpans calls fn(i, b0, b1) for every matrix i whose row blocks, laid end to end after those
// of the matrices before it (first[i] its first, first[len(first)-1] the total), meet blocks
// [lo, hi) of the concatenation; b0 and b1 count in matrix i's own blocks. The one-token
// products of several matrices (quantMulVNNI, gemvVNNIMany) split the concatenation between
// the workers, so that they fork and join once.
func forSpans(first []int, lo, hi int, fn func(i, b0, b1 int)) {
	for i := range len(first) - 1 {
		if b0, b1 := max(lo, first[i]), min(hi, first[i+1]); b0 < b1 {
			fn(i, b0-first[i], b1-first[i])
		}
	}
}

// mulVNNIBlocks is mulVNNI over row blocks b0..b1-1.
func mulVNNIBlocks(p *vnniPanels, int4 bool, rows int, dst []float32, a *vnniAct, b0, b1 int) {
	stepBytes := 128
	if int4 {
		stepBytes = 64
	}
	var tmp *[vnniMaxT * 32]int32 // (T, 32) running group totals of the grouped kernels
	if p.gs != nil {
		tmp = tmpPool.Get().(*[vnniMaxT * 32]int32)
		defer tmpPool.Put(tmp)
	}
	// One token (decode): full blocks side by side, four (int4) or two (int8) sequential
	// streams per core instead of one. BenchmarkGEMVCold1B, 1 GiB of Llama-1B
	// matrices on 2 cores: W4A8 15-16 GB/s one block at a time, 19-22 two, 23-25 four;
	// W8A8 13.5-23.5 one, 23.5-28 two.
	// Grouped W4A8 (vnniI4GT1x4, group totals in registers) is 3-18% faster than one block at
	// a time there, and within noise of per-channel.
	side := len(a.tiles) == 1 && a.tiles[0].T == 1
	for b := b0; b < b1; b++ {
		mask := rowMask(rows - 32*b)
		w := &p.w[b*p.k4*stepBytes]
		if side && int4 && b+3 < b1 && rows-32*b >= 128 {
			if p.gs == nil {
				vnniI4T1x4(w, p.k4, &a.x[0], &a.corr[0], &p.scale[32*b], &a.sx[0], &dst[32*b])
			} else {
				vnniI4GT1x4(w, p.k4, p.gk4, &a.x[0], &a.corr[0], &p.gs[b*p.ng*32], p.ng, &p.scale[32*b], &a.sx[0], &dst[32*b])
			}
			b += 3
			continue
		}
		if side && !int4 && b+1 < b1 && rows-32*b >= 64 {
			vnniI8T1x2(w, p.k4, &a.x[0], &a.corr[0], &p.scale[32*b], &a.sx[0], &dst[32*b])
			b++
			continue
		}
		for _, tl := range a.tiles {
			x, corr := &a.x[tl.t0*a.k4*4], &a.corr[tl.t0*a.ng]
			sc, sx, d := &p.scale[32*b], &a.sx[tl.t0], &dst[tl.t0*rows+32*b]
			switch {
			case !int4:
				vnniI8TKernels[tl.T](w, p.k4, x, corr, sc, sx, d, rows*4, mask)
			case p.gs == nil:
				vnniI4TKernels[tl.T](w, p.k4, x, corr, sc, sx, d, rows*4, mask)
			default:
				vnniI4GTKernels[tl.T](w, p.k4, p.gk4, x, corr, &p.gs[b*p.ng*32], sc, sx, d, rows*4, mask, &tmp[0])
			}
		}
	}
}

// vnniI4MaxCols bounds the columns of a 4-bit matrix on the VNNI kernels: they accumulate, in
// int32, rows 0–15 of each block as Σ (u_lo + 16·u_hi)·x (whole bytes) and rows 16–31 as
// 16·Σ u_hi·x (high nibbles unshifted), at most 255·128·cols in magnitude, which fits below
// 2³¹ up to 65536 columns (wider matrices take the pure-Go path).
const vnniI4MaxCols = 1 << 16

// useVNNI reports whether the VNNI kernels take a product of this size.
func useVNNI(rows, cols, n int) bool { return hasVNNI && rows > 0 && cols > 0 && n > 0 }

// actGroup is the number of columns per activation sum of m's W4A8 product.
func (m *Int4Matrix) actGroup() int {
	if m.GroupScaleInt != nil {
		return m.Group
	}
	return max(m.Cols, 1)
}
