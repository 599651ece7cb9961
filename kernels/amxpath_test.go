package kernels

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/qbench/qbench/kernels/amx"
)

// amxShapes reach every part of the AMX driver: whole and partial 32-row blocks (the tail rows run
// on the SIMD kernels), partial 16-token tiles and padding tiles, one and several column blocks
// (n·cols large enough that the panel exceeds the column block), and a cols that is no multiple
// of 32 (the whole product stays on the SIMD kernels).
var amxShapes = []matShape{
	{32, 32, 16}, {33, 64, 17}, {64, 96, 31}, {100, 576, 32}, {192, 576, 33}, {40, 1100, 20},
	{64, 2048, 130}, {96, 1536, 300}, {64, 64, 1100}, // 1100: three chunks of ≤ 512 tokens
}

func TestMatMulTBF16AMX(t *testing.T) {
	if !amx.Available() {
		t.Skipf("no AMX here: %s", amx.Reason())
	}
	checkMatMulTBF16(t, rand.New(rand.NewPCG(21, 22)), amxShapes)
}

// TestMatMulTBF16Many: the shared-panel product equals one MatMulTBF16 per matrix, bit for bit
// (the same kernels on the same blocks), with AMX and without.
func TestMatMulTBF16Many(t *testing.T) {
	for _, on := range []bool{true, false} {
		t.Run(fmt.Sprintf("amx=%v", on), func(t *testing.T) {
			defer amx.SetEnabled(on)()
			rng := rand.New(rand.NewPCG(23, 24))
			const cols, n = 576, 37
			_, x := randInput(rng, n*cols)
			var ps []BF16Product
			var fulls [][]float32
			for _, rows := range []int{576, 192, 40} {
				_, w := randBF16(rng, rows*cols)
				full, dst := padded(n*rows, guard)
				ps = append(ps, BF16Product{Dst: dst, W: w, Rows: rows})
				fulls = append(fulls, full)
			}
			MatMulTBF16Many(ps, cols, x, n)
			for i, p := range ps {
				checkGuards(t, fmt.Sprintf("product %d", i), fulls[i])
				one := make([]float32, n*p.Rows)
				MatMulTBF16(one, p.W, p.Rows, cols, x, n)
				for j := range one {
					if math.Float32bits(one[j]) != math.Float32bits(p.Dst[j]) {
						t.Fatalf("product %d element %d: %v, MatMulTBF16 gives %v", i, j, p.Dst[j], one[j])
					}
				}
			}
		})
	}
}
