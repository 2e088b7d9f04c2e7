package mirror

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"io"

	"github.com/minio/minio-go/v7"
	"github.com/rs/zerolog"

	"github.com/starrocks-backup/srbackup/pkg/s3conf"
	"github.com/starrocks-backup/srbackup/pkg/taskrun"
)

// putMultipart writes size bytes of body as a multipart upload, one part
// at a time through buf (grown when too small; the buffer used is
// returned). Each part is signed with its SHA-256 (the server checks it)
// and, being in memory, retried on its own (c.parts; the object is then
// not retried whole: retry.GaveUp). A failed upload is aborted.
func (c *copier) putMultipart(ctx context.Context, rel string, body io.Reader, size int64, opts minio.PutObjectOptions, buf []byte) (_ []byte, err error) {
	partSize := partSizeFor(size, c.partSize)
	if int64(cap(buf)) < partSize {
		buf = make([]byte, partSize)
	}
	core, bucket, key := minio.Core{Client: c.dst}, c.dstLoc.Bucket, c.dstLoc.Key(rel)
	if err := c.abortStale(ctx, key); err != nil {
		return buf, err
	}
	id, err := core.NewMultipartUpload(ctx, bucket, key, opts)
	if err != nil {
		return buf, err
	}
	defer func() {
		if err != nil {
			actx, cancel := taskrun.CleanupContext(ctx, abortTimeout)
			_ = core.AbortMultipartUpload(actx, bucket, key, id)
			cancel()
		}
	}()
	var parts []minio.CompletePart
	for n, done := 1, int64(0); done < size; n++ {
		part := buf[:min(partSize, size-done)]
		if _, err := io.ReadFull(body, part); err != nil {
			return buf, err
		}
		sum := sha256.Sum256(part)
		var p minio.ObjectPart
		err := c.parts.Do(ctx, func() (err error) {
			p, err = core.PutObjectPart(ctx, bucket, key, id, n, bytes.NewReader(part), int64(len(part)),
				minio.PutObjectPartOptions{Sha256Hex: hex.EncodeToString(sum[:]), DisableContentSha256: true})
			return err
		})
		if err != nil {
			return buf, err
		}
		parts = append(parts, minio.CompletePart{PartNumber: n, ETag: p.ETag})
		done += int64(len(part))
	}
	_, err = core.CompleteMultipartUpload(ctx, bucket, key, id, parts, minio.PutObjectOptions{})
	return buf, err
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
