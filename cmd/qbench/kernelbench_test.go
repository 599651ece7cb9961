package main

import (
	"strings"
	"testing"
)

// TestTimeStream: the streamed GEMV builds its own copy per slot until the copies hold
// streamBytes of weights, runs every copy (first once untimed, then in the timed passes), and
// returns seconds per product, not per pass.
func TestTimeStream(t *testing.T) {
	const bytes = 48 << 20 // 6 copies for 256 MiB
	var built int
	calls := map[int]int{}
	sec, copies := timeStream(func() func(dst, x []float32, n int) {
		id := built
		built++
		return func(dst, x []float32, n int) {
			if n != 1 {
				t.Errorf("copy %d called with n=%d, want 1", id, n)
			}
			calls[id]++
		}
	}, bytes, nil, nil)
	if want := (streamBytes + bytes - 1) / bytes; copies != want || built != want {
		t.Fatalf("copies %d, built %d, want %d", copies, built, want)
	}
	for id := range built {
		if calls[id] < 2 || calls[id] != calls[0] {
			t.Errorf("copy %d ran %d times, copy 0 %d: want every copy in every pass", id, calls[id], calls[0])
		}
	}
	if sec <= 0 {
		t.Errorf("seconds per product %v, want > 0", sec)
	}
	if _, c := timeStream(func() func(dst, x []float32, n int) { return func(dst, x []float32, n int) {} }, 1<<40, nil, nil); c != 2 {
		t.Errorf("a matrix above streamBytes: %d copies, want 2 (one can stay cached between passes)", c)
	}
}

func TestKernelBenchShape(t *testing.T) {
	_, stderr, code := run(t, nil, "bench", "--kernels", "--shape", "gpt-9")
	if code != 2 || !strings.Contains(stderr, `--shape "gpt-9"`) {
		t.Errorf("bench --kernels --shape gpt-9: exit %d, stderr %q; want a usage error naming the shape", code, stderr)
	}
}
