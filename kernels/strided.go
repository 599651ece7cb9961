package kernels

import "fmt"

// Strided products for attention over a KV cache, where the rows of one head are every ldw-th block of
// cols floats: the keys or values of head h at positions t are w[t·ldw + h·hd : … + hd]. Both run
// serially on the calling goroutine (the caller parallelises over heads).

// DotRows computes dst[r] = Σ_{c<cols} w[r·ldw+c]·x[c] for r < rows: the attention scores of one query
// against rows keys.
func DotRows(dst, w []float32, ldw, rows, cols int, x []float32) {
	if rows <= 0 {
		return
	}
	if rows < 0 || cols < 0 || ldw < cols || len(dst) < rows || len(x) < cols || len(w) < (rows-1)*ldw+cols {
		panic(fmt.Sprintf("kernels: DotRows: rows=%d cols=%d ldw=%d with len(dst)=%d len(w)=%d len(x)=%d", rows, cols, ldw, len(dst), len(w), len(x)))
	}
	ks := active
	R := ks.rowBlock
	kmain := cols - cols%ks.kStep
	r := 0
	if kmain > 0 {
		// The gemv kernels read R rows: the last block must lie inside w.
		for ; r+R <= rows && (r+R-1)*ldw+kmain <= len(w); r += R {
			ks.gemv(dst[r:], w[r*ldw:], ldw, x, kmain, false)
		}
	}
	for ; r < rows; r++ {
		dst[r] = ks.dot(w[r*ldw:r*ldw+kmain], x)
	}
	if kmain < cols {
		for r := 0; r < rows; r++ {
			dst[r] += dotGo(w[r*ldw+kmain:r*ldw+cols], x[kmain:cols])
		}
	}
}

// AxpyRows computes dst[c] = Σ_{r<rows} p[r]·v[r·ldv+c] for c < cols: the attention output of one query
// from its probabilities p and rows value vectors.
func AxpyRows(dst, p, v []float32, ldv, rows, cols int) {
	if rows < 0 || cols < 0 || ldv < cols || len(dst) < cols || len(p) < rows || (rows > 0 && len(v) < (rows-1)*ldv+cols) {
		panic(fmt.Sprintf("kernels: AxpyRows: rows=%d cols=%d ldv=%d with len(dst)=%d len(p)=%d len(v)=%d", rows, cols, ldv, len(dst), len(p), len(v)))
	}
	clear(dst[:cols])
	if rows == 0 {
		return
	}
	c0 := 0
	if f := active.axpyRows; f != nil {
		c0 = f(dst[:cols], p[:rows], v, ldv)
	}
	if c0 < cols {
		for r := 0; r < rows; r++ {
			a := p[r]
			vr := v[r*ldv+c0 : r*ldv+cols]
			for c, x := range vr {
				dst[c0+c] += a * x
			}
		}
	}
}
