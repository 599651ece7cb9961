package kernels

import "fmt"

// GemmStrided is the serial register-blocked GEMM over strided operands, on the calling goroutine:
//
//	for t := 0; t < n; t++ {
//		for r := 0; r < rows; r++ {
//			var s float32
//			for c := 0; c < k; c++ {
//				s += w[r*ldw+c] * x[t*ldx+c]
//			}
//			if acc { dst[t*ldd+r] += s } else { dst[t*ldd+r] = s }
//		}
//	}
//
// w is (rows, ≥k) with leading dimension ldw, x is (n, ≥k) with leading dimension ldx, dst is (n, ≥rows)
// with leading dimension ldd. It runs the active micro-kernel (R rows × 3 tokens) on full tiles and Go
// loops on the leftover rows, tokens and the last k mod kStep columns. Quantized-weight packages call it
// on blocks of weights they have just dequantized into a scratch buffer; the caller does the threading.
func GemmStrided(dst []float32, ldd int, w []float32, ldw, rows int, x []float32, ldx, n, k int, acc bool) {
	switch {
	case rows < 0 || n < 0 || k < 0 || ldw < k || ldx < k || ldd < rows:
		panic(fmt.Sprintf("kernels: GemmStrided: bad shape rows=%d n=%d k=%d ldw=%d ldx=%d ldd=%d", rows, n, k, ldw, ldx, ldd))
	case rows == 0 || n == 0:
		return
	case len(w) < (rows-1)*ldw+k || len(x) < (n-1)*ldx+k || len(dst) < (n-1)*ldd+rows:
		panic(fmt.Sprintf("kernels: GemmStrided: slices too short for rows=%d n=%d k=%d", rows, n, k))
	}
	ks := active
	R := ks.rowBlock
	kmain := k - k%ks.kStep
	if kmain > 0 {
		r := 0
		for ; r+R <= rows; r += R {
			t := 0
			for ; t+tokTile <= n; t += tokTile {
				ks.gemm(dst[t*ldd+r:], ldd, w[r*ldw:], ldw, x[t*ldx:], ldx, kmain, acc)
			}
			for ; t < n; t++ {
				ks.gemv(dst[t*ldd+r:], w[r*ldw:], ldw, x[t*ldx:], kmain, acc)
			}
		}
		for ; r < rows; r++ {
			wr := w[r*ldw : r*ldw+kmain]
			for t := 0; t < n; t++ {
				store(dst, t*ldd+r, ks.dot(wr, x[t*ldx:t*ldx+kmain]), acc)
			}
		}
	} else if !acc {
		for t := 0; t < n; t++ {
			clear(dst[t*ldd : t*ldd+rows])
		}
	}
	if kmain == k {
		return
	}
	for r := 0; r < rows; r++ {
		wr := w[r*ldw+kmain : r*ldw+k]
		for t := 0; t < n; t++ {
			dst[t*ldd+r] += dotGo(wr, x[t*ldx+kmain:t*ldx+k])
		}
	}
}
