package sshx

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"net"
	"os"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/pkg/sftp"
	"github.com/rs/zerolog"

	"github.com/starrocks-backup/srbackup/pkg/atomicfile"
)

// Transfer describes a finished file transfer.
type Transfer struct {
	Size     int64
	SHA256   string
	Duration time.Duration
}

// BytesPerSec returns the transfer's throughput.
func (t *Transfer) BytesPerSec() float64 {
	if s := t.Duration.Seconds(); s > 0 {
		return float64(t.Size) / s
	}
	return 0
}

// ErrNotFound is returned when the remote file does not exist.
var ErrNotFound = errors.New("no such file")

// Download streams the remote file into a temporary file beside local,
// computing its SHA-256 on the way, then calls verify with the digest and
// size; only when verify returns nil is the temporary file synced and
// renamed to local. On any failure (a dropped connection, a short read, a
// refused digest, a cancelled context) the temporary file is removed and
// nothing appears at local. Memory use does not grow with the file: SFTP
// reads are concurrent (up to 64 requests of 32 KiB in flight) and written
// in order.
func (c *Client) Download(ctx context.Context, remote, local string, verify func(sha string, size int64) error) (*Transfer, error) {
	sc, err := c.SFTP()
	if err != nil {
		return nil, err
	}
	rf, err := sc.Open(remote)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return nil, fmt.Errorf("remote file %s on %s: %w", remote, c.cfg.Addr(), ErrNotFound)
		}
		return nil, c.wrapLost(fmt.Errorf("open remote file %s: %w", remote, err))
	}
	defer rf.Close()
	fi, err := rf.Stat()
	if err != nil {
		return nil, c.wrapLost(fmt.Errorf("stat remote file %s: %w", remote, err))
	}
	if !fi.Mode().IsRegular() {
		return nil, fmt.Errorf("remote %s is not a regular file", remote)
	}
	size := fi.Size()

	tmp, err := atomicfile.Create(local)
	if err != nil {
		return nil, err
	}
	defer tmp.Abort()
	start := time.Now()
	sink := newFileSink(ctx, tmp.File, size, remote)
	n, err := rf.WriteTo(sink)
	if serr := sink.Close(); err == nil && serr != nil {
		return nil, fmt.Errorf("write %s: %w", tmp.Name(), serr)
	}
	if err != nil {
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		return nil, c.wrapLost(fmt.Errorf("download %s: %w after %d of %d bytes; nothing written to %s",
			remote, transferError(err), n, size, local))
	}
	if n != size {
		return nil, fmt.Errorf("download %s: got %d bytes, the file has %d; nothing written to %s", remote, n, size, local)
	}
	t := &Transfer{Size: n, SHA256: sink.sum(), Duration: time.Since(start)}
	if err := verify(t.SHA256, t.Size); err != nil {
		return t, err
	}
	if err := tmp.Commit(0o600); err != nil {
		return t, err
	}
	return t, nil
}

// Upload streams a local file to remote (which must not exist; created
// with mode 0600) with concurrent SFTP writes, computing its SHA-256 on the
// way. On failure the partial remote file is removed.
func (c *Client) Upload(ctx context.Context, local, remote string) (*Transfer, error) {
	sc, err := c.SFTP()
	if err != nil {
		return nil, err
	}
	lf, err := os.Open(local)
	if err != nil {
		return nil, err
	}
	defer lf.Close()
	fi, err := lf.Stat()
	if err != nil {
		return nil, err
	}
	rf, err := sc.OpenFile(remote, os.O_WRONLY|os.O_CREATE|os.O_EXCL)
	if err != nil {
		return nil, c.wrapLost(fmt.Errorf("create remote file %s: %w", remote, err))
	}
	ok := false
	defer func() {
		if !ok {
			rf.Close()
			_ = sc.Remove(remote)
		}
	}()
	if err := rf.Chmod(0o600); err != nil {
		return nil, c.wrapLost(fmt.Errorf("chmod remote file %s: %w", remote, err))
	}
	start := time.Now()
	r := &hashingReader{ctx: ctx, r: lf, h: sha256.New(), size: fi.Size(),
		progress: newProgressWriter(ctx, io.Discard, fi.Size(), "sent", remote)}
	n, err := rf.ReadFrom(r)
	if err != nil {
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		return nil, c.wrapLost(fmt.Errorf("upload to %s: %w after %d of %d bytes", remote, transferError(err), n, fi.Size()))
	}
	if n != fi.Size() {
		return nil, fmt.Errorf("upload to %s: sent %d bytes, the file has %d", remote, n, fi.Size())
	}
	if err := rf.Close(); err != nil {
		return nil, c.wrapLost(fmt.Errorf("upload to %s: %w", remote, err))
	}
	ok = true
	return &Transfer{Size: n, SHA256: hex.EncodeToString(r.h.Sum(nil)), Duration: time.Since(start)}, nil
}

// transferError names a dropped connection as ErrConnectionLost and keeps
// any other error (a remote read error, a full disk) as it is.
func transferError(err error) error {
	var se *sftp.StatusError
	switch {
	case errors.Is(err, sftp.ErrSSHFxConnectionLost), errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF),
		errors.Is(err, net.ErrClosed), errors.Is(err, syscall.ECONNRESET), errors.Is(err, syscall.EPIPE):
		if strings.Contains(err.Error(), ErrConnectionLost.Error()) {
			return ErrConnectionLost
		}
		return fmt.Errorf("%w (%v)", ErrConnectionLost, err)
	case errors.As(err, &se):
		return fmt.Errorf("the host answered: %v", err)
	}
	return err
}

var sha256Script = MustScript(scripts, "scripts/sha256.sh")

var sha256Line = regexp.MustCompile(`^([0-9a-f]{64})\s`)

// RemoteSHA256 runs sha256sum on the host and returns the file's digest.
func (c *Client) RemoteSHA256(ctx context.Context, path string) (string, error) {
	out, err := c.Run(ctx, NewScript(sha256Script).Set("f", path).String())
	if err != nil {
		return "", fmt.Errorf("sha256sum %s on %s: %w", path, c.cfg.Addr(), err)
	}
	m := sha256Line.FindStringSubmatch(strings.TrimLeft(out, "\\"))
	if m == nil {
		return "", fmt.Errorf("sha256sum %s on %s: unexpected output %q", path, c.cfg.Addr(), LastLines(out, 1))
	}
	return m[1], nil
}

// hashingReader hashes what it reads, stops when the context ends, and
// reports its size so that pkg/sftp writes concurrently.
type hashingReader struct {
	ctx      context.Context
	r        io.Reader
	h        hash.Hash
	size     int64
	progress *progressWriter
}

func (r *hashingReader) Size() int64 { return r.size }

func (r *hashingReader) Read(p []byte) (int, error) {
	if err := r.ctx.Err(); err != nil {
		return 0, err
	}
	n, err := r.r.Read(p)
	r.h.Write(p[:n])
	_, _ = r.progress.Write(p[:n])
	return n, err
}

// progressWriter writes to w, stops when the context ends, and logs
// progress every 10 seconds.
type progressWriter struct {
	ctx     context.Context
	w       io.Writer
	total   int64
	done    int64
	verb    string
	name    string
	start   time.Time
	lastLog time.Time
}

func newProgressWriter(ctx context.Context, w io.Writer, total int64, verb, name string) *progressWriter {
	now := time.Now()
	return &progressWriter{ctx: ctx, w: w, total: total, verb: verb, name: name, start: now, lastLog: now}
}

func (p *progressWriter) Write(b []byte) (int, error) {
	if err := p.ctx.Err(); err != nil {
		return 0, err
	}
	n, err := p.w.Write(b)
	p.done += int64(n)
	if now := time.Now(); now.Sub(p.lastLog) >= 10*time.Second {
		p.lastLog = now
		ev := zerolog.Ctx(p.ctx).Info().Str("file", p.name).Int64("bytes", p.done).Int64("total", p.total)
		if s := now.Sub(p.start).Seconds(); s > 0 {
			ev = ev.Float64("bytes_per_s", float64(p.done)/s)
		}
		ev.Msg(p.verb + " so far")
	}
	return n, err
}

// fileSink takes the downloaded bytes in order and, in a goroutine of its
// own, writes them to the file and hashes them, so that the SFTP reads
// never wait for the disk or the hash. Every 32 MiB it starts the kernel's
// writeback of what was written. At most 64 buffers (4 MiB) are queued.
type fileSink struct {
	ctx      context.Context
	f        *os.File
	h        hash.Hash
	ch       chan []byte
	pool     sync.Pool
	done     chan struct{}
	failed   atomic.Pointer[error]
	progress *progressWriter
}

const writebackEvery = 32 << 20

func newFileSink(ctx context.Context, f *os.File, total int64, name string) *fileSink {
	s := &fileSink{ctx: ctx, f: f, h: sha256.New(), ch: make(chan []byte, 64), done: make(chan struct{}),
		progress: newProgressWriter(ctx, io.Discard, total, "fetched", name)}
	go s.run()
	return s
}

func (s *fileSink) run() {
	defer close(s.done)
	var written, flushed int64
	for b := range s.ch {
		if s.failed.Load() == nil {
			if _, err := s.f.Write(b); err != nil {
				s.failed.Store(&err)
			} else {
				s.h.Write(b)
				_, _ = s.progress.Write(b)
				written += int64(len(b))
				if written-flushed >= writebackEvery {
					startWriteback(s.f, flushed, written-flushed)
					flushed = written
				}
			}
		}
		b = b[:0]
		s.pool.Put(&b)
	}
}

func (s *fileSink) Write(p []byte) (int, error) {
	if err := s.failed.Load(); err != nil {
		return 0, *err
	}
	if err := s.ctx.Err(); err != nil {
		return 0, err
	}
	var b []byte
	if v, ok := s.pool.Get().(*[]byte); ok && cap(*v) >= len(p) {
		b = (*v)[:len(p)]
	} else {
		b = make([]byte, len(p), max(len(p), 64<<10))
	}
	copy(b, p)
	s.ch <- b
	return len(p), nil
}

// Close waits for the queued bytes to be written and returns the first
// write error.
func (s *fileSink) Close() error {
	close(s.ch)
	<-s.done
	if err := s.failed.Load(); err != nil {
		return *err
	}
	return nil
}

func (s *fileSink) sum() string { return hex.EncodeToString(s.h.Sum(nil)) }
