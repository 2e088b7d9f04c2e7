package s3xfer

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"hash/crc32"
	"sync"
	"sync/atomic"
	"testing"
)

func TestLayout(t *testing.T) {
	for _, tc := range []struct {
		size, partSize, wantPart int64
		wantCount                int
	}{
		{0, 16 << 20, 16 << 20, 0},
		{1, 16 << 20, 16 << 20, 1},
		{16 << 20, 16 << 20, 16 << 20, 1},
		{16<<20 + 1, 16 << 20, 16 << 20, 2},
		{1 << 30, 16 << 20, 16 << 20, 64},
		// 1 TiB in 16 MiB parts would be 65,536 parts: S3 takes 10,000 at
		// most, so the parts grow to the next whole MiB that fits.
		{1 << 40, 16 << 20, 105 << 20, 9987},
		{5 << 40, 5 << 20, 525 << 20, 9987},
	} {
		l := newLayout(tc.size, tc.partSize)
		if l.partSize != tc.wantPart || l.count != tc.wantCount || l.count > maxParts {
			t.Errorf("size %d: part size %d, %d parts; want %d, %d", tc.size, l.partSize, l.count, tc.wantPart, tc.wantCount)
		}
		var sum int64
		for k := range l.count {
			off, n := l.part(k)
			if off != sum || n <= 0 || n > l.partSize {
				t.Fatalf("size %d: part %d at %d, %d bytes", tc.size, k, off, n)
			}
			sum += n
		}
		if sum != tc.size {
			t.Errorf("size %d: the parts cover %d bytes", tc.size, sum)
		}
	}
}

// eachPart runs every part once, no more than workers at a time; the first
// error stops the rest and is the one returned.
func TestEachPart(t *testing.T) {
	var running, peak atomic.Int32
	seen := make([]atomic.Int32, 100)
	err := eachPart(context.Background(), 100, 4, func(ctx context.Context, k int) error {
		if n := running.Add(1); n > peak.Load() {
			peak.Store(n)
		}
		defer running.Add(-1)
		seen[k].Add(1)
		return nil
	})
	if err != nil || peak.Load() > 4 {
		t.Fatalf("err %v, %d at once", err, peak.Load())
	}
	for k := range seen {
		if seen[k].Load() != 1 {
			t.Fatalf("part %d ran %d times", k, seen[k].Load())
		}
	}

	boom := errors.New("boom")
	var after atomic.Int32
	err = eachPart(context.Background(), 1000, 3, func(ctx context.Context, k int) error {
		if k == 5 {
			return boom
		}
		if k > 5 {
			<-ctx.Done() // the others are told to stop
			after.Add(1)
			return ctx.Err()
		}
		return nil
	})
	if !errors.Is(err, boom) || after.Load() > 2 {
		t.Fatalf("err %v; %d parts started after the failure", err, after.Load())
	}

	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := eachPart(ctx, 10, 2, func(context.Context, int) error { return nil }); !errors.Is(err, context.Canceled) {
		t.Fatalf("a cancelled context gave %v", err)
	}
}

// hashParts hashes the bytes in order, as far as avail says they are
// there, and reports each part's CRC-32; a short source is an error.
func TestHashParts(t *testing.T) {
	data := make([]byte, 5<<20+123)
	_, _ = rand.Read(data)
	l := newLayout(int64(len(data)), 1<<20+7) // parts that do not fall on chunk boundaries
	want := sha256.Sum256(data)
	for name, avail := range map[string]func(k int, have int64) (int64, error){
		"all there": nil,
		// The bytes land 100,000 at a time: the hasher asks again each time.
		"landing": func(k int, have int64) (int64, error) { _, n := l.part(k); return min(have+100_000, n), nil },
	} {
		crcs := map[int]uint32{}
		sum, err := hashParts(context.Background(), bytes.NewReader(data), l, avail, func(k int, crc uint32) { crcs[k] = crc })
		if err != nil || sum != hex.EncodeToString(want[:]) || len(crcs) != l.count {
			t.Fatalf("%s: sum %s, %v, %d parts", name, sum, err, len(crcs))
		}
		for k := range l.count {
			if off, n := l.part(k); crcs[k] != crc32.ChecksumIEEE(data[off:off+n]) {
				t.Fatalf("%s: part %d crc %x", name, k, crcs[k])
			}
		}
	}
	if _, err := hashParts(context.Background(), bytes.NewReader(data[:len(data)-1]), l, nil, nil); !errors.Is(err, errShort) {
		t.Fatalf("a short source gave %v", err)
	}
	stop := errors.New("stop")
	if _, err := hashParts(context.Background(), bytes.NewReader(data), l, func(k int, have int64) (int64, error) {
		if k == 2 {
			return 0, stop
		}
		_, n := l.part(k)
		return n, nil
	}, nil); !errors.Is(err, stop) {
		t.Fatalf("the avail error was lost: %v", err)
	}
}

// The landing lets the hasher follow the bytes of each part as they are
// written, in any order of the parts, and wakes it for each write.
func TestLandingFollowsWrites(t *testing.T) {
	data := make([]byte, 3<<20)
	_, _ = rand.Read(data)
	l := newLayout(int64(len(data)), minPartSize/5) // 3 parts of 1 MiB
	var mu sync.Mutex
	file := make([]byte, len(data)) // written in place, as the download's file
	landed := newLanding(l.count)
	h := startHash(context.Background(), readerAtFunc(func(p []byte, off int64) (int, error) {
		mu.Lock()
		defer mu.Unlock()
		return copy(p, file[off:]), nil
	}), l, landed.avail(context.Background()), nil)
	for _, k := range []int{2, 1, 0} { // the last part first: the hasher waits for part 0
		off, n := l.part(k)
		for got := int64(0); got < n; got += 4096 {
			mu.Lock()
			copy(file[off+got:off+got+4096], data[off+got:])
			mu.Unlock()
			landed.wrote(k, got+4096)
		}
	}
	want := sha256.Sum256(data)
	if sum, err := h.wait(); err != nil || sum != hex.EncodeToString(want[:]) {
		t.Fatalf("sum %s, %v", sum, err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := landed.avail(ctx)(0, l.partSize); !errors.Is(err, context.Canceled) {
		t.Fatalf("a cancelled wait gave %v", err)
	}
}

type readerAtFunc func(p []byte, off int64) (int, error)

func (f readerAtFunc) ReadAt(p []byte, off int64) (int, error) { return f(p, off) }
