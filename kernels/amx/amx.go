package amx

import (
	"fmt"
	"os"
	"sync"
)

// Parts is the number of bfloat16 pieces each float32 activation is split into (see the package
// comment): three make every product exact.
const Parts = 3

// tileConfig is the 64-byte operand of LDTILECFG: palette 1, all eight tiles 16 rows × 64 bytes.
type tileConfig struct {
	palette, startRow uint8
	_                 [14]uint8
	colsb             [16]uint16
	rows              [16]uint8
}

var cfg = func() *tileConfig {
	c := &tileConfig{palette: 1}
	for i := range 8 {
		c.colsb[i], c.rows[i] = 64, 16
	}
	return c
}()

var (
	availOnce sync.Once
	avail     bool
	availWhy  string
)

// Available reports whether this process runs AMX tiles: the CPU has AMX-TILE, AMX-BF16, AMX-INT8 and
// AVX-512 (F, BW), the kernel grants the tile state, and QBENCH_AMX is not 0. The first call asks
// the kernel for permission.
func Available() bool {
	availOnce.Do(func() {
		if v := os.Getenv("QBENCH_AMX"); v == "0" || v == "off" {
			availWhy = "disabled by QBENCH_AMX=" + v
			return
		}
		if !cpuHasAMX() {
			availWhy = "CPU has no AMX-BF16"
			return
		}
		if err := requestPermission(); err != nil {
			availWhy = fmt.Sprintf("kernel refused the AMX tile state: %v", err)
			return
		}
		avail = true
	})
	return avail && enabled
}

// Reason says why Available is false ("" when it is true).
func Reason() string {
	Available()
	if !enabled {
		return "disabled (SetEnabled)"
	}
	return availWhy
}

// enabled lets tests and benchmarks switch the AMX paths off to compare them with the others.
var enabled = true

// SetEnabled switches the AMX paths on or off and returns a function restoring the previous state.
// For tests and benchmarks only: it must not be called while products run.
func SetEnabled(on bool) (restore func()) {
	prev := enabled
	enabled = on
	return func() { enabled = prev }
}
