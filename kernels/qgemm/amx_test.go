package qgemm

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/qbench/qbench/kernels/amx"
)

func needAMX(t *testing.T) {
	t.Helper()
	if !hasAVX512 || !amx.Available() {
		t.Skipf("no AMX here: %s", amx.Reason())
	}
}

// TestAMXDeqExhaustive: every int8 and e4m3 code dequantizes to its exact value in bf16 (NaN codes
// to a NaN), and every int4 code minus every zero point likewise.
func TestAMXDeqExhaustive(t *testing.T) {
	needAMX(t)
	q8 := make([]int8, 256)
	u8 := make([]uint8, 256)
	for i := range 256 {
		q8[i], u8[i] = int8(i), uint8(i)
	}
	d := make([]uint16, 256)
	amxDeqI8(&d[0], &q8[0], 256)
	for i, v := range q8 {
		if got := amx.F32(d[i]); got != float32(v) {
			t.Fatalf("int8 %d: bf16 %v", v, got)
		}
	}
	amxDeqFP8(&d[0], &u8[0], 256)
	for i, c := range u8 {
		want, got := DecodeE4M3(c), amx.F32(d[i])
		if c&0x7f == 0x7f {
			if !math.IsNaN(float64(got)) {
				t.Fatalf("e4m3 NaN code %#x: %v", c, got)
			}
			continue
		}
		if got != want || math.Signbit(float64(got)) != math.Signbit(float64(want)) {
			t.Fatalf("e4m3 %#x: bf16 %v, want %v", c, got, want)
		}
	}
	codes := make([]uint8, 64)
	for i := range codes {
		codes[i] = uint8(i % 16)
	}
	p := PackInt4(codes, 1, 64)
	for z1 := range int16(16) {
		for z2 := range int16(16) {
			zh := []int16{z1, z2}
			out := make([]uint16, 64)
			amxDeqI4(&out[0], &p[0], 1, &zh[0])
			for k, u := range codes {
				if got, want := amx.F32(out[k]), float32(int16(u)-zh[k/32]); got != want {
					t.Fatalf("int4 code %d zero %d: %v, want %v", u, zh[k/32], got, want)
				}
			}
		}
	}
}

// TestAMXDeqI4I8: the int8 weights of W4A8 and the digit path, (u − 8)·gs per block, from both
// converters (amxDeqI4I8U: every scale 1) against the codes PackInt4 packed, for 0-5 blocks (the
// two-block steps and the odd last block), with nothing written past the last block.
func TestAMXDeqI4I8(t *testing.T) {
	needAMX(t)
	rng := rand.New(rand.NewPCG(3, 9))
	for nb := range 6 {
		codes := make([]uint8, 64*nb)
		for i := range codes {
			codes[i] = uint8(rng.IntN(16))
		}
		p := PackInt4(codes, 1, len(codes))
		p = append(p, 0) // PackInt4 of no codes is empty; the pointer needs a byte
		gs := make([]int16, nb+1)
		for b := range gs {
			gs[b] = int16(1 + rng.IntN(16))
		}
		for _, unit := range []bool{true, false} {
			out := make([]int8, 64*nb+64)
			for i := range out {
				out[i] = 99
			}
			if unit {
				amxDeqI4I8U(&out[0], &p[0], nb)
			} else {
				amxDeqI4I8(&out[0], &p[0], nb, &gs[0])
			}
			for k, u := range codes {
				s := int(gs[k/64])
				if unit {
					s = 1
				}
				if want := int8((int(u) - 8) * s); out[k] != want {
					t.Fatalf("%d blocks, unit %v: weight %d (code %d, scale %d) = %d, want %d", nb, unit, k, u, s, out[k], want)
				}
			}
			for k := 64 * nb; k < len(out); k++ {
				if out[k] != 99 {
					t.Fatalf("%d blocks, unit %v: wrote byte %d past the blocks", nb, unit, k)
				}
			}
		}
	}
}

// TestAMXFP8NaN: a NaN weight code makes its row's outputs NaN on the AMX path too.
func TestAMXFP8NaN(t *testing.T) {
	needAMX(t)
	const rows, cols, n = 64, 192, 40
	rng := rand.New(rand.NewPCG(8, 8))
	w := make([]float32, rows*cols)
	for i := range w {
		w[i] = float32(rng.NormFloat64())
	}
	x := make([]float32, n*cols)
	for i := range x {
		x[i] = float32(rng.NormFloat64())
	}
	for _, nanRow := range []int{2, 40} {
		t.Run(fmt.Sprint(nanRow), func(t *testing.T) {
			m := QuantizeFP8(w, rows, cols)
			m.Q[nanRow*cols+70] = 0xFF
			dst := make([]float32, n*rows)
			m.MatMulT(dst, x, n)
			for i := range n {
				for r := range rows {
					if got := dst[i*rows+r]; math.IsNaN(float64(got)) != (r == nanRow) {
						t.Fatalf("dst[%d,%d] = %v (NaN code in row %d)", i, r, got, nanRow)
					}
				}
			}
		})
	}
}

// TestAMXChunks: more tokens than one packed chunk (amxChunk) on every AMX format, against the
// plain loops (A8 bit for bit, A16 within TestA16FastVsRef's bound).
func TestAMXChunks(t *testing.T) {
	needAMX(t)
	const rows, cols, n = 40, 128, 2*amxChunk + 77
	rng := rand.New(rand.NewPCG(3, 9))
	w := randSlice(rng, rows*cols, 0.05)
	x := randSlice(rng, n*cols, 1)
	m8 := QuantizeInt8(w, rows, cols)
	m4 := QuantizeInt4(w, rows, cols, 64, true)
	q4 := QuantizeInt4QQQ(w, rows, cols, 64)
	fp := QuantizeFP8(w, rows, cols)
	for _, c := range []struct {
		name      string
		fast, ref func(dst, x []float32, n int)
		exact     bool
		bound     func(r, k int) float64
		act       func(x []float32, n, cols int) []float32
	}{
		{"W8A8", m8.MatMulT, m8.MatMulTRef, true, nil, nil},
		{"W4A8-g64", q4.MatMulTA8, q4.MatMulTA8Ref, true, nil, nil},
		{"W8A16", m8.MatMulTA16, m8.MatMulTA16Ref, false, func(r, k int) float64 { return math.Abs(float64(m8.Q[r*cols+k]) * float64(m8.Scale[r])) }, nil},
		{"W4A16-g64-asym", m4.MatMulT, m4.MatMulTRef, false, func(r, k int) float64 {
			s, z := m4.scaleZero(r, k/m4.Group)
			return math.Abs(float64(s)) * (float64(m4.Code(r, k)) + float64(z))
		}, nil},
		{"FP8", fp.MatMulT, fp.MatMulTRef, false, func(r, k int) float64 {
			return math.Abs(float64(DecodeE4M3(fp.Q[r*cols+k])) * float64(fp.Scale[r]))
		}, fp8Act},
	} {
		got, want := make([]float32, n*rows), make([]float32, n*rows)
		c.fast(got, x, n)
		c.ref(want, x, n)
		xa := x
		if c.act != nil {
			xa = c.act(x, n, cols)
		}
		for i := range n {
			for r := range rows {
				g, wv := got[i*rows+r], want[i*rows+r]
				if c.exact {
					if math.Float32bits(g) != math.Float32bits(wv) {
						t.Fatalf("%s [%d,%d]: %v, want %v bit for bit", c.name, i, r, g, wv)
					}
					continue
				}
				var a float64
				for k := range cols {
					a += math.Abs(float64(xa[i*cols+k])) * c.bound(r, k)
				}
				if d := math.Abs(float64(g) - float64(wv)); !(d <= float64(cols+4)*u32*a) {
					t.Fatalf("%s [%d,%d]: %v, want %v (|Δ| %g)", c.name, i, r, g, wv, d)
				}
			}
		}
	}
}

// TestManyEqualsSingle: the shared-input products equal one product per matrix bit for bit (A8:
// the same integers; A16: the same kernels on the same panel or digits), on and off the AMX path,
// from one token (the GEMVs) to 600, with a matrix whose rows are no multiple of 32.
func TestManyEqualsSingle(t *testing.T) {
	const cols = 576
	rng := rand.New(rand.NewPCG(4, 4))
	mk := func(rows int) []float32 { return randSlice(rng, rows*cols, 0.05) }
	w1, w2, w3 := mk(192), mk(64), mk(40)
	for _, amxOn := range []bool{true, false} {
		for _, n := range []int{1, 3, 40, 600} {
			t.Run(fmt.Sprintf("amx=%v/n=%d", amxOn, n), func(t *testing.T) {
				setAMX(t, map[bool]string{true: "amx", false: "vnni"}[amxOn])
				x := randSlice(rng, n*cols, 1)
				check := func(name string, ms []any, rows []int, many func([][]float32, []any, []float32, int), one func(m any, dst, x []float32, n int)) {
					dsts := make([][]float32, len(ms))
					for i := range ms {
						dsts[i] = make([]float32, n*rows[i])
					}
					many(dsts, ms, x, n)
					for i, m := range ms {
						want := make([]float32, n*rows[i])
						one(m, want, x, n)
						for j := range want {
							if math.Float32bits(want[j]) != math.Float32bits(dsts[i][j]) {
								t.Fatalf("%s matrix %d [%d]: %v, single product %v", name, i, j, dsts[i][j], want[j])
							}
						}
					}
				}
				rows := []int{192, 64, 40}
				many16 := manyOfAny(MatMulTA16Many)
				one16 := func(m any, dst, x []float32, n int) {
					if m8, ok := m.(*Int8Matrix); ok {
						m8.MatMulTA16(dst, x, n)
					} else {
						m.(*Int4Matrix).MatMulT(dst, x, n)
					}
				}
				// Mixed: the asymmetric W4A16 has no digit path (a16digits.go), the other two do.
				check("A16", []any{QuantizeInt8(w1, 192, cols), QuantizeInt4(w2, 64, cols, 128, true), QuantizeInt4(w3, 40, cols, 128, false)}, rows, many16, one16)
				// All three on the digit path where AMX is on, one digit panel for all.
				check("A16-digits", []any{QuantizeInt8(w1, 192, cols), QuantizeInt4(w2, 64, cols, 64, false), QuantizeInt4(w3, 40, cols, cols, false)}, rows, many16, one16)
				// All W4A16 of one group size: at 1-3 tokens the VNNI GEMVs share one digit split and
				// one fork-join (gemvVNNIMany), the blocks of all three split between the workers.
				check("A16-int4", []any{QuantizeInt4(w1, 192, cols, 128, false), QuantizeInt4(w2, 64, cols, 128, true), QuantizeInt4(w3, 40, cols, 128, false)}, rows, many16, one16)
				many8 := manyOfAny(MatMulTA8Many)
				one8 := func(m any, dst, x []float32, n int) {
					if m8, ok := m.(*Int8Matrix); ok {
						m8.MatMulT(dst, x, n)
					} else {
						m.(*Int4Matrix).MatMulTA8(dst, x, n)
					}
				}
				// Mixed kinds: each product on its own below AMX's token counts.
				check("A8", []any{QuantizeInt8(w1, 192, cols), QuantizeInt4QQQ(w2, 64, cols, 64), QuantizeInt4QQQ(w3, 40, cols, cols)}, rows, many8, one8)
				// One kind each: below AMX's token counts one quantizeVNNI for all three, and at one
				// token one fork-join over their 10 blocks (184K multiply-adds, above vnniSerialMACs),
				// each worker quantizing x itself (quantMulVNNI).
				check("A8-int8", []any{QuantizeInt8(w1, 192, cols), QuantizeInt8(w2, 64, cols), QuantizeInt8(w3, 40, cols)}, rows, many8, one8)
				check("A8-int4-g128", []any{QuantizeInt4QQQ(w1, 192, cols, 128), QuantizeInt4QQQ(w2, 64, cols, 128), QuantizeInt4QQQ(w3, 40, cols, 128)}, rows, many8, one8)
				check("A8-int4", []any{QuantizeInt4QQQ(w1, 192, cols, cols), QuantizeInt4QQQ(w2, 64, cols, cols), QuantizeInt4QQQ(w3, 40, cols, cols)}, rows, many8, one8)
			})
		}
	}
}

// manyOfAny adapts a Many product (MatMulTA16Many, MatMulTA8Many) to matrices held as any.
func manyOfAny[M any](many func(dsts [][]float32, ms []M, x []float32, n int)) func(dsts [][]float32, ms []any, x []float32, n int) {
	return func(dsts [][]float32, ms []any, x []float32, n int) {
		typed := make([]M, len(ms))
		for i, m := range ms {
			typed[i] = m.(M)
		}
		many(dsts, typed, x, n)
	}
}
