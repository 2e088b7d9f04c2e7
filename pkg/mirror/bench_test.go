package mirror

import (
	"context"
	"fmt"
	"runtime"
	"runtime/metrics"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// synthetic sends n StarRocks-like listing entries of one side as pages,
// as a lister would. On the target, every 10th object has another size,
// every 50th is missing and every 100th key exists only there.
func synthetic(ctx context.Context, n int, target bool, out chan<- page) {
	buf := make([]Entry, 0, pageSize)
	key := make([]byte, 0, 128)
	for i := range n {
		if target && i%50 == 7 {
			continue
		}
		key = key[:0]
		key = append(key, "1018bac0-5cd2-4b5c-9f7e-6ee7a48699d8/db10043/10058/"...)
		key = strconv.AppendInt(key, int64(10000+i/5000), 10)
		key = append(key, "/data/"...)
		key = fmt.Appendf(key, "%016x", i)
		key = append(key, "_6f1c2a44-2b7e-4f0e-a2a5-1d3c5e7f9a0b.dat"...)
		e := Entry{Key: string(key), Size: int64(i % 262144), ETag: "0cc175b9c0f1b6a831c399e269772661", MetaKnown: target}
		if target && i%10 == 3 {
			e.Size++
		}
		buf = append(buf, e)
		if target && i%100 == 11 {
			buf = append(buf, Entry{Key: string(key) + ".old", MetaKnown: true})
		}
		if len(buf) >= pageSize {
			select {
			case out <- page{entries: buf}:
			case <-ctx.Done():
				return
			}
			buf = make([]Entry, 0, pageSize)
		}
	}
	select {
	case out <- page{entries: buf}:
		close(out)
	case <-ctx.Done():
	}
}

// heapPeak samples the live heap every few milliseconds until stopped.
type heapPeak struct {
	stop chan struct{}
	done chan struct{}
	peak atomic.Uint64
}

func watchHeap() *heapPeak {
	runtime.GC()
	h := &heapPeak{stop: make(chan struct{}), done: make(chan struct{})}
	s := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}}
	go func() {
		defer close(h.done)
		tick := time.NewTicker(2 * time.Millisecond)
		defer tick.Stop()
		for {
			metrics.Read(s)
			if v := s[0].Value.Uint64(); v > h.peak.Load() {
				h.peak.Store(v)
			}
			select {
			case <-h.stop:
				return
			case <-tick.C:
			}
		}
	}()
	return h
}

func (h *heapPeak) MB() float64 {
	close(h.stop)
	<-h.done
	return float64(h.peak.Load()) / (1 << 20)
}

// mergeSynthetic pushes n entries a side through the merge and the diff of
// a real run (excludes, deletion candidates, jobs to a worker channel) and
// returns the run's tally.
func mergeSynthetic(tb testing.TB, n int) *run {
	x, _ := CompileExcludes([]string{"**/*.lock"})
	r := &run{plan: &plan{o: Options{Remove: true, MaxDelete: DefaultMaxDelete}, excl: x}}
	ctx := context.Background()
	src, dst := make(chan page, pageQueue), make(chan page, pageQueue)
	go synthetic(ctx, n, false, src)
	go synthetic(ctx, n, true, dst)
	jobs := make(chan job, DefaultWorkers)
	var wg sync.WaitGroup
	var copies atomic.Int64
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range jobs {
				copies.Add(1)
			}
		}()
	}
	err := merge(ctx, newCursor("source", src), newCursor("target", dst), func(s, d *Entry) error {
		return r.decide(ctx, &r.t, copyPass{r}, nil, jobs, s, d)
	})
	close(jobs)
	wg.Wait()
	if err != nil {
		tb.Fatal(err)
	}
	wantCopies := int64(n/10 + n/50) // sizes differ, missing (disjoint: i%10==3 vs i%50==7)
	if copies.Load() != wantCopies || r.t.listed.Load() != int64(n) || r.t.skipped.Load() != int64(n)-wantCopies {
		tb.Fatalf("n=%d: %d copies (want %d), listed %d, skipped %d", n, copies.Load(), wantCopies, r.t.listed.Load(), r.t.skipped.Load())
	}
	return r
}

// BenchmarkMergeDiff1M measures the listing merge and the diff at a million
// objects a side, without a server: entries per second and the peak live
// heap, which must not depend on the number of objects.
//
//	go test -run '^$' -bench MergeDiff -benchtime 1x ./pkg/mirror/
func BenchmarkMergeDiff1M(b *testing.B) {
	const n = 1_000_000
	var peak float64
	start := time.Now()
	for b.Loop() {
		h := watchHeap()
		r := mergeSynthetic(b, n)
		peak = max(peak, h.MB())
		if r.t.targetOnly.Load() != n/100 || r.candidates != nil {
			b.Fatalf("target-only %d, candidates kept %d", r.t.targetOnly.Load(), len(r.candidates))
		}
	}
	b.ReportMetric(float64(2*n*b.N)/time.Since(start).Seconds(), "entries/s")
	b.ReportMetric(peak, "peak-heap-MB")
}

// The merge's memory does not grow with the number of objects: eight times
// more entries, about the same peak heap.
func TestMergeMemoryIsFlat(t *testing.T) {
	if testing.Short() || raceEnabled {
		t.Skip("memory is measured without -short and without -race (which changes it)")
	}
	peaks := map[int]float64{}
	for _, n := range []int{25_000, 200_000} {
		h := watchHeap()
		mergeSynthetic(t, n)
		peaks[n] = h.MB()
	}
	t.Logf("peak live heap: %.1f MB at 25k entries a side, %.1f MB at 200k", peaks[25_000], peaks[200_000])
	if peaks[200_000] > peaks[25_000]+8 || peaks[200_000] > 64 {
		t.Fatalf("the merge's heap grows with the object count: %.1f MB at 25k, %.1f MB at 200k", peaks[25_000], peaks[200_000])
	}
}
