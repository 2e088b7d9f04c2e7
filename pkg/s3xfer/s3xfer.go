// Package s3xfer moves one file to and from S3 (aws-sdk-go-v2 transfer
// manager) with an end-to-end SHA-256: the upload stores the file's digest
// as object metadata, the download checks it before the file appears.
package s3xfer

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/s3/transfermanager"
	tmtypes "github.com/aws/aws-sdk-go-v2/feature/s3/transfermanager/types"
	"github.com/aws/aws-sdk-go-v2/service/s3"

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
// the tuning.
type Transfer struct {
	S3          s3conf.Input
	Bucket      string
	Key         string
	LocalPath   string // the local file
	PartSize    int64
	Concurrency int
}

func (t *Transfer) validate() error {
	if t.Bucket == "" {
		return usage.Errorf("--bucket is required")
	}
	if t.PartSize == 0 {
		t.PartSize = DefaultPartSize
	}
	if t.PartSize < minPartSize || t.PartSize > maxPartSize {
		return usage.Errorf("--part-size %d is out of range: S3 parts are 5 MiB to 5 GiB", t.PartSize)
	}
	if t.Concurrency == 0 {
		t.Concurrency = DefaultConcurrency
	}
	if t.Concurrency < 1 || t.Concurrency > maxConcurrency {
		return usage.Errorf("--concurrency %d is out of range (1-%d)", t.Concurrency, maxConcurrency)
	}
	return nil
}

func (t *Transfer) url() string { return "s3://" + t.Bucket + "/" + t.Key }

// clients resolves the endpoint and returns the S3 client and a transfer
// manager on it.
func (t *Transfer) clients(ctx context.Context) (s3conf.Config, *s3.Client, *transfermanager.Client, error) {
	cfg, err := t.S3.Resolve()
	if err != nil {
		return cfg, nil, nil, err
	}
	cl, err := s3conf.NewAWS(ctx, cfg, t.Concurrency)
	if err != nil {
		return cfg, nil, nil, err
	}
	tm := transfermanager.New(cl, func(o *transfermanager.Options) {
		o.PartSizeBytes = t.PartSize
		o.MultipartUploadThreshold = t.PartSize
		o.Concurrency = t.Concurrency
		o.GetObjectType = tmtypes.GetObjectRanges
		// Abort a failed or cancelled multipart upload on a fresh context, so
		// that no incomplete upload is left on the server after SIGTERM.
		o.FailTimeout = 15 * time.Second
		if !cfg.AWS() {
			o.RequestChecksumCalculation = aws.RequestChecksumCalculationWhenRequired
		}
	})
	return cfg, cl, tm, nil
}

// headBucket checks that the bucket exists and is reachable with these
// credentials, so that the common mistakes fail before any data moves.
func (t *Transfer) headBucket(ctx context.Context, cl *s3.Client) error {
	return s3conf.HeadBucket(ctx, cl, t.Bucket)
}

// hashFile returns the SHA-256 of r's content, read from the start.
func hashFile(ctx context.Context, r io.ReadSeeker) (string, int64, error) {
	if _, err := r.Seek(0, io.SeekStart); err != nil {
		return "", 0, err
	}
	h := sha256.New()
	n, err := io.Copy(h, ctxReader{ctx, r})
	if err != nil {
		return "", n, err
	}
	if _, err := r.Seek(0, io.SeekStart); err != nil {
		return "", n, err
	}
	return hex.EncodeToString(h.Sum(nil)), n, nil
}

// ctxReader stops a long read when the context is cancelled.
type ctxReader struct {
	ctx context.Context
	r   io.Reader
}

func (c ctxReader) Read(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	return c.r.Read(p)
}
