package s3xfer

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"sync"
	"sync/atomic"
)

// maxParts is S3's limit on the parts of one multipart upload.
const maxParts = 10_000

// hashChunk is how much the hasher reads at a time.
const hashChunk = 1 << 20

// layout is how an object of size bytes is cut into parts: every part
// partSize bytes but the last. The part size grows (in whole MiB) when the
// object would need more than maxParts parts.
type layout struct {
	size, partSize int64
	count          int
}

func newLayout(size, partSize int64) layout {
	if least := (size + maxParts - 1) / maxParts; partSize < least {
		partSize = (least + 1<<20 - 1) &^ (1<<20 - 1)
	}
	return layout{size: size, partSize: partSize, count: int((size + partSize - 1) / partSize)}
}

// part returns the offset and length of part k (0-based).
func (l layout) part(k int) (off, n int64) {
	off = int64(k) * l.partSize
	return off, min(l.partSize, l.size-off)
}

// marks are one-shot signals, one per part: a part is marked once (the
// upload's hasher has read it, a download's range has been written) and
// waited for by the other side.
type marks []chan struct{}

func newMarks(n int) marks {
	m := make(marks, n)
	for i := range m {
		m[i] = make(chan struct{})
	}
	return m
}

func (m marks) mark(k int) { close(m[k]) }

// wait returns when part k is marked, or with the context's cause when it
// ends first.
func (m marks) wait(ctx context.Context, k int) error {
	select {
	case <-m[k]:
		return nil
	case <-ctx.Done():
		return context.Cause(ctx)
	}
}

// eachPart runs fn for parts 0 to n-1, in order of part number, on at most
// workers goroutines. The first error stops the others (their context is
// cancelled with it) and is returned; a cancelled ctx returns its cause.
func eachPart(ctx context.Context, n, workers int, fn func(ctx context.Context, k int) error) error {
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	var next atomic.Int64
	var first error
	var once sync.Once
	var wg sync.WaitGroup
	for range min(workers, n) {
		wg.Go(func() {
			for ctx.Err() == nil {
				k := int(next.Add(1) - 1)
				if k >= n {
					return
				}
				if err := fn(ctx, k); err != nil {
					once.Do(func() { first = err; cancel(err) })
					return
				}
			}
		})
	}
	wg.Wait()
	if first == nil && ctx.Err() != nil {
		return context.Cause(ctx)
	}
	return first
}

// errShort is returned by hashParts when the file ends before the layout.
var errShort = errors.New("the file ended early")

// hashParts reads r's bytes of the layout in order and returns their hex
// SHA-256. When avail is not nil, it is asked how many bytes of part k
// are there to read (a download's part is hashed as its bytes land): it
// blocks until there are more than have. Once part k is read, after(k,
// crc) is called with the CRC-32 (IEEE) of its bytes. It stops with the
// context's cause when ctx ends.
func hashParts(ctx context.Context, r io.ReaderAt, l layout, avail func(k int, have int64) (int64, error), after func(k int, crc uint32)) (string, error) {
	h := sha256.New()
	buf := make([]byte, min(hashChunk, max(l.size, 1)))
	for k := range l.count {
		off, n := l.part(k)
		var crc uint32
		there := n // bytes of the part there to read
		if avail != nil {
			there = 0
		}
		for done := int64(0); done < n; {
			if err := ctx.Err(); err != nil {
				return "", context.Cause(ctx)
			}
			if done == there {
				got, err := avail(k, done)
				if err != nil {
					return "", err
				}
				there = min(got, n)
			}
			b := buf[:min(int64(len(buf)), there-done)]
			got, err := r.ReadAt(b, off+done)
			if got < len(b) {
				if err == nil || errors.Is(err, io.EOF) {
					err = fmt.Errorf("%w: %d bytes instead of %d", errShort, off+done+int64(got), l.size)
				}
				return "", err
			}
			h.Write(b)
			crc = crc32.Update(crc, crc32.IEEETable, b)
			done += int64(got)
		}
		if after != nil {
			after(k, crc)
		}
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// landing is what a download's hasher follows: how many bytes of each
// part, from its start, have been written.
type landing struct {
	got   []atomic.Int64
	kicks []chan struct{} // part k was written to since the hasher last looked
}

func newLanding(n int) *landing {
	d := &landing{got: make([]atomic.Int64, n), kicks: make([]chan struct{}, n)}
	for k := range d.kicks {
		d.kicks[k] = make(chan struct{}, 1)
	}
	return d
}

// wrote records that part k has its first got bytes written.
func (d *landing) wrote(k int, got int64) {
	d.got[k].Store(got)
	select {
	case d.kicks[k] <- struct{}{}:
	default: // a kick is pending already
	}
}

// avail returns hashParts' avail for this landing: it waits until part k
// has more than have bytes written. Only writes to part k wake it.
func (d *landing) avail(ctx context.Context) func(k int, have int64) (int64, error) {
	return func(k int, have int64) (int64, error) {
		for {
			if got := d.got[k].Load(); got > have {
				return got, nil
			}
			select {
			case <-d.kicks[k]:
			case <-ctx.Done():
				return 0, context.Cause(ctx)
			}
		}
	}
}

// hashRun is a hashParts running in its own goroutine.
type hashRun struct {
	done chan struct{}
	sum  string
	err  error
}

func startHash(ctx context.Context, r io.ReaderAt, l layout, avail func(k int, have int64) (int64, error), after func(k int, crc uint32)) *hashRun {
	h := &hashRun{done: make(chan struct{})}
	go func() {
		defer close(h.done)
		h.sum, h.err = hashParts(ctx, r, l, avail, after)
	}()
	return h
}

// wait returns the digest once the hasher has finished.
func (h *hashRun) wait() (string, error) {
	<-h.done
	return h.sum, h.err
}
