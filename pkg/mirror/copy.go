package mirror

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync/atomic"
	"time"

	"github.com/minio/minio-go/v7"

	"github.com/starrocks-backup/srbackup/pkg/retry"
	"github.com/starrocks-backup/srbackup/pkg/s3conf"
)

// Copy tuning. Objects up to singlePutMax stream from the GET straight
// into one PUT, with no buffer. Larger ones go up as multipart uploads,
// one part of partSize buffered at a time; bigSlots bounds how many run
// at once, and their buffers are reused, so the streamed path holds at
// most bigSlots × partSize bytes of object data whatever the number of
// workers or the size of the objects.
const (
	defaultSinglePutMax = 64 << 20
	defaultPartSize     = 16 << 20
	defaultBigSlots     = 4
	// maxCopySize is the largest object one CopyObject request may copy;
	// above it the server-side path uses ComposeObject (multipart copy).
	maxCopySize        = 5 << 30
	defaultComposePart = 512 << 20
	composeThreads     = 4
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
	singlePutMax   int64 // streamed: one PUT up to this size
	partSize       int64 // streamed multipart part size
	copySizeLimit  int64 // server-side: CopyObject up to this size, ComposeObject above
	composePart    int64
	// buffers holds bigSlots part buffers (nil until first used): taking
	// one is the right to run a multipart upload.
	buffers chan []byte
	// parts retries a failed part (in memory) on its own; start and
	// aborted serve abortStale.
	parts   retry.Policy
	start   time.Time
	aborted atomic.Int64
}

// newCopier returns the run's copier.
func newCopier(r *run) *copier {
	o := r.o
	c := &copier{
		src: r.srcCl, dst: r.dstCl, srcLoc: r.src, dstLoc: r.dst, serverSide: r.serverSide,
		singlePutMax: orDefault(o.singlePutMax, defaultSinglePutMax), partSize: orDefault(o.partSize, defaultPartSize),
		copySizeLimit: orDefault(o.copySizeLimit, maxCopySize), composePart: orDefault(o.composePart, defaultComposePart),
		buffers: make(chan []byte, min(defaultBigSlots, r.workers)),
		parts:   r.policy(nil), start: r.start,
	}
	for range cap(c.buffers) {
		c.buffers <- nil // allocated when first needed
	}
	return c
}

// copy copies the object at rel and returns its size. It reads the
// source's current state (size, ETag, metadata) with the copy itself, not
// from the listing, so what it records is what it wrote; listedSize only
// tells whether a large-object slot should be taken before reading.
func (c *copier) copy(ctx context.Context, rel string, listedSize int64) (int64, error) {
	if c.serverSide {
		return c.copyServerSide(ctx, rel)
	}
	return c.copyStreamed(ctx, rel, listedSize)
}

// copyStreamed reads the source object and writes it to the target as one
// stream: one PUT up to singlePutMax, a multipart upload above.
func (c *copier) copyStreamed(ctx context.Context, rel string, listedSize int64) (int64, error) {
	var buf []byte
	slot := false
	take := func() error {
		var err error
		if buf, err = c.takeBuffer(ctx); err == nil {
			slot = true
		}
		return err
	}
	defer func() {
		if slot {
			c.giveBuffer(buf)
		}
	}()
	if listedSize > c.singlePutMax {
		// Take the slot before the GET: a response left waiting for one
		// could time out.
		if err := take(); err != nil {
			return 0, err
		}
	}
	srcKey := c.srcLoc.Key(rel)
	body, info, _, err := minio.Core{Client: c.src}.GetObject(ctx, c.srcLoc.Bucket, srcKey, minio.GetObjectOptions{})
	if err != nil {
		return 0, s3conf.Explain(err, "read source "+c.srcLoc.URL(rel))
	}
	defer body.Close()
	if info.Size < 0 {
		return 0, fmt.Errorf("read source %s: the server sent no Content-Length", c.srcLoc.URL(rel))
	}
	opts := putOptions(info, NormalizeETag(info.ETag))
	r := &sourceReader{r: body}
	if info.Size <= c.singlePutMax {
		opts.DisableMultipart = true
		_, err = c.dst.PutObject(ctx, c.dstLoc.Bucket, c.dstLoc.Key(rel), r, info.Size, opts)
	} else {
		if !slot { // larger than listed: the object changed since
			if err := take(); err != nil {
				return 0, err
			}
		}
		buf, err = c.putMultipart(ctx, rel, r, info.Size, opts, buf)
	}
	if err != nil {
		if r.err != nil && !errors.Is(r.err, context.Canceled) {
			return 0, s3conf.Explain(r.err, "read source "+c.srcLoc.URL(rel))
		}
		return 0, s3conf.Explain(err, "write target "+c.dstLoc.URL(rel))
	}
	if r.n != info.Size {
		return 0, fmt.Errorf("read source %s: got %d bytes, want %d", c.srcLoc.URL(rel), r.n, info.Size)
	}
	return info.Size, nil
}

// takeBuffer waits for a large-object slot and returns its part buffer
// (nil until first used).
func (c *copier) takeBuffer(ctx context.Context) ([]byte, error) {
	select {
	case buf := <-c.buffers:
		return buf, nil
	case <-ctx.Done():
		return nil, context.Cause(ctx)
	}
}

// giveBuffer returns a slot, keeping its buffer unless it is a one-off
// size (a huge object's).
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
// credentials on both sides): CopyObject up to 5 GiB, ComposeObject
// (multipart copy) above. It reads the source's metadata first, to write
// it back with the recorded ETag, and copies only that version of the
// source (x-amz-copy-source-if-match).
func (c *copier) copyServerSide(ctx context.Context, rel string) (int64, error) {
	srcKey, dstKey := c.srcLoc.Key(rel), c.dstLoc.Key(rel)
	st, err := c.src.StatObject(ctx, c.srcLoc.Bucket, srcKey, minio.StatObjectOptions{})
	if err != nil {
		return 0, s3conf.Explain(err, "read source "+c.srcLoc.URL(rel))
	}
	po := putOptions(st, NormalizeETag(st.ETag))
	dst := minio.CopyDestOptions{
		Bucket:             c.dstLoc.Bucket,
		Object:             dstKey,
		ReplaceMetadata:    true,
		UserMetadata:       po.UserMetadata,
		ContentType:        po.ContentType,
		ContentEncoding:    po.ContentEncoding,
		ContentDisposition: po.ContentDisposition,
		ContentLanguage:    po.ContentLanguage,
		CacheControl:       po.CacheControl,
		Expires:            po.Expires,
	}
	src := minio.CopySrcOptions{Bucket: c.srcLoc.Bucket, Object: srcKey, MatchETag: st.ETag}
	what := "copy " + c.srcLoc.URL(rel) + " to " + c.dstLoc.URL(rel)
	if st.Size <= c.copySizeLimit {
		_, err = c.dst.CopyObject(ctx, dst, src)
	} else {
		// ComposeObject starts its multipart upload with the user metadata
		// only: the standard headers must travel in that map.
		meta := make(map[string]string, len(po.UserMetadata)+6)
		for k, v := range po.UserMetadata {
			meta["X-Amz-Meta-"+k] = v
		}
		for k, v := range map[string]string{
			"Content-Type": po.ContentType, "Content-Encoding": po.ContentEncoding,
			"Content-Disposition": po.ContentDisposition, "Content-Language": po.ContentLanguage,
			"Cache-Control": po.CacheControl,
		} {
			if v != "" {
				meta[k] = v
			}
		}
		if !po.Expires.IsZero() {
			meta["Expires"] = po.Expires.UTC().Format(http.TimeFormat)
		}
		dst.UserMetadata = meta
		dst.PartSize = uint64(partSizeFor(st.Size, c.composePart))
		dst.NumThreads = composeThreads
		if err = c.abortStale(ctx, dstKey); err == nil {
			_, err = c.dst.ComposeObject(ctx, dst, src)
		}
	}
	if err != nil {
		return 0, s3conf.Explain(err, what)
	}
	return st.Size, nil
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
