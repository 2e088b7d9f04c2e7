package mirror

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"sync"

	"github.com/minio/minio-go/v7"
	"github.com/rs/zerolog"

	"github.com/starrocks-backup/srbackup/pkg/s3conf"
	"github.com/starrocks-backup/srbackup/pkg/taskrun"
)

// An object above the single-request limit is copied as a multipart
// upload whose parts are copied --part-workers at once: each part a
// ranged GET of the source into a buffer, then an UploadPart signed with
// its SHA-256 (the server checks it); or, on the same server, an
// UploadPartCopy of the range. One pool of --part-workers tokens bounds
// the parts in flight over all objects, and each streamed part holds a
// buffer of partSize: at most --part-workers × partSize bytes of object
// data whatever the number of workers or the size of the objects. Every
// part reads the version of the source that was read first (If-Match, or
// the backup set's version), so that an object changing during the copy
// fails instead of mixing. A failed part is retried on its own
// (c.parts); a copy that fails or is cancelled aborts its upload, also
// when the run is cancelled (taskrun.CleanupContext): no upload is left
// behind to hold storage.

// partFunc copies part n, [off, off+length) of the source, into upload id.
type partFunc func(ctx context.Context, id string, n int, off, length int64) (minio.CompletePart, error)

// copyInParts writes the target of rel as a multipart upload of size
// bytes in parts of partSize, with the options (metadata) opts, each part
// copied by part, up to partWorkers at once.
func (c *copier) copyInParts(ctx context.Context, rel string, size, partSize int64, opts minio.PutObjectOptions, part partFunc) (minio.UploadInfo, error) {
	core, bucket, key := minio.Core{Client: c.dst}, c.dstLoc.Bucket, c.dstLoc.Key(rel)
	what := "write target " + c.dstLoc.URL(rel)
	if err := c.abortStale(ctx, key); err != nil {
		return minio.UploadInfo{}, err
	}
	id, err := core.NewMultipartUpload(ctx, bucket, key, opts)
	if err != nil {
		return minio.UploadInfo{}, s3conf.Explain(err, what)
	}
	count := int((size + partSize - 1) / partSize)
	parts := make([]minio.CompletePart, count)
	pctx, fail := context.WithCancelCause(ctx)
	defer fail(nil)
	numbers := make(chan int)
	var wg sync.WaitGroup
	for range min(c.partWorkers, count) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for n := range numbers {
				off := int64(n-1) * partSize
				err := c.parts.Do(pctx, func() (err error) {
					parts[n-1], err = part(pctx, id, n, off, min(partSize, size-off))
					return err
				})
				if err != nil {
					fail(err)
					return
				}
			}
		}()
	}
feed:
	for n := 1; n <= count; n++ {
		select {
		case numbers <- n:
		case <-pctx.Done():
			break feed
		}
	}
	close(numbers)
	wg.Wait()
	err = context.Cause(pctx)
	var up minio.UploadInfo
	if err == nil {
		up, err = core.CompleteMultipartUpload(ctx, bucket, key, id, parts, minio.PutObjectOptions{})
		err = s3conf.Explain(err, what)
	}
	if err != nil {
		actx, cancel := taskrun.CleanupContext(ctx, abortTimeout)
		defer cancel()
		if aerr := core.AbortMultipartUpload(actx, bucket, key, id); aerr != nil {
			zerolog.Ctx(ctx).Warn().Str("key", key).Str("error", s3conf.Explain(aerr, "abort").Error()).
				Msg("could not abort the multipart upload of a failed copy (the next run aborts it)")
		}
		return up, err
	}
	return up, nil
}

// copyStreamedParts copies a large object across servers in parts.
func (c *copier) copyStreamedParts(ctx context.Context, src Entry) (written, error) {
	rel := src.Key
	srcKey := c.srcLoc.Key(rel)
	st, err := c.src.StatObject(ctx, c.srcLoc.Bucket, srcKey, minio.StatObjectOptions(c.readOptions(src)))
	if err != nil {
		return written{}, s3conf.Explain(err, "read source "+c.srcLoc.URL(rel))
	}
	w := written{Size: st.Size, SourceETag: NormalizeETag(st.ETag)}
	// read gives each part options of its own: GetObjectOptions holds its
	// headers in a map, so a copy of one value would share the Range of
	// parts read at once (a part could get another part's bytes).
	read := func(off, length int64) minio.GetObjectOptions {
		o := c.readOptions(src)
		if o.VersionID == "" {
			_ = o.SetMatchETag(st.ETag) // the version read first, in every part
		}
		_ = o.SetRange(off, off+length-1)
		return o
	}
	core := minio.Core{Client: c.dst}
	up, err := c.copyInParts(ctx, rel, st.Size, partSizeFor(st.Size, c.partSize), putOptions(st, w.SourceETag),
		func(ctx context.Context, id string, n int, off, length int64) (minio.CompletePart, error) {
			buf, err := c.takeBuffer(ctx)
			if err != nil {
				return minio.CompletePart{}, err
			}
			defer func() { c.giveBuffer(buf) }()
			if int64(cap(buf)) < length {
				buf = make([]byte, length)
			}
			part := buf[:length]
			body, _, _, err := minio.Core{Client: c.src}.GetObject(ctx, c.srcLoc.Bucket, srcKey, read(off, length))
			if err == nil {
				_, err = io.ReadFull(body, part)
				body.Close()
			}
			if err != nil {
				return minio.CompletePart{}, s3conf.Explain(err, fmt.Sprintf("read source %s (part %d)", c.srcLoc.URL(rel), n))
			}
			sum := sha256.Sum256(part)
			p, err := core.PutObjectPart(ctx, c.dstLoc.Bucket, c.dstLoc.Key(rel), id, n, bytes.NewReader(part), length,
				minio.PutObjectPartOptions{Sha256Hex: hex.EncodeToString(sum[:]), DisableContentSha256: true})
			if err != nil {
				return minio.CompletePart{}, s3conf.Explain(err, fmt.Sprintf("write target %s (part %d)", c.dstLoc.URL(rel), n))
			}
			return minio.CompletePart{PartNumber: n, ETag: p.ETag}, nil
		})
	if err != nil {
		return written{}, err
	}
	w.ETag, w.VersionID = NormalizeETag(up.ETag), up.VersionID
	return w, nil
}

// copyServerSideParts has the server copy a large object in parts
// (UploadPartCopy), the source pinned to the version st describes.
func (c *copier) copyServerSideParts(ctx context.Context, rel string, st minio.ObjectInfo, po minio.PutObjectOptions) (minio.UploadInfo, error) {
	h := make(http.Header)
	minio.CopySrcOptions{Bucket: c.srcLoc.Bucket, Object: c.srcLoc.Key(rel), VersionID: st.VersionID, MatchETag: st.ETag}.Marshal(h)
	source := make(map[string]string, len(h))
	for k := range h {
		source[k] = h.Get(k)
	}
	core := minio.Core{Client: c.dst}
	return c.copyInParts(ctx, rel, st.Size, partSizeFor(st.Size, c.copyPart), po,
		func(ctx context.Context, id string, n int, off, length int64) (minio.CompletePart, error) {
			tok, err := c.takeBuffer(ctx) // a token only: the server moves the bytes
			if err != nil {
				return minio.CompletePart{}, err
			}
			defer c.giveBuffer(tok)
			p, err := core.CopyObjectPart(ctx, c.srcLoc.Bucket, c.srcLoc.Key(rel), c.dstLoc.Bucket, c.dstLoc.Key(rel), id, n, off, length, source)
			if err != nil {
				return minio.CompletePart{}, s3conf.Explain(err, fmt.Sprintf("copy %s to %s (part %d)", c.srcLoc.URL(rel), c.dstLoc.URL(rel), n))
			}
			return p, nil
		})
}

// abortStale aborts the incomplete multipart uploads of key begun before
// this run: a run stopped mid-copy (killed, or its target gone when it
// tried to abort) leaves one behind, holding storage. The key is about to
// be written again by this run, so no upload of it can still be wanted.
// Called only before a multipart copy (large objects): one listing request
// each.
func (c *copier) abortStale(ctx context.Context, key string) error {
	core, bucket := minio.Core{Client: c.dst}, c.dstLoc.Bucket
	var res minio.ListMultipartUploadsResult
	err := c.parts.Do(ctx, func() (err error) {
		res, err = core.ListMultipartUploads(ctx, bucket, key, "", "", "", 1000)
		return err
	})
	if err != nil {
		return s3conf.Explain(err, "list the multipart uploads of target "+c.dstLoc.URL(key[len(c.dstLoc.Prefix):]))
	}
	for _, u := range res.Uploads {
		if u.Key != key || !u.Initiated.Before(c.start) {
			continue
		}
		if err := core.AbortMultipartUpload(ctx, bucket, key, u.UploadID); err != nil && minio.ToErrorResponse(err).Code != "NoSuchUpload" {
			return s3conf.Explain(err, "abort an earlier run's multipart upload of target "+c.dstLoc.URL(key[len(c.dstLoc.Prefix):]))
		}
		c.aborted.Add(1)
		zerolog.Ctx(ctx).Info().Str("key", key).Time("initiated", u.Initiated).
			Msg("aborted an incomplete multipart upload left by an earlier run")
	}
	return nil
}
