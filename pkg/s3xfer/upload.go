package s3xfer

import (
	"context"
	"fmt"
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
	Endpoint    string  `json:"endpoint"`
	Bucket      string  `json:"bucket"`
	Key         string  `json:"key"`
	Size        int64   `json:"size"`
	SHA256      string  `json:"sha256,omitempty"`
	ETag        string  `json:"etag,omitempty"`
	VersionID   string  `json:"version_id,omitempty"`
	BytesPerSec float64 `json:"bytes_per_s,omitempty"`
}

// Upload streams a local file to S3 with concurrent multipart parts (memory
// is bounded by part size × concurrency, whatever the file's size), stores
// its SHA-256 as metadata, and refuses to replace an existing object unless
// Overwrite is set.
func Upload(ctx context.Context, o UploadOptions) (*UploadResult, error) {
	log := zerolog.Ctx(ctx)
	if o.LocalPath == "" {
		return nil, usage.Errorf("--local-path is required")
	}
	if o.Key == "" {
		return nil, usage.Errorf("--key is required")
	}
	if err := o.validate(); err != nil {
		return nil, err
	}
	o.SHA256 = checksum.Normalize(o.SHA256)
	if o.SHA256 != "" && !checksum.IsSHA256(o.SHA256) {
		return nil, usage.Errorf("--sha256 %q is not a hex SHA-256 digest", o.SHA256)
	}
	f, fi, err := localfile.OpenRegular("--local-path", o.LocalPath)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	cfg, cl, tm, err := o.clients(ctx)
	if err != nil {
		return nil, err
	}
	res := &UploadResult{Endpoint: cfg.String(), Bucket: o.Bucket, Key: o.Key, Size: fi.Size()}
	if err := o.headBucket(ctx, cl); err != nil {
		return res, err
	}
	if !o.Overwrite {
		if err := o.refuseExisting(ctx, cl); err != nil {
			return res, err
		}
	}

	start := time.Now()
	sum, n, err := hashFile(ctx, f)
	if err != nil {
		return res, fmt.Errorf("read %s: %w", o.LocalPath, err)
	}
	res.SHA256 = sum
	if o.SHA256 != "" && o.SHA256 != sum {
		return res, fmt.Errorf("%s has sha256 %s, not the expected %s: refusing to upload it", o.LocalPath, sum, o.SHA256)
	}
	log.Info().Str("local_path", o.LocalPath).Int64("size", n).Str("sha256", sum).
		Dur("hash_time", time.Since(start)).Msg("file hashed; uploading")

	in := &transfermanager.UploadObjectInput{
		Bucket:      aws.String(o.Bucket),
		Key:         aws.String(o.Key),
		Body:        f,
		Metadata:    map[string]string{MetaSHA256: sum},
		ContentType: aws.String(contentType(o.Key)),
	}
	if !o.Overwrite {
		// Closes the race between the check above and the write: the server
		// refuses the write if the key appeared meanwhile.
		in.IfNoneMatch = aws.String("*")
	}
	upStart := time.Now()
	out, err := tm.UploadObject(ctx, in)
	if err != nil {
		if s3conf.Classify(err) == s3conf.PreconditionFailed {
			return res, fmt.Errorf("%s already exists (written by someone else during this upload); nothing was replaced", o.url())
		}
		return res, s3conf.Explain(err, "upload "+o.url())
	}
	if after, err := f.Stat(); err == nil && (after.Size() != fi.Size() || !after.ModTime().Equal(fi.ModTime())) {
		return res, fmt.Errorf("%s changed while it was being uploaded; the object at %s does not match its sha256: upload again", o.LocalPath, o.url())
	}
	res.ETag = strings.Trim(aws.ToString(out.ETag), `"`)
	res.VersionID = aws.ToString(out.VersionID)
	if secs := time.Since(upStart).Seconds(); secs > 0 {
		res.BytesPerSec = float64(n) / secs
	}
	log.Info().Str("url", o.url()).Str("size_h", bytesize.Format(n)).Str("etag", res.ETag).Msg("uploaded")
	return res, nil
}

func (o *UploadOptions) refuseExisting(ctx context.Context, cl *s3.Client) error {
	_, err := cl.HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String(o.Bucket), Key: aws.String(o.Key)})
	if err == nil {
		return fmt.Errorf("%s already exists: refusing to replace it (use a new key per run, or --overwrite)", o.url())
	}
	if s3conf.Classify(err) == s3conf.NoSuchKey {
		return nil
	}
	return s3conf.Explain(err, "check "+o.url())
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
