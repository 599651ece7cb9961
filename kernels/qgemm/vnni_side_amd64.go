package qgemm

// vnniI8T1x2 is vnniI8T1 over two consecutive full 32-row blocks (dst, scale: 64 entries).
//
//go:noescape
func vnniI8T1x2(w *byte, k4 int, x *int8, corr *int32, scale, sx, dst *float32)

// vnniI4T1x4 is vnniI4T1 over four consecutive full 32-row blocks (dst, scale: 128 entries).
//
//go:noescape
func vnniI4T1x4(w *byte, k4 int, x *int8, corr *int32, scale, sx, dst *float32)

// vnniI4GT1x4 is vnniI4GT1 over four consecutive full 32-row blocks (dst, scale: 128 entries):
// block j's group scales gs start ngs·32·j entries after block 0's (ngs groups per block).
//
//go:noescape
func vnniI4GT1x4(w *byte, k4, gk4 int, x *int8, corr *int32, gs *int8, ngs int, scale, sx, dst *float32)
