package main

import (
	"fmt"
	"strings"
	"testing"
)

// TestStreamCopies: the streamed GEMV builds its own copy per slot until the copies hold
// streamBytes of weights, and runs each once (VNNI panels pack on first use); a matrix above
// streamBytes still gets two, so that one can never stay cached between passes.
func TestStreamCopies(t *testing.T) {
	const bytes = 48 << 20 // 6 copies for 256 MiB
	var built int
	calls := map[int]int{}
	fns := streamCopies(func() gemvFn {
		id := built
		built++
		return func(dst, x []float32, n int) {
			if n != 1 {
				t.Errorf("copy %d called with n=%d, want 1", id, n)
			}
			calls[id]++
		}
	}, bytes, nil, nil)
	if want := (streamBytes + bytes - 1) / bytes; len(fns) != want || built != want {
		t.Fatalf("copies %d, built %d, want %d", len(fns), built, want)
	}
	for id := range built {
		if calls[id] != 1 {
			t.Errorf("copy %d ran %d times while built, want 1", id, calls[id])
		}
	}
	if c := streamCopies(func() gemvFn { return func(dst, x []float32, n int) {} }, 1<<40, nil, nil); len(c) != 2 {
		t.Errorf("a matrix above streamBytes: %d copies, want 2", len(c))
	}
}

// TestTimeStreamPair: the two sets of copies run in alternating passes (a whole pass of one,
// then of the other), every copy of both in every pass, at least 5 timed passes each after a
// warm-up pass, and the seconds returned are per product, not per pass.
func TestTimeStreamPair(t *testing.T) {
	var order []byte // the set of each call: 'a' or 'b'
	calls := map[string]int{}
	set := func(name byte, copies int) []gemvFn {
		fns := make([]gemvFn, copies)
		for i := range fns {
			key := fmt.Sprintf("%c%d", name, i)
			fns[i] = func(dst, x []float32, n int) {
				order = append(order, name)
				calls[key]++
			}
		}
		return fns
	}
	a, b := set('a', 3), set('b', 2)
	sec, baseSec := timeStreamPair(a, b, nil, nil)
	if sec <= 0 || baseSec <= 0 {
		t.Fatalf("seconds per product %v, %v, want > 0", sec, baseSec)
	}
	passes := calls["a0"]
	if passes < 6 {
		t.Fatalf("%d passes of a, want the warm-up and at least 5", passes)
	}
	for key, c := range calls {
		if c != passes {
			t.Errorf("copy %s ran %d times, want %d (every copy in every pass)", key, c, passes)
		}
	}
	if want := strings.Repeat("aaabb", passes); string(order) != want {
		t.Errorf("call order %.20q…, want whole passes alternating a, b", order)
	}
}

func TestKernelBenchShape(t *testing.T) {
	_, stderr, code := run(t, nil, "bench", "--kernels", "--shape", "gpt-9")
	if code != 2 || !strings.Contains(stderr, `--shape "gpt-9"`) {
		t.Errorf("bench --kernels --shape gpt-9: exit %d, stderr %q; want a usage error naming the shape", code, stderr)
	}
}
