package s3xfer

import (
	"context"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"os"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/rs/zerolog"

	"github.com/starrocks-backup/srbackup/pkg/checksum"
	"github.com/starrocks-backup/srbackup/pkg/localfile"
	"github.com/starrocks-backup/srbackup/pkg/s3conf"
	"github.com/starrocks-backup/srbackup/pkg/taskrun"
)

// sender moves the file's bytes to the key: one PutObject for a file of
// one part, else a multipart upload of concurrent parts. Each part is sent
// straight from the file (an io.SectionReader, no copy into a buffer), and
// only once the hasher has read it: the bytes the SDK reads to send are
// checked against the CRC-32 of the bytes hashed, so the object holds
// exactly the bytes whose SHA-256 it carries.
type sender struct {
	p     *uploadPlan
	cl    *s3.Client
	f     *os.File
	src   io.ReaderAt // the file's bytes (f, but for tests)
	fi    os.FileInfo // when opened
	l     layout
	crcs  []uint32 // of each part, as the hasher read it
	ready marks    // part k was read by the hasher

	sum string // the SHA-256 of the bytes hashed, once known

	mu      sync.Mutex
	changed error // the first sign that the file changed
}

func newSender(p *uploadPlan, cl *s3.Client, f *os.File, fi os.FileInfo) *sender {
	l := newLayout(fi.Size(), p.partSize)
	return &sender{p: p, cl: cl, f: f, src: f, fi: fi, l: l, crcs: make([]uint32, l.count), ready: newMarks(l.count)}
}

// send hashes the file and sends it, as Upload tells: while hashing when
// the digest is known in advance, else after.
func (s *sender) send(parent context.Context) (etag, version string, err error) {
	log := zerolog.Ctx(parent)
	start := time.Now()
	// A hasher that fails stops the parts waiting for it (and the rest).
	ctx, stop := context.WithCancelCause(parent)
	h := startHash(ctx, s.src, s.l, nil, s.hashed)
	defer func() { stop(nil); _, _ = h.wait() }()
	go func() {
		if _, err := h.wait(); err != nil {
			stop(s.hashErr(err))
		}
	}()
	digest := func() error {
		sum, err := h.wait()
		if err != nil {
			return s.hashErr(err)
		}
		s.sum = sum
		if s.p.want != "" && sum != s.p.want {
			return fmt.Errorf("%w: %s has sha256 %s, not the expected %s", checksum.ErrMismatch, s.p.localPath, sum, s.p.want)
		}
		return nil
	}
	if s.p.want != "" && s.l.count > 1 {
		log.Info().Str("local_path", s.p.localPath).Int64("size", s.l.size).Str("sha256", s.p.want).
			Msg("uploading; the file is hashed as it is sent")
		etag, version, err = s.multipart(ctx, s.p.want, digest)
	} else if err = digest(); err == nil {
		log.Info().Str("local_path", s.p.localPath).Int64("size", s.l.size).Str("sha256", s.sum).
			Dur("hash_time", time.Since(start)).Msg("file hashed; uploading")
		if s.l.count <= 1 {
			etag, version, err = s.put(ctx, s.sum)
		} else {
			etag, version, err = s.multipart(ctx, s.sum, func() error { return nil })
		}
	}
	if err != nil && ctx.Err() != nil && parent.Err() == nil {
		err = context.Cause(ctx) // what stopped the hasher, not the requests it cut short
	}
	return etag, version, err
}

// hashErr is the error of a hasher that failed: the file ended early (it
// changed), or could not be read.
func (s *sender) hashErr(err error) error {
	if errors.Is(err, errShort) {
		return s.change(err)
	}
	return fmt.Errorf("read %s: %w", s.p.localPath, err)
}

// hashed is the hasher's after-part callback.
func (s *sender) hashed(k int, crc uint32) {
	s.crcs[k] = crc
	s.ready.mark(k)
}

// change records (the first) sign that the file changed and returns it.
func (s *sender) change(err error) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.changed == nil {
		s.changed = fmt.Errorf("%s changed while it was being uploaded: %w", s.p.localPath, err)
	}
	return s.changed
}

func (s *sender) changedErr() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.changed
}

// unchanged fails when the file's size or modification time differ from
// when it was opened.
func (s *sender) unchanged() error {
	now, err := s.f.Stat()
	switch {
	case err != nil:
		return s.change(localfile.Reason(err))
	case now.Size() != s.fi.Size() || !now.ModTime().Equal(s.fi.ModTime()):
		return s.change(fmt.Errorf("%d bytes when opened, %d now", s.fi.Size(), now.Size()))
	}
	return nil
}

// sendOpts are the options of every request that carries file bytes:
// UNSIGNED-PAYLOAD. Over TLS the SDK sends such a body unsigned already;
// over plain HTTP it would read each part twice to hash it for the
// signature, and the server hash it again to check it (measured on 1 GiB
// to loopback MinIO: 2.4 instead of 1.4 CPU seconds in the client, and
// the server's on top, on the same cores). The bytes sent are checked
// against the hashed ones instead (partBody), and the stored SHA-256 at
// every download.
func sendOpts(o *s3.Options) {
	o.APIOptions = append(o.APIOptions, v4.SwapComputePayloadSHA256ForUnsignedPayloadMiddleware)
}

// put sends a file of at most one part with PutObject. The part is read
// whole by the hasher first (meta is then known); a change seen while the
// SDK reads it fails the request, so nothing is written.
func (s *sender) put(ctx context.Context, meta string) (etag, version string, err error) {
	in := &s3.PutObjectInput{
		Bucket:        aws.String(s.p.bucket),
		Key:           aws.String(s.p.key),
		Body:          s.body(0),
		ContentLength: aws.Int64(s.l.size),
		Metadata:      map[string]string{MetaSHA256: meta},
		ContentType:   aws.String(contentType(s.p.key)),
	}
	if !s.p.overwrite {
		in.IfNoneMatch = aws.String("*")
	}
	out, err := s.cl.PutObject(ctx, in, sendOpts)
	if cerr := s.changedErr(); cerr != nil {
		return "", "", cerr
	}
	if err != nil {
		return "", "", err
	}
	return aws.ToString(out.ETag), aws.ToString(out.VersionId), nil
}

// multipart sends the parts concurrently, each once the hasher has read
// it, then calls verify (which waits for the hasher's digest and checks
// it) and completes the upload only if verify and the file's size and
// modification time agree. On any failure, also a cancelled ctx, the
// upload is aborted on a cleanup context: no incomplete upload is left.
func (s *sender) multipart(ctx context.Context, meta string, verify func() error) (etag, version string, err error) {
	create := &s3.CreateMultipartUploadInput{
		Bucket:      aws.String(s.p.bucket),
		Key:         aws.String(s.p.key),
		Metadata:    map[string]string{MetaSHA256: meta},
		ContentType: aws.String(contentType(s.p.key)),
	}
	if s.p.cfg.AWS() {
		create.ChecksumAlgorithm = types.ChecksumAlgorithmCrc32 // as the SDK does for single requests
	}
	up, err := s.cl.CreateMultipartUpload(ctx, create)
	if err != nil {
		return "", "", err
	}
	id := aws.ToString(up.UploadId)
	completed := false
	defer func() {
		if !completed {
			if aerr := s.abort(ctx, id); aerr != nil {
				err = fmt.Errorf("%w; %v", err, aerr)
			}
		}
	}()

	parts := make([]types.CompletedPart, s.l.count)
	err = eachPart(ctx, s.l.count, s.p.concurrency, func(ctx context.Context, k int) error {
		if err := s.ready.wait(ctx, k); err != nil {
			return err
		}
		body := s.body(k)
		in := &s3.UploadPartInput{
			Bucket:        aws.String(s.p.bucket),
			Key:           aws.String(s.p.key),
			UploadId:      aws.String(id),
			PartNumber:    aws.Int32(int32(k + 1)),
			Body:          body,
			ContentLength: aws.Int64(body.Size()),
		}
		if s.p.cfg.AWS() {
			in.ChecksumAlgorithm = types.ChecksumAlgorithmCrc32
		}
		out, err := s.cl.UploadPart(ctx, in, sendOpts)
		if err != nil {
			return err
		}
		parts[k] = types.CompletedPart{PartNumber: in.PartNumber, ETag: out.ETag, ChecksumCRC32: out.ChecksumCRC32}
		return nil
	})
	// A change explains any failure it caused; then the digest, which is
	// wrong when the file is not the one expected (or changed meanwhile).
	if cerr := s.changedErr(); cerr != nil {
		return "", "", cerr
	}
	if err != nil {
		return "", "", err
	}
	if err := verify(); err != nil {
		return "", "", err
	}
	if err := s.unchanged(); err != nil {
		return "", "", err
	}
	done := &s3.CompleteMultipartUploadInput{
		Bucket:          aws.String(s.p.bucket),
		Key:             aws.String(s.p.key),
		UploadId:        aws.String(id),
		MultipartUpload: &types.CompletedMultipartUpload{Parts: parts},
	}
	if !s.p.overwrite {
		done.IfNoneMatch = aws.String("*")
	}
	out, err := s.cl.CompleteMultipartUpload(ctx, done)
	if err != nil {
		return "", "", err
	}
	completed = true
	return aws.ToString(out.ETag), aws.ToString(out.VersionId), nil
}

// abort ends an upload on a cleanup context, so that a cancelled run
// still removes its parts.
func (s *sender) abort(ctx context.Context, id string) error {
	cctx, cancel := taskrun.CleanupContext(ctx, 30*time.Second)
	defer cancel()
	_, err := s.cl.AbortMultipartUpload(cctx, &s3.AbortMultipartUploadInput{
		Bucket: aws.String(s.p.bucket), Key: aws.String(s.p.key), UploadId: aws.String(id)})
	if err != nil && s3conf.Classify(err) != s3conf.NoSuchKey {
		return fmt.Errorf("aborting the multipart upload %s of %s failed, its parts stay on the server until removed "+
			"(mc rm --incomplete, or a lifecycle rule): %v", id, s.p.url(), s3conf.Explain(err, "abort"))
	}
	zerolog.Ctx(ctx).Info().Str("url", s.p.url()).Msg("multipart upload aborted: nothing was written")
	return nil
}

// body returns part k as the SDK reads it to send it.
func (s *sender) body(k int) *partBody {
	off, n := s.l.part(k)
	return &partBody{SectionReader: io.NewSectionReader(s.src, off, n), s: s, k: k}
}

// partBody is one part of the file: an io.SectionReader whose bytes are
// checked each time they have been read to their end (the SDK may read a
// body more than once: to sign it, to retry) against the CRC-32 of the
// bytes the hasher read there, and the file's size and modification time
// against those it had when opened. On a difference the last bytes are
// withheld, so the request cannot complete, and the read fails with an
// error the SDK does not retry.
type partBody struct {
	*io.SectionReader
	s       *sender
	k       int
	pos     int64  // where the next Read continues
	crc     uint32 // of the bytes from 0 to pos
	skipped bool   // a Seek skipped bytes: the crc does not cover 0 to pos
}

func (b *partBody) Read(p []byte) (int, error) {
	n, err := b.SectionReader.Read(p)
	b.crc = crc32.Update(b.crc, crc32.IEEETable, p[:n])
	b.pos += int64(n)
	if b.pos < b.Size() {
		if errors.Is(err, io.EOF) && !b.skipped {
			return n, noRetry{b.s.change(fmt.Errorf("it shrank: part %d ends at byte %d of %d", b.k+1, b.pos, b.Size()))}
		}
		return n, err
	}
	if n == 0 {
		return n, err
	}
	switch {
	case b.skipped:
		return 0, noRetry{b.s.change(fmt.Errorf("part %d was read out of order, it cannot be checked", b.k+1))}
	case b.crc != b.s.crcs[b.k]:
		return 0, noRetry{b.s.change(fmt.Errorf("the bytes read to send part %d are not those hashed", b.k+1))}
	}
	if err := b.s.unchanged(); err != nil {
		return 0, noRetry{err}
	}
	return n, err
}

func (b *partBody) Seek(offset int64, whence int) (int64, error) {
	pos, err := b.SectionReader.Seek(offset, whence)
	if err != nil {
		return pos, err
	}
	switch {
	case pos == 0:
		b.crc, b.skipped = 0, false
	case pos != b.pos:
		b.skipped = true
	}
	b.pos = pos
	return pos, nil
}

// noRetry marks an error the SDK must not retry.
type noRetry struct{ error }

func (e noRetry) Unwrap() error        { return e.error }
func (e noRetry) RetryableError() bool { return false }
