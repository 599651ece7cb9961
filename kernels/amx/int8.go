package amx

import "fmt"

// PanelI8 holds int8 activations (n, cols), quantized per token, in the B-tile layout of
// TDPBSSD: token tile tb, column quad kq, token t at dword (tb·kquads + kq)·16 + t holding
// x[t, 4kq : 4kq+4]. Token tiles are padded to an even count with zero tokens. Products on it
// are exact int32 sums, so they equal the plain integer loops bit for bit.
type PanelI8 struct {
	tokenTiles
	Cols int
	buf  []int8
}

// SupportedI8 reports whether the int8 products take cols columns: a positive multiple of 64
// (one tile row of bytes), and Available.
func SupportedI8(cols int) bool { return cols > 0 && cols%64 == 0 && Available() }

// Pack fills p with xq (n, cols) row-major, reusing its buffer; cols must be a multiple of 64.
func (p *PanelI8) Pack(xq []int8, n, cols int) {
	if cols%64 != 0 || cols <= 0 {
		panic(fmt.Sprintf("amx: PanelI8.Pack: cols %d is not a positive multiple of 64", cols))
	}
	if len(xq) < n*cols {
		panic("amx: PanelI8.Pack: len(xq) < n·cols")
	}
	p.Cols = cols
	p.setTokens(n)
	tile := cols * 16 // bytes per token tile
	size := p.ntb * tile
	if cap(p.buf) < size {
		p.buf = make([]int8, size)
	}
	p.buf = p.buf[:size]
	full := n / 16
	p.packFull(cols, 1<<19, func(tb int) {
		packI8Tile16(&p.buf[tb*tile], &xq[tb*16*cols], cols, cols/4)
	})
	if full < p.ntb {
		clear(p.buf[full*tile:])
		for t := full * 16; t < n; t++ { // the partial tile, in Go
			b := p.buf[full*tile:]
			for kq := range cols / 4 {
				copy(b[(kq*16+t%16)*4:(kq*16+t%16)*4+4], xq[t*cols+4*kq:t*cols+4*kq+4])
			}
		}
	}
}

// AccI32 is the scratch of int32 accumulator tiles for 32 weight rows × all tokens of a PanelI8.
type AccI32 []int32

// NewAcc returns accumulators for 32 rows of p.
func (p *PanelI8) NewAcc() AccI32 { return make(AccI32, p.accLen()) }

// Dot accumulates the 32 int8 rows of A (row r at a[r·lda:], columns k0..k0+kl of the panel, kl
// a multiple of 64) times every token into acc: acc = A·Xᵀ (load false) or acc += A·Xᵀ.
func (p *PanelI8) Dot(acc AccI32, a []int8, lda, k0, kl int, load bool) {
	if k0%64 != 0 || kl%64 != 0 || k0+kl > p.Cols || kl <= 0 {
		panic(fmt.Sprintf("amx: PanelI8.Dot: columns [%d, %d) not a tile range of %d", k0, k0+kl, p.Cols))
	}
	if len(a) < 31*lda+kl || len(acc) < p.accLen() {
		panic("amx: PanelI8.Dot: a or acc too short")
	}
	bts := p.Cols * 16
	for tp := 0; tp < p.ntb/2; tp++ {
		dotTilesI8(cfg, &a[0], lda, &p.buf[2*tp*bts+k0*16], bts, kl/64, &acc[tp*1024], load)
	}
}

// Store writes the finished acc of the 32 rows starting at row r0 of an output with ld floats per
// token: dst[t·ld + r0 + r] = (float32(acc(r, t))·scale[r])·sx[t].
func (p *PanelI8) Store(dst []float32, ld, r0 int, acc AccI32, scale, sx []float32) {
	if p.N > 0 && len(dst) < (p.N-1)*ld+r0+32 || len(scale) < 32 || len(sx) < p.N {
		panic("amx: PanelI8.Store: dst, scale or sx too short")
	}
	p.eachTile(func(tp, j, t0, ntok int) {
		for i := range 2 {
			storeTileI32(&acc[tp*1024+(2*i+j)*256], &dst[t0*ld+r0+16*i], ld, ntok, &scale[16*i], &sx[t0])
		}
	})
}

// KBlock is the column block (a multiple of 64) whose panel slice stays within ~1 MiB of L2.
func (p *PanelI8) KBlock() int { return kBlock(p.Cols, p.ntb*16, 64, 256) }
