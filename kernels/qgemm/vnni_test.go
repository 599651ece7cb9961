package qgemm

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
)

// TestSplitTiles: the token tiles cover [0, n) in order, each 1…vnniMaxT tokens, sizes
// differing by at most one (n = 128 → 10 tiles of 12–13, not 9 of 14 and a ragged 2).
func TestSplitTiles(t *testing.T) {
	for n := 1; n <= 300; n++ {
		tiles := splitTiles(nil, n)
		if want := (n + vnniMaxT - 1) / vnniMaxT; len(tiles) != want {
			t.Fatalf("n=%d: %d tiles, want %d", n, len(tiles), want)
		}
		t0, lo, hi := 0, vnniMaxT, 0
		for _, tl := range tiles {
			if tl.t0 != t0 || tl.T < 1 || tl.T > vnniMaxT {
				t.Fatalf("n=%d: tiles %v", n, tiles)
			}
			t0 += tl.T
			lo, hi = min(lo, tl.T), max(hi, tl.T)
		}
		if t0 != n || hi-lo > 1 {
			t.Fatalf("n=%d: tiles %v", n, tiles)
		}
	}
}

// TestVNNIPanelLayout checks the documented panel bytes (vnniPanels) on a 40×10 matrix: int8
// w[b,j,h,i,c] = Q[32b+16h+i, 4j+c] + 128, int4 low/high nibbles = rows 32b+i / 32b+16+i,
// padding (rows ≥ 40, columns ≥ 10) neutral.
func TestVNNIPanelLayout(t *testing.T) {
	const rows, cols = 40, 10
	rng := rand.New(rand.NewPCG(13, 14))
	m8 := QuantizeInt8(randSlice(rng, rows*cols, 1), rows, cols)
	m4 := QuantizeInt4QQQ(randSlice(rng, rows*cols, 1), rows, cols, cols)
	p8, p4 := newInt8Panels(m8), newInt4Panels(m4)
	if p8.nb != 2 || p8.k4 != 3 || len(p8.w) != 2*3*128 || len(p4.w) != 2*3*64 {
		t.Fatalf("sizes: nb %d k4 %d, %d and %d bytes", p8.nb, p8.k4, len(p8.w), len(p4.w))
	}
	for b := range 2 {
		for j := range 3 {
			for h := range 2 {
				for i := range 16 {
					for c := range 4 {
						r, k := 32*b+16*h+i, 4*j+c
						want8, want4 := uint8(128), uint8(0)
						if r < rows && k < cols {
							want8, want4 = uint8(int(m8.Q[r*cols+k])+128), m4.Code(r, k)
						}
						if got := p8.w[((b*3+j)*2+h)*64+i*4+c]; got != want8 {
							t.Fatalf("int8 panel (%d,%d): %d, want %d", r, k, got, want8)
						}
						if got := p4.w[(b*3+j)*64+i*4+c] >> (4 * h) & 0xF; got != want4 {
							t.Fatalf("int4 panel (%d,%d): %d, want %d", r, k, got, want4)
						}
					}
				}
			}
		}
	}
}

// TestA8NonFinite: tokens holding NaN or ±Inf take the scalar quantizer inside the VNNI path
// and give exactly the reference's values (NaN where the reference has NaN); all-zero tokens
// give zeros.
func TestA8NonFinite(t *testing.T) {
	const rows, cols, n = 35, 130, 16
	rng := rand.New(rand.NewPCG(15, 16))
	w := randSlice(rng, rows*cols, 0.05)
	x := randSlice(rng, n*cols, 1)
	x[1*cols+7] = float32(math.NaN())
	x[2*cols+100] = float32(math.Inf(1))
	x[3*cols] = float32(math.Inf(-1))
	clear(x[4*cols : 5*cols])
	m8 := QuantizeInt8(w, rows, cols)
	m4 := QuantizeInt4QQQ(w, rows, cols, 64)
	for _, tc := range []struct {
		name      string
		fast, ref func(dst, x []float32, n int)
	}{{"W8A8", m8.MatMulT, m8.MatMulTRef}, {"W4A8-g64", m4.MatMulTA8, m4.MatMulTA8Ref}} {
		t.Run(tc.name, func(t *testing.T) {
			want, got := make([]float32, n*rows), make([]float32, n*rows)
			tc.ref(want, x, n)
			tc.fast(got, x, n)
			for i := range want {
				if math.IsNaN(float64(want[i])) != math.IsNaN(float64(got[i])) ||
					!math.IsNaN(float64(want[i])) && math.Float32bits(want[i]) != math.Float32bits(got[i]) {
					t.Fatalf("[%d,%d]: (-want +got) -%v +%v", i/rows, i%rows, want[i], got[i])
				}
			}
			for r := range rows {
				if got[4*rows+r] != 0 {
					t.Fatalf("zero token, row %d: %v", r, got[4*rows+r])
				}
			}
		})
	}
}

// BenchmarkQuantizeAct: per-token int8 activation quantization into the VNNI tile layout
// (both cores) against the scalar reference loop, n = 128 tokens and n = 1 (decode, where the
// fixed cost per product counts).
func BenchmarkQuantizeAct(b *testing.B) {
	for _, tc := range [][2]int{{576, 128}, {2048, 128}, {576, 1}} {
		cols, n := tc[0], tc[1]
		rng := rand.New(rand.NewPCG(1, 2))
		x := randSlice(rng, n*cols, 1)
		b.Run(fmt.Sprintf("cols%d/n=%d/vnni-tiles", cols, n), func(b *testing.B) {
			for b.Loop() {
				actPool.Put(quantizeVNNI(x, n, cols, cols, 128))
			}
		})
		b.Run(fmt.Sprintf("cols%d/n=%d/scalar-ref", cols, n), func(b *testing.B) {
			q, s := make([]int8, n*cols), make([]float32, n)
			for b.Loop() {
				for i := range n {
					s[i] = quantRowInt8Ref(q[i*cols:(i+1)*cols], x[i*cols:(i+1)*cols])
				}
			}
		})
	}
}

// TestA8Int4WideExtremes runs W4A8 at the largest codes (u = 15) and activations (−128 and 127)
// on the widest matrix the VNNI kernels take (their whole-byte sums, 255·x per column, reach
// 2.14e9 of the int32 range) and on one wide enough to overflow them (70016 columns: the
// pure-Go path), both bit for bit the reference. 161 rows: blocks 0–3 take the four-block
// decode kernel, blocks 4 and 5 the one-block kernel.
func TestA8Int4WideExtremes(t *testing.T) {
	for _, cols := range []int{vnniI4MaxCols, 70016} {
		for _, xv := range []int8{-128, 127} {
			const rows = 161
			codes := make([]uint8, rows*cols)
			for i := range codes {
				codes[i] = 15
			}
			m := &Int4Matrix{Rows: rows, Cols: cols, Group: cols, Packed: PackInt4(codes, rows, cols), Scale: make([]float32, rows)}
			for r := range m.Scale {
				m.Scale[r] = 1 + float32(r)/64
			}
			m.Prepare()
			xq := make([]int8, cols)
			for i := range xq {
				xq[i] = xv
			}
			sx := []float32{0.01}
			want, got := make([]float32, rows), make([]float32, rows)
			m.MatMulTQRef(want, xq, sx, 1)
			m.MatMulTQ(got, xq, sx, 1)
			for r := range want {
				if math.Float32bits(want[r]) != math.Float32bits(got[r]) {
					t.Fatalf("cols %d, x %d, row %d: got %v, want %v", cols, xv, r, got[r], want[r])
				}
			}
		}
	}
}
