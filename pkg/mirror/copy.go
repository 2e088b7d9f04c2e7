package mirror

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync/atomic"
	"time"

	"github.com/minio/minio-go/v7"

	"github.com/starrocks-backup/srbackup/pkg/retry"
	"github.com/starrocks-backup/srbackup/pkg/s3conf"
)

// Copy tuning. Objects up to singlePutMax stream from the GET straight
// into one PUT (or one CopyObject on the same server), with no buffer.
// Larger ones are copied in parts, --part-workers at once (multipart.go):
// partSize each across servers (one buffer per part in flight), copyPart
// each on the same server (the server moves the bytes).
const (
	defaultSinglePutMax = 64 << 20
	defaultPartSize     = 8 << 20
	defaultCopyPart     = 64 << 20
	// DefaultPartWorkers is how many parts are copied at once, over all
	// large objects: 8 parts of 8 MiB, 64 MiB of buffers at most.
	DefaultPartWorkers = 8
	maxPartWorkers     = 64
	maxParts           = 10000
	// abortTimeout bounds the abort of a failed multipart upload, which
	// runs even when the run is cancelled (an upload left behind holds
	// storage until a lifecycle rule removes it).
	abortTimeout = 30 * time.Second
)

// copier copies one object, server-side or streamed.
type copier struct {
	src, dst       *minio.Client // the same client when serverSide
	srcLoc, dstLoc Location
	serverSide     bool
	singlePutMax   int64 // one request up to this size, parts above
	partSize       int64 // streamed part size
	copyPart       int64 // server-side part size
	partWorkers    int
	// buffers holds partWorkers part buffers (nil until first used):
	// taking one is the right to copy a part.
	buffers chan []byte
	// parts retries a failed part on its own; start and aborted serve
	// abortStale.
	parts   retry.Policy
	start   time.Time
	aborted atomic.Int64
	// pinned (a restore from a backup set) reads the source object at the
	// version the set recorded, or, without one, only while it still has
	// the recorded ETag (If-Match): never some other content.
	pinned bool
}

// written is what one copy wrote.
type written struct {
	Size       int64
	SourceETag string // the source's ETag, as read by the copy
	ETag       string // the target object's
	VersionID  string // the target object's version (versioned targets)
}

// newCopier returns the run's copier.
func newCopier(r *run) *copier {
	o := r.o
	c := &copier{
		src: r.srcCl, dst: r.dstCl, srcLoc: r.src, dstLoc: r.dst, serverSide: r.serverSide,
		singlePutMax: orDefault(o.singlePutMax, defaultSinglePutMax), partSize: orDefault(o.partSize, defaultPartSize),
		copyPart: orDefault(o.copyPart, defaultCopyPart), partWorkers: r.partWorkers,
		buffers: make(chan []byte, r.partWorkers),
		parts:   r.policy(nil), start: r.start, pinned: o.FromManifest != "",
	}
	for range cap(c.buffers) {
		c.buffers <- nil // allocated when first needed
	}
	return c
}

// copy copies the object src names and says what it wrote. It reads the
// source's current state (size, ETag, metadata) with the copy itself, not
// from the listing, so what it records is what it wrote; the listed size
// only tells whether a large-object slot should be taken before reading.
func (c *copier) copy(ctx context.Context, src Entry) (written, error) {
	if c.serverSide {
		return c.copyServerSide(ctx, src)
	}
	return c.copyStreamed(ctx, src)
}

// readOptions are the options of the source's GET or HEAD: pinned to the
// set's version or ETag in a restore from a backup set.
func (c *copier) readOptions(src Entry) minio.GetObjectOptions {
	var o minio.GetObjectOptions
	if c.pinned {
		if src.VersionID != "" {
			o.VersionID = src.VersionID
		} else if src.ETag != "" {
			_ = o.SetMatchETag(src.ETag)
		}
	}
	return o
}

// copyStreamed reads the source object and writes it to the target: as
// one stream into one PUT up to singlePutMax, in parts above.
func (c *copier) copyStreamed(ctx context.Context, src Entry) (written, error) {
	rel := src.Key
	if src.Size > c.singlePutMax {
		return c.copyStreamedParts(ctx, src)
	}
	body, info, _, err := minio.Core{Client: c.src}.GetObject(ctx, c.srcLoc.Bucket, c.srcLoc.Key(rel), c.readOptions(src))
	if err != nil {
		return written{}, s3conf.Explain(err, "read source "+c.srcLoc.URL(rel))
	}
	defer body.Close()
	if info.Size < 0 {
		return written{}, fmt.Errorf("read source %s: the server sent no Content-Length", c.srcLoc.URL(rel))
	}
	if info.Size > c.singlePutMax { // larger than listed: the object changed since
		body.Close()
		src.Size = info.Size
		return c.copyStreamedParts(ctx, src)
	}
	w := written{Size: info.Size, SourceETag: NormalizeETag(info.ETag)}
	opts := putOptions(info, w.SourceETag)
	opts.DisableMultipart = true
	r := &sourceReader{r: body}
	up, err := c.dst.PutObject(ctx, c.dstLoc.Bucket, c.dstLoc.Key(rel), r, info.Size, opts)
	if err != nil {
		if r.err != nil && !errors.Is(r.err, context.Canceled) {
			return written{}, s3conf.Explain(r.err, "read source "+c.srcLoc.URL(rel))
		}
		return written{}, s3conf.Explain(err, "write target "+c.dstLoc.URL(rel))
	}
	if r.n != info.Size {
		return written{}, fmt.Errorf("read source %s: got %d bytes, want %d", c.srcLoc.URL(rel), r.n, info.Size)
	}
	w.ETag, w.VersionID = NormalizeETag(up.ETag), up.VersionID
	return w, nil
}

// takeBuffer waits for a part token and returns its buffer (nil until
// first used).
func (c *copier) takeBuffer(ctx context.Context) ([]byte, error) {
	select {
	case buf := <-c.buffers:
		return buf, nil
	case <-ctx.Done():
		return nil, context.Cause(ctx)
	}
}

// giveBuffer returns a part token, keeping its buffer unless it is a
// one-off size (a huge object's).
func (c *copier) giveBuffer(buf []byte) {
	if int64(cap(buf)) > c.partSize {
		buf = nil
	}
	c.buffers <- buf
}

// sourceReader remembers a read error, to tell a failed read of the source
// from a failed write to the target, and counts the bytes read.
type sourceReader struct {
	r   io.Reader
	n   int64
	err error
}

func (s *sourceReader) Read(p []byte) (int, error) {
	n, err := s.r.Read(p)
	s.n += int64(n)
	if err != nil && err != io.EOF {
		s.err = err
	}
	return n, err
}

// copyServerSide has the server copy the object (same endpoint and
// credentials on both sides): CopyObject up to singlePutMax, in parts
// above (multipart.go). It reads the source's metadata first, to write it
// back with the recorded ETag, and copies only that version of the source
// (x-amz-copy-source-if-match).
func (c *copier) copyServerSide(ctx context.Context, from Entry) (written, error) {
	rel := from.Key
	srcKey, dstKey := c.srcLoc.Key(rel), c.dstLoc.Key(rel)
	st, err := c.src.StatObject(ctx, c.srcLoc.Bucket, srcKey, c.readOptions(from))
	if err != nil {
		return written{}, s3conf.Explain(err, "read source "+c.srcLoc.URL(rel))
	}
	po := putOptions(st, NormalizeETag(st.ETag))
	var up minio.UploadInfo
	if st.Size > c.singlePutMax {
		up, err = c.copyServerSideParts(ctx, rel, st, po)
	} else {
		up, err = c.dst.CopyObject(ctx, minio.CopyDestOptions{
			Bucket: c.dstLoc.Bucket, Object: dstKey, ReplaceMetadata: true, UserMetadata: po.UserMetadata,
			ContentType: po.ContentType, ContentEncoding: po.ContentEncoding, ContentDisposition: po.ContentDisposition,
			ContentLanguage: po.ContentLanguage, CacheControl: po.CacheControl, Expires: po.Expires,
		}, minio.CopySrcOptions{Bucket: c.srcLoc.Bucket, Object: srcKey, MatchETag: st.ETag, VersionID: st.VersionID})
		err = s3conf.Explain(err, "copy "+c.srcLoc.URL(rel)+" to "+c.dstLoc.URL(rel))
	}
	if err != nil {
		return written{}, err
	}
	return written{Size: st.Size, SourceETag: NormalizeETag(st.ETag), ETag: NormalizeETag(up.ETag), VersionID: up.VersionID}, nil
}

// putOptions carries the source's content headers and user metadata to the
// target, and records the source ETag.
func putOptions(info minio.ObjectInfo, etag string) minio.PutObjectOptions {
	meta := make(map[string]string, len(info.UserMetadata)+1)
	for k, v := range info.UserMetadata {
		if strings.EqualFold(strings.TrimPrefix(strings.ToLower(k), "x-amz-meta-"), MetaSourceETag) {
			continue // the record of an earlier hop: replaced by this copy's
		}
		meta[k] = v
	}
	meta[MetaSourceETag] = etag
	return minio.PutObjectOptions{
		UserMetadata:       meta,
		ContentType:        info.ContentType,
		ContentEncoding:    contentEncoding(info.Metadata.Get("Content-Encoding")),
		ContentDisposition: info.Metadata.Get("Content-Disposition"),
		ContentLanguage:    info.Metadata.Get("Content-Language"),
		CacheControl:       info.Metadata.Get("Cache-Control"),
		Expires:            info.Expires,
	}
}

// contentEncoding is the object's Content-Encoding without aws-chunked,
// which is how a request body was sent, not what the object holds (some
// servers, versitygw, keep it: "aws-chunked,gzip").
func contentEncoding(v string) string {
	var keep []string
	for _, e := range strings.Split(v, ",") {
		if e = strings.TrimSpace(e); e != "" && !strings.EqualFold(e, "aws-chunked") {
			keep = append(keep, e)
		}
	}
	return strings.Join(keep, ",")
}

// partSizeFor returns base, or a larger multiple of 1 MiB when an object
// of size would need more than 10,000 parts of base.
func partSizeFor(size, base int64) int64 {
	if least := (size + maxParts - 1) / maxParts; least > base {
		return (least + 1<<20 - 1) &^ (1<<20 - 1)
	}
	return base
}
