package s3xfer

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
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

// Upload sends a local file to S3 (one PutObject up to one part, else a
// multipart upload of concurrent parts read straight from the file: memory
// does not grow with the part size or the file), stores its SHA-256 as
// metadata, and refuses to replace an existing object unless Overwrite is
// set.
//
// The digest goes into the object's metadata when the upload is created.
// When it is known in advance (SHA256, as the DAGs pass fe-fetch's), the
// file is hashed while the parts are sent, and the upload is completed only
// if the digest matches; otherwise (and for a file of one part) the file is
// hashed first. Either way a part is sent only once it was hashed, and the
// bytes sent are checked against the bytes hashed (see partBody): if the
// file changed, or is not the expected one, the upload is aborted before
// the object is completed, so nothing is written. If it changed later,
// while the object was being completed, the object (a copy of a file in
// flux) is removed again; see removeCreated.
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
	cl, err := p.client(ctx)
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
	s := newSender(p, cl, f, fi)
	etag, version, err := s.send(ctx)
	res.SHA256 = s.sum
	switch {
	case err == nil:
	case s.changedErr() != nil || errors.Is(err, checksum.ErrMismatch):
		return res, fmt.Errorf("%w; the upload was abandoned before the object was completed: nothing was written to %s", err, p.url())
	case s3conf.Classify(err) == s3conf.PreconditionFailed:
		return res, fmt.Errorf("%s already exists (written by someone else during this upload); nothing was replaced", p.url())
	default:
		return res, s3conf.Explain(err, "upload "+p.url())
	}
	if wrong := p.checkCreated(ctx, cl, s, version); wrong != nil {
		if rerr := p.removeCreated(ctx, cl, version, etag); rerr != nil {
			return res, fmt.Errorf("%w; removing the object this run wrote failed, remove it by hand (version %q): %v", wrong, version, rerr)
		}
		log.Warn().Str("url", p.url()).Str("version_id", version).Msg("the object this run wrote was wrong and has been removed")
		return res, fmt.Errorf("%w; the object this run wrote was removed (nothing of this run is left at %s): upload again", wrong, p.url())
	}
	res.ETag = strings.Trim(etag, `"`)
	res.VersionID = version
	res.BytesPerSec = rate(s.l.size, time.Since(start))
	log.Info().Str("url", p.url()).Str("size_h", bytesize.Format(s.l.size)).Str("etag", res.ETag).Msg("uploaded")
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
// changed since it was opened (its size or modification time), or the
// server holds another size or digest than was sent. A check that cannot
// be made (the server unreachable) is not taken for a wrong object.
func (p *uploadPlan) checkCreated(ctx context.Context, cl *s3.Client, s *sender, version string) error {
	if err := s.unchanged(); err != nil {
		return err
	}
	head, err := p.head(ctx, cl, version, "check the uploaded")
	if err != nil {
		return nil // unknown is not wrong: the upload itself succeeded
	}
	if got := aws.ToInt64(head.ContentLength); got != s.l.size || head.Metadata[MetaSHA256] != s.sum {
		return fmt.Errorf("the server holds %d bytes with sha256 %q at %s, not the %d bytes with sha256 %s sent",
			got, head.Metadata[MetaSHA256], p.url(), s.l.size, s.sum)
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
