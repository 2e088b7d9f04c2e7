package s3xfer

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"os"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/s3/transfermanager"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/rs/zerolog"

	"github.com/starrocks-backup/srbackup/pkg/bytesize"
	"github.com/starrocks-backup/srbackup/pkg/checksum"
	"github.com/starrocks-backup/srbackup/pkg/localfile"
	"github.com/starrocks-backup/srbackup/pkg/s3conf"
	"github.com/starrocks-backup/srbackup/pkg/taskrun"
	"github.com/starrocks-backup/srbackup/pkg/usage"
)

// UploadOptions are the inputs of Upload.
type UploadOptions struct {
	Transfer
	Overwrite bool
	// SHA256, when set, is the digest the file must have (e.g. the one
	// fe-fetch reported): a file that differs is not uploaded.
	SHA256 string
}

// UploadResult is s3-upload's part of the result line.
type UploadResult struct {
	Object
	ETag string `json:"etag,omitempty"`
}

// uploadPlan is checked UploadOptions.
type uploadPlan struct {
	*plan
	overwrite bool
	want      string // expected SHA-256, normalized; "" for none
}

func (o UploadOptions) validate() (*uploadPlan, error) {
	if o.Key == "" {
		return nil, usage.Errorf("--key is required")
	}
	want := checksum.Normalize(o.SHA256)
	if want != "" && !checksum.IsSHA256(want) {
		return nil, usage.Errorf("--sha256 %q is not a hex SHA-256 digest", o.SHA256)
	}
	p, err := o.Transfer.validate()
	if err != nil {
		return nil, err
	}
	return &uploadPlan{plan: p, overwrite: o.Overwrite, want: want}, nil
}

// Upload streams a local file to S3 with concurrent multipart parts (memory
// is bounded by part size × concurrency, whatever the file's size), stores
// its SHA-256 as metadata, and refuses to replace an existing object unless
// Overwrite is set.
//
// The bytes sent are hashed again as they are read: if the file changed
// after it was hashed, the upload is abandoned before the object is
// completed, so nothing is written. If it changed later, while the object
// was being completed, the object (a copy of a file in flux) is removed
// again; see removeCreated.
func Upload(ctx context.Context, o UploadOptions) (*UploadResult, error) {
	log := zerolog.Ctx(ctx)
	p, err := o.validate()
	if err != nil {
		return nil, err
	}
	f, fi, err := localfile.OpenRegular("--local-path", p.localPath)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	res := &UploadResult{Object: p.object()}
	res.Size = fi.Size()
	cl, tm, err := p.clients(ctx)
	if err != nil {
		return res, err
	}
	if err := p.headBucket(ctx, cl); err != nil {
		return res, err
	}
	if !p.overwrite {
		if err := p.refuseExisting(ctx, cl); err != nil {
			return res, err
		}
	}

	start := time.Now()
	sum, n, err := hashFile(ctx, f)
	if err != nil {
		return res, fmt.Errorf("read %s: %w", p.localPath, err)
	}
	res.SHA256 = sum
	if p.want != "" && p.want != sum {
		return res, fmt.Errorf("%s has sha256 %s, not the expected %s: refusing to upload it", p.localPath, sum, p.want)
	}
	log.Info().Str("local_path", p.localPath).Int64("size", n).Str("sha256", sum).
		Dur("hash_time", time.Since(start)).Msg("file hashed; uploading")

	src := &source{ctx: ctx, f: f, fi: fi, size: n, want: sum, h: sha256.New()}
	in := &transfermanager.UploadObjectInput{
		Bucket:        aws.String(p.bucket),
		Key:           aws.String(p.key),
		Body:          src, // a plain reader: read once, in order, so that it can be hashed
		ContentLength: aws.Int64(n),
		Metadata:      map[string]string{MetaSHA256: sum},
		ContentType:   aws.String(contentType(p.key)),
	}
	if !p.overwrite {
		// Closes the race between the check above and the write: the server
		// refuses the write if the key appeared meanwhile.
		in.IfNoneMatch = aws.String("*")
	}
	upStart := time.Now()
	out, err := tm.UploadObject(ctx, in)
	switch {
	case src.changed != nil:
		return res, fmt.Errorf("%w; the upload was abandoned before the object was completed: nothing was written to %s", src.changed, p.url())
	case err != nil && s3conf.Classify(err) == s3conf.PreconditionFailed:
		return res, fmt.Errorf("%s already exists (written by someone else during this upload); nothing was replaced", p.url())
	case err != nil:
		return res, s3conf.Explain(err, "upload "+p.url())
	}
	etag, version := aws.ToString(out.ETag), aws.ToString(out.VersionID)
	if wrong := p.checkCreated(ctx, cl, src, version); wrong != nil {
		if rerr := p.removeCreated(ctx, cl, version, etag); rerr != nil {
			return res, fmt.Errorf("%w; removing the object this run wrote failed, remove it by hand (version %q): %v", wrong, version, rerr)
		}
		log.Warn().Str("url", p.url()).Str("version_id", version).Msg("the object this run wrote was wrong and has been removed")
		return res, fmt.Errorf("%w; the object this run wrote was removed (nothing of this run is left at %s): upload again", wrong, p.url())
	}
	res.ETag = strings.Trim(etag, `"`)
	res.VersionID = version
	res.BytesPerSec = rate(n, time.Since(upStart))
	log.Info().Str("url", p.url()).Str("size_h", bytesize.Format(n)).Str("etag", res.ETag).Msg("uploaded")
	return res, nil
}

func (p *uploadPlan) refuseExisting(ctx context.Context, cl *s3.Client) error {
	_, err := cl.HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String(p.bucket), Key: aws.String(p.key)})
	if err == nil {
		return fmt.Errorf("%s already exists: refusing to replace it (use a new key per run, or --overwrite)", p.url())
	}
	if s3conf.Classify(err) == s3conf.NoSuchKey {
		return nil
	}
	return s3conf.Explain(err, "check "+p.url())
}

// checkCreated tells whether the object just written is wrong: the file
// changed since it was hashed (its size or modification time), or the
// server holds another size or digest than was sent. A check that cannot
// be made (the server unreachable) is not taken for a wrong object.
func (p *uploadPlan) checkCreated(ctx context.Context, cl *s3.Client, src *source, version string) error {
	if err := src.unchanged(); err != nil {
		return err
	}
	head, err := p.head(ctx, cl, version, "check the uploaded")
	if err != nil {
		return nil // unknown is not wrong: the upload itself succeeded
	}
	if got := aws.ToInt64(head.ContentLength); got != src.size || head.Metadata[MetaSHA256] != src.want {
		return fmt.Errorf("the server holds %d bytes with sha256 %q at %s, not the %d bytes with sha256 %s sent",
			got, head.Metadata[MetaSHA256], p.url(), src.size, src.want)
	}
	return nil
}

// removeCreated deletes the object this run wrote and found wrong. On a
// versioned bucket it deletes that exact version: no delete marker is
// added, and the version before it, if any, is the current one again (a
// plain delete would hide a good older object behind a marker). On an
// unversioned bucket it deletes the key while it still holds this run's
// ETag: an object another writer put there since is left alone. It runs
// on a cleanup context, so a cancelled run still removes what it wrote.
func (p *uploadPlan) removeCreated(ctx context.Context, cl *s3.Client, version, etag string) error {
	ctx, cancel := taskrun.CleanupContext(ctx, 30*time.Second)
	defer cancel()
	in := &s3.DeleteObjectInput{Bucket: aws.String(p.bucket), Key: aws.String(p.key)}
	if version != "" {
		in.VersionId = aws.String(version)
	} else {
		head, err := cl.HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String(p.bucket), Key: aws.String(p.key)})
		switch {
		case err != nil && s3conf.Classify(err) == s3conf.NoSuchKey:
			return nil
		case err != nil:
			return s3conf.Explain(err, "check "+p.url())
		case strings.Trim(aws.ToString(head.ETag), `"`) != strings.Trim(etag, `"`):
			return fmt.Errorf("%s now holds another object (ETag %s, not %s): left alone", p.url(), aws.ToString(head.ETag), etag)
		}
	}
	_, err := cl.DeleteObject(ctx, in)
	return s3conf.Explain(err, "remove "+p.url())
}

// source is the upload's body: the file's first size bytes, read in
// order and hashed. At their end it fails (and the transfer manager
// abandons the upload, aborting a multipart one) unless they hash to want
// and the file still has the size and modification time it had when it
// was hashed. The error is kept in changed.
type source struct {
	ctx     context.Context
	f       *os.File
	fi      os.FileInfo
	size, n int64
	want    string
	h       hash.Hash
	changed error
}

func (s *source) Read(b []byte) (int, error) {
	if err := s.ctx.Err(); err != nil {
		return 0, err
	}
	if s.n >= s.size {
		if err := s.unchanged(); err != nil {
			return 0, err
		}
		if sum := hex.EncodeToString(s.h.Sum(nil)); sum != s.want {
			s.changed = fmt.Errorf("%s changed while it was being uploaded: the bytes read have sha256 %s, not the %s hashed before", s.f.Name(), sum, s.want)
			return 0, s.changed
		}
		return 0, io.EOF
	}
	if rest := s.size - s.n; int64(len(b)) > rest {
		b = b[:rest]
	}
	k, err := s.f.Read(b)
	s.h.Write(b[:k])
	s.n += int64(k)
	if errors.Is(err, io.EOF) {
		if s.n < s.size {
			s.changed = fmt.Errorf("%s changed while it was being uploaded: it shrank below the %d bytes hashed", s.f.Name(), s.size)
			return k, s.changed
		}
		err = nil
	}
	return k, err
}

// unchanged fails when the file's size or modification time differ from
// when it was opened.
func (s *source) unchanged() error {
	now, err := s.f.Stat()
	if err != nil {
		s.changed = fmt.Errorf("%s: %w", s.f.Name(), localfile.Reason(err))
	} else if now.Size() != s.fi.Size() || !now.ModTime().Equal(s.fi.ModTime()) {
		s.changed = fmt.Errorf("%s changed while it was being uploaded (%d bytes when hashed, %d now)", s.f.Name(), s.fi.Size(), now.Size())
	}
	return s.changed
}

func contentType(key string) string {
	switch {
	case strings.HasSuffix(key, ".tar.gz"), strings.HasSuffix(key, ".tgz"), strings.HasSuffix(key, ".gz"):
		return "application/gzip"
	case strings.HasSuffix(key, ".tar"):
		return "application/x-tar"
	case strings.HasSuffix(key, ".json"):
		return "application/json"
	}
	return "application/octet-stream"
}
