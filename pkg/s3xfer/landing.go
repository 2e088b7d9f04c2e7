package s3xfer

import (
	"context"
	"fmt"
	"io"
	"sync"
	"sync/atomic"
)

// landWindow is how far ahead of a download's hasher the chunks that land
// are also kept in memory, for the hasher to take from there instead of
// reading them back from the page cache (about 0.2 s of CPU per GiB).
const landWindow = 32 << 20

// landing is what a download's hasher follows: how many bytes of each part
// have been written, from its start, and copies of the chunks that landed
// within landWindow ahead of the hasher.
type landing struct {
	f      io.ReaderAt // the file the parts are written to
	l      layout
	hashed atomic.Int64 // the offset the hasher has reached
	kick   chan struct{}
	spare  chan []byte // chunk buffers to keep chunks in
	bufs   atomic.Int32

	mu    sync.Mutex
	parts []landed
	held  []byte // the kept chunk the hasher took last, free at its next call
}

type landed struct {
	got  int64
	kept []kept // in order; the first at or after where the hasher is
}

type kept struct {
	at int64 // offset in the part
	b  []byte
}

const maxKept = landWindow/copyBuffer + 2

func newLanding(f io.ReaderAt, l layout) *landing {
	return &landing{f: f, l: l, kick: make(chan struct{}, 1), spare: make(chan []byte, maxKept), parts: make([]landed, l.count)}
}

// buffer returns a buffer to read part k's bytes from offset at into, to
// be kept for the hasher (handed over by wrote), when they fall within the
// window ahead of it and a buffer is to be had; else nil.
func (d *landing) buffer(k int, at int64) []byte {
	off, _ := d.l.part(k)
	if off+at+copyBuffer-d.hashed.Load() > landWindow {
		return nil
	}
	select {
	case b := <-d.spare:
		return b
	default:
	}
	if d.bufs.Add(1) > maxKept {
		d.bufs.Add(-1)
		return nil
	}
	return make([]byte, copyBuffer)
}

// release gives back a buffer from buffer that was not handed over.
func (d *landing) release(b []byte) {
	select {
	case d.spare <- b[:cap(b)]:
	default:
	}
}

// wrote records that the first got bytes of part k are written; keep,
// when not nil, is a buffer from buffer holding the last len(keep) of
// them, handed over to the hasher.
func (d *landing) wrote(k int, got int64, keep []byte) {
	d.mu.Lock()
	p := &d.parts[k]
	p.got = got
	if keep != nil {
		p.kept = append(p.kept, kept{at: got - int64(len(keep)), b: keep})
	}
	d.mu.Unlock()
	select {
	case d.kick <- struct{}{}:
	default: // a kick is pending already
	}
}

// next is hashParts' next for the download: the bytes of part k from have
// on, from a kept chunk or else read back from the file, once they are
// written.
func (d *landing) next(ctx context.Context) func(k int, have int64, buf []byte) ([]byte, error) {
	return func(k int, have int64, buf []byte) ([]byte, error) {
		off, _ := d.l.part(k)
		d.hashed.Store(off + have)
		for {
			d.mu.Lock()
			if d.held != nil {
				d.release(d.held)
				d.held = nil
			}
			p := &d.parts[k]
			if len(p.kept) > 0 && p.kept[0].at == have {
				c := p.kept[0]
				p.kept = p.kept[1:]
				d.held = c.b
				d.mu.Unlock()
				return c.b, nil
			}
			there := p.got
			if len(p.kept) > 0 {
				there = p.kept[0].at // read from the file up to the kept chunk
			}
			d.mu.Unlock()
			if there > have {
				b := buf[:min(int64(len(buf)), there-have)]
				if got, err := d.f.ReadAt(b, off+have); got < len(b) {
					return nil, fmt.Errorf("read back %d bytes at %d: %w", len(b), off+have, err)
				}
				return b, nil
			}
			select {
			case <-d.kick:
			case <-ctx.Done():
				return nil, context.Cause(ctx)
			}
		}
	}
}
