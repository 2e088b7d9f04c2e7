package backupset

import (
	"bufio"
	"compress/gzip"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"hash"
	"io"
	"time"
)

// ListingFormat is the version of the data listing format.
const ListingFormat = 1

// A data listing is gzip-compressed JSON lines: one header, one line per
// object in strictly increasing key order, one trailer holding the counts.
// A listing without its trailer, with counts that do not match, or out of
// order is not a listing: readers fail on it (ErrBadListing), so a
// truncated upload can never pass for a smaller backup.

// Header is a listing's first line.
type Header struct {
	Format int `json:"listing_format"`
	// Source is the cluster's location the objects were copied from
	// (s3://bucket/prefix/) and SourceEndpoint its server; Target is the
	// off-site data folder (s3://bucket/data/) the entries are relative to.
	Source         string `json:"source"`
	SourceEndpoint string `json:"source_endpoint,omitempty"`
	Target         string `json:"target"`
	TargetEndpoint string `json:"target_endpoint,omitempty"`
	// Versioned tells that the target bucket keeps versions: each entry
	// then records the version it needs.
	Versioned bool `json:"versioned"`
	// RangeStart and RangeEnd bound the keys of this listing (relative,
	// half-open; "" means unbounded): a listing written by one shard.
	RangeStart string    `json:"range_start,omitempty"`
	RangeEnd   string    `json:"range_end,omitempty"`
	StartedAt  time.Time `json:"started_at"`
}

// Entry is one object a backup needs.
type Entry struct {
	Key        string `json:"key"` // relative to the data folder (and to the cluster's prefix)
	Size       int64  `json:"size"`
	SourceETag string `json:"source_etag"` // the cluster object's ETag when it was copied
	ETag       string `json:"etag"`        // the off-site object's ETag
	VersionID  string `json:"version_id,omitempty"`
}

// Trailer is a listing's last line.
type Trailer struct {
	End     bool      `json:"end"`
	Objects int64     `json:"objects"`
	Bytes   int64     `json:"bytes"`
	DoneAt  time.Time `json:"done_at"` // when the data pass completed
}

// ErrBadListing marks a listing that is truncated, out of order or
// otherwise not what a writer wrote.
var ErrBadListing = errors.New("not a complete data listing")

// InRange reports whether a relative key falls in the half-open range.
func InRange(key, start, end string) bool {
	return key >= start && (end == "" || key < end)
}

// Writer writes a listing.
type Writer struct {
	w       *countWriter
	gz      *gzip.Writer
	buf     *bufio.Writer
	enc     *json.Encoder
	header  Header
	last    string
	n       int64
	bytes   int64
	started bool
	closed  bool
}

// NewWriter starts a listing on w with header h (Format is set).
func NewWriter(w io.Writer, h Header) (*Writer, error) {
	h.Format = ListingFormat
	cw := &countWriter{w: w, digest: newDigest()}
	gz := gzip.NewWriter(cw)
	buf := bufio.NewWriterSize(gz, 64<<10)
	lw := &Writer{w: cw, gz: gz, buf: buf, enc: json.NewEncoder(buf), header: h}
	lw.enc.SetEscapeHTML(false)
	if err := lw.enc.Encode(h); err != nil {
		return nil, err
	}
	return lw, nil
}

// Add appends an entry; keys must come in strictly increasing order and
// within the header's range.
func (w *Writer) Add(e Entry) error {
	if w.started && e.Key <= w.last {
		return fmt.Errorf("listing: key %q after %q: entries must be in increasing key order", e.Key, w.last)
	}
	if !InRange(e.Key, w.header.RangeStart, w.header.RangeEnd) {
		return fmt.Errorf("listing: key %q outside the range [%q, %q)", e.Key, w.header.RangeStart, w.header.RangeEnd)
	}
	w.started, w.last = true, e.Key
	w.n++
	w.bytes += e.Size
	return w.enc.Encode(e)
}

// Count returns the entries and bytes added so far.
func (w *Writer) Count() (objects, bytes int64) { return w.n, w.bytes }

// Close writes the trailer (doneAt is when the data pass completed) and
// flushes the compressed stream; it does not close the underlying writer.
func (w *Writer) Close(doneAt time.Time) error {
	if w.closed {
		return errors.New("listing: already closed")
	}
	w.closed = true
	if err := w.enc.Encode(Trailer{End: true, Objects: w.n, Bytes: w.bytes, DoneAt: doneAt.UTC()}); err != nil {
		return err
	}
	if err := w.buf.Flush(); err != nil {
		return err
	}
	return w.gz.Close()
}

// Sum returns the size and SHA-256 of the compressed listing written so
// far (complete after Close).
func (w *Writer) Sum() (int64, string) { return w.w.sum() }

// digest counts and hashes the compressed bytes of a listing, written or read.
type digest struct {
	h hash.Hash
	n int64
}

func newDigest() digest { return digest{h: sha256.New()} }

func (d *digest) add(p []byte) {
	d.h.Write(p)
	d.n += int64(len(p))
}

func (d *digest) sum() (int64, string) { return d.n, hex.EncodeToString(d.h.Sum(nil)) }

type countWriter struct {
	w io.Writer
	digest
}

func (c *countWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.add(p[:n])
	return n, err
}

// Reader reads a listing, checking it as it goes.
type Reader struct {
	cr      *countReader
	gz      *gzip.Reader
	dec     *json.Decoder
	Header  Header
	trailer *Trailer
	last    string
	started bool
	n       int64
	bytes   int64
	name    string
}

// NewReader reads the header of the listing on r; name describes it in
// errors (its key).
func NewReader(r io.Reader, name string) (*Reader, error) {
	cr := &countReader{r: r, digest: newDigest()}
	gz, err := gzip.NewReader(cr)
	if err != nil {
		return nil, fmt.Errorf("%w: %s: %v", ErrBadListing, name, err)
	}
	lr := &Reader{cr: cr, gz: gz, dec: json.NewDecoder(bufio.NewReaderSize(gz, 64<<10)), name: name}
	if err := lr.dec.Decode(&lr.Header); err != nil {
		return nil, lr.bad("no header: %v", err)
	}
	if lr.Header.Format != ListingFormat {
		return nil, lr.bad("format %d, this tool reads %d", lr.Header.Format, ListingFormat)
	}
	return lr, nil
}

func (r *Reader) bad(format string, args ...any) error {
	return fmt.Errorf("%w: %s: %s", ErrBadListing, r.name, fmt.Sprintf(format, args...))
}

// line is any line after the header.
type line struct {
	Entry
	Trailer
}

// Next returns the next entry, or io.EOF after a trailer whose counts
// match the entries read (and nothing after it).
func (r *Reader) Next() (Entry, error) {
	if r.trailer != nil {
		return Entry{}, io.EOF
	}
	var l line
	if err := r.dec.Decode(&l); err != nil {
		if err == io.EOF || errors.Is(err, io.ErrUnexpectedEOF) {
			return Entry{}, r.bad("truncated: no trailer after %d entries", r.n)
		}
		return Entry{}, r.bad("entry %d: %v", r.n+1, err)
	}
	if l.End {
		t := l.Trailer
		if t.Objects != r.n || t.Bytes != r.bytes {
			return Entry{}, r.bad("trailer counts %d objects and %d bytes, the listing holds %d and %d", t.Objects, t.Bytes, r.n, r.bytes)
		}
		if r.dec.More() {
			return Entry{}, r.bad("data after the trailer")
		}
		if _, err := io.Copy(io.Discard, r.gz); err != nil {
			return Entry{}, r.bad("%v", err)
		}
		r.trailer = &t
		return Entry{}, io.EOF
	}
	e := l.Entry
	if e.Key == "" {
		return Entry{}, r.bad("entry %d has no key", r.n+1)
	}
	if r.started && e.Key <= r.last {
		return Entry{}, r.bad("key %q after %q: not in increasing order", e.Key, r.last)
	}
	if !InRange(e.Key, r.Header.RangeStart, r.Header.RangeEnd) {
		return Entry{}, r.bad("key %q outside the listing's range", e.Key)
	}
	if e.Size < 0 {
		return Entry{}, r.bad("key %q has a negative size", e.Key)
	}
	r.started, r.last = true, e.Key
	r.n++
	r.bytes += e.Size
	return e, nil
}

// Trailer returns the trailer once Next has returned io.EOF (nil before).
func (r *Reader) Trailer() *Trailer { return r.trailer }

// Sum returns the size and SHA-256 of the compressed bytes read so far
// (the whole listing once Next has returned io.EOF).
func (r *Reader) Sum() (int64, string) { return r.cr.sum() }

type countReader struct {
	r io.Reader
	digest
}

func (c *countReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.add(p[:n])
	return n, err
}

// ReadAll reads a whole listing, calling fn for each entry (fn may be
// nil), and returns its header, trailer and checksum.
func ReadAll(r io.Reader, name string, fn func(Entry) error) (*Summary, error) {
	lr, err := NewReader(r, name)
	if err != nil {
		return nil, err
	}
	for {
		e, err := lr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, err
		}
		if fn != nil {
			if err := fn(e); err != nil {
				return nil, err
			}
		}
	}
	size, sum := lr.Sum()
	return &Summary{Header: lr.Header, Trailer: *lr.Trailer(), Size: size, SHA256: sum}, nil
}

// Summary is what reading a whole listing tells.
type Summary struct {
	Header  Header
	Trailer Trailer
	Size    int64  // compressed bytes
	SHA256  string // of the compressed bytes
}
