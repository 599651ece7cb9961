//go:build !linux || !amd64 || noasm

package amx

func cpuHasAMX() bool { return false }

func requestPermission() error { return nil }

func dotTiles(c *tileConfig, a *uint16, lda int, b *uint16, bts int, ps int, parts int, ksteps int, acc *float32, load bool) {
	panic("amx: no AMX kernels in this build")
}

func storeTile(src *float32, dst *float32, ldd int, ntok int, scale *float32, acc bool) {
	panic("amx: no AMX kernels in this build")
}

func packTile(dst *uint16, x *float32, ldx int, ntok int, kpairs int, parts int, ps int) {
	panic("amx: no AMX kernels in this build")
}

func packTile16(dst *uint16, x *float32, ldx int, kpairs int, ps int) {
	panic("amx: no AMX kernels in this build")
}

func dotTilesG(c *tileConfig, a *uint16, lda int, b *uint16, bts int, ps int, parts int, ngroups int, gsteps int, acc *float32, cbuf *float32, s *float32) {
	panic("amx: no AMX kernels in this build")
}

func dotTilesI8(c *tileConfig, a *int8, lda int, b *int8, bts int, ksteps int, acc *int32, load bool) {
	panic("amx: no AMX kernels in this build")
}

func storeTileI32(src *int32, dst *float32, ldd int, ntok int, scale *float32, tscale *float32) {
	panic("amx: no AMX kernels in this build")
}

func packI8Tile16(dst *int8, x *int8, ldx int, kquads int) {
	panic("amx: no AMX kernels in this build")
}

func dotTilesGI8(c *tileConfig, a *int8, lda int, b *int8, bts int, ngroups int, gsteps int, acc *float32, cbuf *int32, s *float32, init bool) {
	panic("amx: no AMX kernels in this build")
}

func comb3I32(src *int32, step int, dst *float32, unit *float32) {
	panic("amx: no AMX kernels in this build")
}

func comb3F32(src *float32, step int, dst *float32, unit *float32) {
	panic("amx: no AMX kernels in this build")
}
