package mirror

import (
	"context"
	"fmt"
)

// page is a run of entries from one listing, in key order. A page with err
// set is the last one: the listing failed for good. A listing that
// completed closes its channel; a channel that is neither closed nor
// carrying an error has not finished, whatever happens to the context.
type page struct {
	entries []Entry
	err     error
}

// cursor reads one side's pages and checks that the keys come strictly
// sorted, which the merge relies on: an unsorted listing would make
// objects look missing on one side.
type cursor struct {
	side string // "source" or "target", for errors
	ch   <-chan page
	buf  []Entry
	pos  int
	last string
	seen bool // last is set
	done bool // the listing completed
}

func newCursor(side string, ch <-chan page) *cursor { return &cursor{side: side, ch: ch} }

// peek returns the current entry, nil at the end of a completed listing.
func (c *cursor) peek(ctx context.Context) (*Entry, error) {
	for c.pos >= len(c.buf) {
		if c.done {
			return nil, nil
		}
		select {
		case <-ctx.Done():
			return nil, context.Cause(ctx)
		case p, ok := <-c.ch:
			if !ok {
				c.done = true
				c.buf, c.pos = nil, 0
				return nil, nil
			}
			if p.err != nil {
				return nil, p.err
			}
			c.buf, c.pos = p.entries, 0
		}
	}
	e := &c.buf[c.pos]
	if c.seen && e.Key <= c.last {
		return nil, fmt.Errorf("the %s listing is not in key order (%q after %q): refusing to compare", c.side, e.Key, c.last)
	}
	return e, nil
}

// advance moves past the entry peek returned.
func (c *cursor) advance() {
	c.last, c.seen = c.buf[c.pos].Key, true
	c.buf[c.pos] = Entry{} // let the page's strings go as soon as possible
	c.pos++
}

// merge walks both sorted listings together and calls emit once per
// relative key: with both entries when the key is on both sides, with a
// nil target for a source-only key, with a nil source for a target-only
// key. It returns nil only when both listings completed; the entries
// passed to emit are valid only during the call.
func merge(ctx context.Context, src, dst *cursor, emit func(s, d *Entry) error) error {
	for {
		s, err := src.peek(ctx)
		if err != nil {
			return err
		}
		d, err := dst.peek(ctx)
		if err != nil {
			return err
		}
		switch {
		case s == nil && d == nil:
			return nil
		case d == nil || (s != nil && s.Key < d.Key):
			err = emit(s, nil)
			src.advance()
		case s == nil || d.Key < s.Key:
			err = emit(nil, d)
			dst.advance()
		default:
			err = emit(s, d)
			src.advance()
			dst.advance()
		}
		if err != nil {
			return err
		}
	}
}
