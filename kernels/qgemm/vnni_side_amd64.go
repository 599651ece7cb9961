package qgemm

// vnniI8T1x2 is vnniI8T1 over two consecutive full 32-row blocks (dst, scale: 64 entries).
//
//go:noescape
func vnniI8T1x2(w *byte, k4 int, x *int8, corr *int32, scale, sx, dst *float32)

// vnniI4T1x4 is vnniI4T1 over four consecutive full 32-row blocks (dst, scale: 128 entries).
// Its prefetches run about 1 KiB ahead in each block; past the end of the first block they
// move on by jump bytes (vnniX4Jump: to the next four blocks, or 0).
//
//go:noescape
func vnniI4T1x4(w *byte, k4 int, x *int8, corr *int32, scale, sx, dst *float32, jump int)

// vnniI4GT1x4 is vnniI4GT1 over four consecutive full 32-row blocks (dst, scale: 128 entries):
// block j's group scales gs start ngs·32·j entries after block 0's (ngs groups per block).
// Prefetches as vnniI4T1x4.
//
//go:noescape
func vnniI4GT1x4(w *byte, k4, gk4 int, x *int8, corr *int32, gs *int8, ngs int, scale, sx, dst *float32, jump int)
