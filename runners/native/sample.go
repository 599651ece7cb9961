package native

import (
	"math"

	"github.com/qbench/qbench/kernels"
)

func argmax(x []float32) int {
	best, bi := x[0], 0
	for i, v := range x[1:] {
		if v > best {
			best, bi = v, i+1
		}
	}
	return bi
}

// rowStat is what scoring needs of one logits row: its argmax and
// lse = log Σ_i exp(row[i]), so that log softmax(row)[t] = row[t] − lse.
type rowStat struct {
	lse float64
	arg int
}

// logProb returns log softmax(stat's row)[target].
func (s rowStat) logProb(row []float32, target int) float64 {
	return float64(row[target]) - s.lse
}

// statRow computes the rowStat of row using scratch (len ≥ len(row)).
//
// With m = row[arg] the maximum, kernels.SoftmaxPrefix(scale 1) turns a
// copy of the row into p_i = e^(row_i − m) / S, S = Σ_i e^(row_i − m)
// (vectorized exp with relative error < 2e-7 per term, S accumulated in
// float64). At the argmax the numerator is e^0 = 1, so p_arg = 1/S and
// lse = m + log S = m − log p_arg. p_arg ≥ 1/len(row), so unlike
// log p_target this never underflows; the error of lse is that of S and
// of p_arg's float32 rounding: below 4e-7 in absolute value (the float64
// reference logSoftmax64 agrees within 1e-6, see prefix_score_test.go).
func statRow(row, scratch []float32) rowStat {
	arg := argmax(row)
	p := scratch[:len(row)]
	copy(p, row)
	kernels.SoftmaxPrefix(p, len(p), 1)
	return rowStat{lse: float64(row[arg]) - math.Log(float64(p[arg])), arg: arg}
}

// statRows computes the stats of the n rows of logits ((n, V) row-major),
// in parallel over rows.
func statRows(logits []float32, n, V int) []rowStat {
	out := make([]rowStat, n)
	parallelFor(n, 1, func(lo, hi int) {
		scratch := make([]float32, V)
		for i := lo; i < hi; i++ {
			out[i] = statRow(logits[i*V:(i+1)*V], scratch)
		}
	})
	return out
}
