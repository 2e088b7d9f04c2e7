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
	// AllowUnverified downloads an object that has no stored SHA-256 (not
	// written by s3-upload). Without it such an object is refused: a
	// download is verified or it fails.
	AllowUnverified bool
}

// DownloadResult is s3-download's part of the result line.
type DownloadResult struct {
	Object
	LocalPath string `json:"local_path"`
	Verified  bool   `json:"verified"`
}

// downloadPlan is checked DownloadOptions.
type downloadPlan struct {
	*plan
	latestUnder     string
	allowUnverified bool
}

func (o DownloadOptions) validate() (*downloadPlan, error) {
	if (o.Key == "") == (o.LatestUnder == "") {
		return nil, usage.Errorf("give exactly one of --key and --latest-under")
	}
	if o.LatestUnder != "" {
		if err := checkKey("--latest-under", o.LatestUnder, true); err != nil {
			return nil, err
		}
	}
	p, err := o.Transfer.validate()
	if err != nil {
		return nil, err
	}
	if err := localfile.CheckOutput("--local-path", p.localPath); err != nil {
		return nil, err
	}
	return &downloadPlan{plan: p, latestUnder: o.LatestUnder, allowUnverified: o.AllowUnverified}, nil
}

// latest returns the key of the newest object under the prefix.
func (p *downloadPlan) latest(ctx context.Context, cl *s3.Client) (string, error) {
	where := "s3://" + p.bucket + "/" + p.latestUnder
	var best types.Object
	pages := s3.NewListObjectsV2Paginator(cl, &s3.ListObjectsV2Input{Bucket: aws.String(p.bucket), Prefix: aws.String(p.latestUnder)})
	for pages.HasMorePages() {
		page, err := pages.NextPage(ctx)
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
// earlier file there is kept) and the temporary file is removed. An object
// without a stored SHA-256 is refused before any byte is fetched, unless
// AllowUnverified.
func Download(ctx context.Context, o DownloadOptions) (*DownloadResult, error) {
	log := zerolog.Ctx(ctx)
	p, err := o.validate()
	if err != nil {
		return nil, err
	}
	cl, tm, err := p.clients(ctx)
	if err != nil {
		return nil, err
	}
	res := &DownloadResult{Object: p.object(), LocalPath: p.localPath}
	if p.latestUnder != "" {
		if p.key, err = p.latest(ctx, cl); err != nil {
			return res, err
		}
		res.Key = p.key
		log.Info().Str("url", p.url()).Msg("newest object under the prefix chosen")
	}

	head, err := p.head(ctx, cl, "", "download")
	if err != nil {
		return res, err
	}
	size := aws.ToInt64(head.ContentLength)
	want := checksum.Normalize(head.Metadata[MetaSHA256])
	res.VersionID = aws.ToString(head.VersionId)
	switch {
	case want == "" && !p.allowUnverified:
		return res, fmt.Errorf("%s has no stored sha256 (it was not written by s3-upload), so its content cannot be verified; "+
			"nothing written to %s (--allow-unverified downloads it anyway)", p.url(), p.localPath)
	case want == "":
		log.Warn().Str("url", p.url()).Msg("object has no sha256 metadata (not uploaded by s3-upload): its content cannot be verified")
	case !checksum.IsSHA256(want):
		return res, fmt.Errorf("%s: its stored sha256 is not a hex SHA-256 digest; nothing written to %s", p.url(), p.localPath)
	}

	tmp, err := atomicfile.Create(p.localPath)
	if err != nil {
		return res, err
	}
	defer tmp.Abort()

	start := time.Now()
	if size > 0 {
		_, err = tm.DownloadObject(ctx, &transfermanager.DownloadObjectInput{
			Bucket:   aws.String(p.bucket),
			Key:      aws.String(p.key),
			WriterAt: tmp.File,
			IfMatch:  head.ETag, // every range from the object checked above
		})
		if err != nil {
			if s3conf.Classify(err) == s3conf.PreconditionFailed {
				return res, fmt.Errorf("%s changed during the download; try again", p.url())
			}
			return res, s3conf.Explain(err, "download "+p.url())
		}
	}
	elapsed := time.Since(start)
	sum, n, err := hashFile(ctx, tmp.File)
	if err != nil {
		return res, fmt.Errorf("read back %s: %w", tmp.Name(), err)
	}
	if n != size {
		return res, fmt.Errorf("download %s: got %d bytes, the object has %d", p.url(), n, size)
	}
	res.Size, res.SHA256 = n, sum
	if want != "" && want != sum {
		return res, fmt.Errorf("download %s: %w: content has %s, stored sha256 is %s; nothing written to %s",
			p.url(), checksum.ErrMismatch, sum, want, p.localPath)
	}
	res.Verified = want != ""
	if err := tmp.Commit(0); err != nil {
		return res, err
	}
	res.BytesPerSec = rate(n, elapsed)
	log.Info().Str("url", p.url()).Str("local_path", p.localPath).Str("size_h", bytesize.Format(n)).Bool("verified", res.Verified).Msg("downloaded")
	return res, nil
}
