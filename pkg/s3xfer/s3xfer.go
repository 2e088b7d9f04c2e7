// Package s3xfer moves one file to and from S3 (aws-sdk-go-v2, concurrent
// parts and ranges read from and written to the file in place) with an
// end-to-end SHA-256: the upload stores the file's digest as object
// metadata, the download checks it before the file appears. Both hash the
// bytes while they move, in order, instead of in a pass of their own.
package s3xfer

import (
	"context"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/minio/minio-go/v7/pkg/s3utils"

	"github.com/starrocks-backup/srbackup/pkg/s3conf"
	"github.com/starrocks-backup/srbackup/pkg/usage"
)

// MetaSHA256 is the user-metadata key (x-amz-meta-sha256) holding the
// hex SHA-256 of an uploaded file.
const MetaSHA256 = "sha256"

// Transfer tuning defaults, chosen by bench/s3xfer.sh on loopback MinIO.
const (
	DefaultPartSize    = 16 << 20
	DefaultConcurrency = 8
	minPartSize        = 5 << 20
	maxPartSize        = 5 << 30
	maxConcurrency     = 64
)

// Transfer is what upload and download share: the endpoint, the object and
// the tuning. Zero PartSize and Concurrency mean the defaults.
type Transfer struct {
	S3          s3conf.Input
	Bucket      string
	Key         string
	LocalPath   string // the local file
	PartSize    int64
	Concurrency int
}

// Object is what both results say about the object.
type Object struct {
	Endpoint    string  `json:"endpoint"`
	Bucket      string  `json:"bucket"`
	Key         string  `json:"key"`
	Size        int64   `json:"size"`
	SHA256      string  `json:"sha256,omitempty"`
	VersionID   string  `json:"version_id,omitempty"`
	BytesPerSec float64 `json:"bytes_per_s,omitempty"`
}

// plan is a checked Transfer: what upload and download share once the
// options are validated and the endpoint resolved (Options are never
// changed).
type plan struct {
	bucket, key string
	localPath   string
	partSize    int64
	concurrency int
	cfg         s3conf.Config
}

// validate checks what both directions share: the bucket, the tuning and
// the endpoint. A given key is checked too; whether one is required is the
// caller's business. Every error is a usage error, found before any work.
func (t Transfer) validate() (*plan, error) {
	p := &plan{bucket: t.Bucket, key: t.Key, localPath: t.LocalPath, partSize: t.PartSize, concurrency: t.Concurrency}
	if t.Bucket == "" {
		return nil, usage.Errorf("--bucket is required")
	}
	if err := s3utils.CheckValidBucketNameStrict(t.Bucket); err != nil {
		return nil, usage.Errorf("--bucket %q: invalid bucket name: %v", t.Bucket, err)
	}
	if t.Key != "" {
		if err := checkKey("--key", t.Key, false); err != nil {
			return nil, err
		}
	}
	if p.partSize == 0 {
		p.partSize = DefaultPartSize
	}
	if p.partSize < minPartSize || p.partSize > maxPartSize {
		return nil, usage.Errorf("--part-size %d is out of range: S3 parts are 5 MiB to 5 GiB", p.partSize)
	}
	if p.concurrency == 0 {
		p.concurrency = DefaultConcurrency
	}
	if p.concurrency < 1 || p.concurrency > maxConcurrency {
		return nil, usage.Errorf("--concurrency %d is out of range (1-%d)", p.concurrency, maxConcurrency)
	}
	if p.localPath == "" {
		return nil, usage.Errorf("--local-path is required")
	}
	var err error
	if p.cfg, err = t.S3.Resolve(); err != nil {
		return nil, err
	}
	return p, nil
}

// checkKey refuses keys that are valid for no S3 server or that name
// something else on some of them: empty, over 1024 bytes, not UTF-8, a
// leading '/', an empty, "." or ".." path segment (MinIO refuses them, AWS
// keeps them verbatim), and, unless prefix, a trailing '/' (a folder).
func checkKey(flag, key string, prefix bool) error {
	if err := s3utils.CheckValidObjectNamePrefix(key); err != nil || strings.TrimSpace(key) == "" {
		return usage.Errorf("%s: invalid object key: empty, over 1024 bytes, or not UTF-8", flag)
	}
	if strings.HasPrefix(key, "/") {
		return usage.Errorf("%s %q starts with '/': S3 keys have no leading slash (write fe/x.tar.gz, not /fe/x.tar.gz)", flag, key)
	}
	segs := strings.Split(key, "/")
	if prefix || strings.HasSuffix(key, "/") {
		segs = segs[:len(segs)-1] // the part after the last '/': a prefix may end anywhere
	}
	for _, s := range segs {
		if s == "" || s == "." || s == ".." {
			return usage.Errorf("%s %q has an empty, '.' or '..' path segment", flag, key)
		}
	}
	if !prefix && strings.HasSuffix(key, "/") {
		return usage.Errorf("%s %q ends with '/': that names a folder, not a file", flag, key)
	}
	return nil
}

func (p *plan) url() string { return "s3://" + p.bucket + "/" + p.key }

// object starts a result with what the plan knows.
func (p *plan) object() Object { return Object{Endpoint: p.cfg.String(), Bucket: p.bucket, Key: p.key} }

// client returns the S3 client, with a connection for each concurrent part.
func (p *plan) client(ctx context.Context) (*s3.Client, error) {
	return s3conf.NewAWS(ctx, p.cfg, p.concurrency)
}

// headBucket checks that the bucket exists and is reachable with these
// credentials, so that the common mistakes fail before any data moves.
func (p *plan) headBucket(ctx context.Context, cl *s3.Client) error {
	return s3conf.HeadBucket(ctx, cl, p.bucket)
}

// head returns the object's metadata (of one version when versionID is
// set), explaining a missing key by a missing bucket when that is the cause.
func (p *plan) head(ctx context.Context, cl *s3.Client, versionID, what string) (*s3.HeadObjectOutput, error) {
	in := &s3.HeadObjectInput{Bucket: aws.String(p.bucket), Key: aws.String(p.key)}
	if versionID != "" {
		in.VersionId = aws.String(versionID)
	}
	out, err := cl.HeadObject(ctx, in)
	if err == nil {
		return out, nil
	}
	if s3conf.Classify(err) == s3conf.NoSuchKey {
		if berr := p.headBucket(ctx, cl); berr != nil {
			return nil, berr
		}
	}
	return nil, s3conf.Explain(err, what+" "+p.url())
}

// rate returns bytes per second, 0 for no time.
func rate(n int64, d time.Duration) float64 {
	if secs := d.Seconds(); secs > 0 {
		return float64(n) / secs
	}
	return 0
}
