package s3xfer

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/s3/transfermanager"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/rs/zerolog"

	"github.com/starrocks-backup/srbackup/pkg/atomicfile"
	"github.com/starrocks-backup/srbackup/pkg/bytesize"
	"github.com/starrocks-backup/srbackup/pkg/checksum"
	"github.com/starrocks-backup/srbackup/pkg/localfile"
	"github.com/starrocks-backup/srbackup/pkg/s3conf"
	"github.com/starrocks-backup/srbackup/pkg/usage"
)

// DownloadOptions are the inputs of Download.
type DownloadOptions struct {
	Transfer
	// LatestUnder, instead of Key, picks the newest object (by last
	// modification, then by key) whose key starts with this prefix.
	LatestUnder string
}

// DownloadResult is s3-download's part of the result line.
type DownloadResult struct {
	Endpoint    string  `json:"endpoint"`
	Bucket      string  `json:"bucket"`
	Key         string  `json:"key"`
	LocalPath   string  `json:"local_path"`
	Size        int64   `json:"size"`
	SHA256      string  `json:"sha256,omitempty"`
	Verified    bool    `json:"verified"`
	VersionID   string  `json:"version_id,omitempty"`
	BytesPerSec float64 `json:"bytes_per_s,omitempty"`
}

// latest returns the key of the newest object under LatestUnder.
func (o *DownloadOptions) latest(ctx context.Context, cl *s3.Client) (string, error) {
	where := "s3://" + o.Bucket + "/" + o.LatestUnder
	var best types.Object
	p := s3.NewListObjectsV2Paginator(cl, &s3.ListObjectsV2Input{Bucket: aws.String(o.Bucket), Prefix: aws.String(o.LatestUnder)})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return "", s3conf.Explain(err, "list "+where)
		}
		for _, obj := range page.Contents {
			k := aws.ToString(obj.Key)
			if strings.HasSuffix(k, "/") {
				continue // a folder marker
			}
			bt, ot := aws.ToTime(best.LastModified), aws.ToTime(obj.LastModified)
			if best.Key == nil || ot.After(bt) || (ot.Equal(bt) && k > aws.ToString(best.Key)) {
				best = obj
			}
		}
	}
	if best.Key == nil {
		return "", fmt.Errorf("no object under %s", where)
	}
	return aws.ToString(best.Key), nil
}

// Download fetches an object with concurrent ranged GETs into a temporary
// file beside LocalPath, checks it against the SHA-256 stored at upload, and only
// then renames it to LocalPath. On any failure nothing is left there (an
// earlier file there is kept) and the temporary file is removed.
func Download(ctx context.Context, o DownloadOptions) (*DownloadResult, error) {
	log := zerolog.Ctx(ctx)
	if (o.Key == "") == (o.LatestUnder == "") {
		return nil, usage.Errorf("give exactly one of --key and --latest-under")
	}
	if err := o.validate(); err != nil {
		return nil, err
	}
	if err := localfile.CheckOutput("--local-path", o.LocalPath); err != nil {
		return nil, err
	}
	cfg, cl, tm, err := o.clients(ctx)
	if err != nil {
		return nil, err
	}
	res := &DownloadResult{Endpoint: cfg.String(), Bucket: o.Bucket, Key: o.Key, LocalPath: o.LocalPath}
	if o.LatestUnder != "" {
		if o.Key, err = o.latest(ctx, cl); err != nil {
			return res, err
		}
		res.Key = o.Key
		log.Info().Str("url", o.url()).Msg("newest object under the prefix chosen")
	}

	head, err := cl.HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String(o.Bucket), Key: aws.String(o.Key)})
	if err != nil {
		if s3conf.Classify(err) == s3conf.NoSuchKey {
			if berr := o.headBucket(ctx, cl); berr != nil {
				return res, berr
			}
		}
		return res, s3conf.Explain(err, "download "+o.url())
	}
	size := aws.ToInt64(head.ContentLength)
	etag := aws.ToString(head.ETag)
	want := strings.ToLower(head.Metadata[MetaSHA256])
	res.VersionID = aws.ToString(head.VersionId)

	tmp, err := atomicfile.Create(o.LocalPath)
	if err != nil {
		return res, err
	}
	defer tmp.Abort()

	start := time.Now()
	if size > 0 {
		_, err = tm.DownloadObject(ctx, &transfermanager.DownloadObjectInput{
			Bucket:   aws.String(o.Bucket),
			Key:      aws.String(o.Key),
			WriterAt: tmp.File,
			IfMatch:  aws.String(etag), // every range from the same object version
		})
		if err != nil {
			if s3conf.Classify(err) == s3conf.PreconditionFailed {
				return res, fmt.Errorf("%s changed during the download; try again", o.url())
			}
			return res, s3conf.Explain(err, "download "+o.url())
		}
	}
	elapsed := time.Since(start)
	sum, n, err := hashFile(ctx, tmp.File)
	if err != nil {
		return res, fmt.Errorf("read back %s: %w", tmp.Name(), err)
	}
	if n != size {
		return res, fmt.Errorf("download %s: got %d bytes, the object has %d", o.url(), n, size)
	}
	res.Size, res.SHA256 = n, sum
	switch {
	case want == "":
		log.Warn().Str("url", o.url()).Msg("object has no sha256 metadata (not uploaded by s3-upload): its content cannot be verified")
	case want != sum:
		res.SHA256 = sum
		return res, fmt.Errorf("download %s: %w: content has %s, stored sha256 is %s; nothing written to %s",
			o.url(), checksum.ErrMismatch, sum, want, o.LocalPath)
	default:
		res.Verified = true
	}
	if err := tmp.Commit(0); err != nil {
		return res, err
	}
	if secs := elapsed.Seconds(); secs > 0 {
		res.BytesPerSec = float64(n) / secs
	}
	log.Info().Str("url", o.url()).Str("local_path", o.LocalPath).Str("size_h", bytesize.Format(n)).Bool("verified", res.Verified).Msg("downloaded")
	return res, nil
}
