package amx

// tokenTiles is the token geometry both panels share: N tokens in ntb 16-token tiles, padded to
// an even count (every kernel call takes a pair of token tiles) with zero tokens.
type tokenTiles struct {
	N   int
	ntb int
}

func (g *tokenTiles) setTokens(n int) { g.N, g.ntb = n, (n+31)/32*2 }

// accLen is the size of the accumulators of 32 weight rows: four 16×16 tiles per tile pair.
func (g *tokenTiles) accLen() int { return g.ntb / 2 * 1024 }

// eachTile calls fn for every token tile that holds tokens: tile j of pair tp, whose first token
// is t0 and which holds ntok tokens.
func (g *tokenTiles) eachTile(fn func(tp, j, t0, ntok int)) {
	for tp := 0; tp < g.ntb/2; tp++ {
		for j := range 2 {
			if t0 := (2*tp + j) * 16; t0 < g.N {
				fn(tp, j, t0, min(16, g.N-t0))
			}
		}
	}
}

// packFull runs tile(tb) for every full 16-token tile, on the worker pool when there are at least
// two and minElems elements (tokens × columns) in all.
func (g *tokenTiles) packFull(cols, minElems int, tile func(tb int)) {
	full := g.N / 16
	run := func(lo, hi int) {
		for tb := lo; tb < hi; tb++ {
			tile(tb)
		}
	}
	if Parallel != nil && full >= 2 && full*16*cols >= minElems {
		Parallel(full, run)
	} else {
		run(0, full)
	}
}

// kBlock is the column block (a multiple of unit, at least floor unless cols is smaller) whose
// slice of a panel with colBytes bytes per column stays within ~1 MiB of L2 while the weight rows
// stream over it; column blocks are made near-equal.
func kBlock(cols, colBytes, unit, floor int) int {
	kc := max((1<<20)/colBytes/unit*unit, floor)
	if kc >= cols {
		return cols
	}
	nk := (cols + kc - 1) / kc
	return ((cols+nk-1)/nk + unit - 1) / unit * unit
}
