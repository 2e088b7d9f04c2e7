package s3xfer

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
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

// Download fetches an object with concurrent ranged GETs, each written in
// place into a temporary file beside LocalPath, while a hasher follows the
// ranges in order as they complete (reading them back from the page
// cache) and starts their write-back to disk. Once the last range is in,
// the digest is compared with the SHA-256 stored at upload, and only then
// is the file synced and renamed to LocalPath. On any failure nothing is
// left there (an earlier file there is kept) and the temporary file is
// removed. An object without a stored SHA-256 is refused before any byte
// is fetched, unless AllowUnverified.
func Download(ctx context.Context, o DownloadOptions) (*DownloadResult, error) {
	log := zerolog.Ctx(ctx)
	p, err := o.validate()
	if err != nil {
		return nil, err
	}
	cl, err := p.client(ctx)
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
	g := &getter{p: p, cl: cl, f: tmp.File, etag: head.ETag, l: newLayout(size, p.partSize)}
	sum, err := g.run(ctx)
	if err != nil {
		if s3conf.Classify(err) == s3conf.PreconditionFailed {
			return res, fmt.Errorf("%s changed during the download; try again", p.url())
		}
		return res, s3conf.Explain(err, "download "+p.url())
	}
	elapsed := time.Since(start)
	res.Size, res.SHA256 = size, sum
	if want != "" && want != sum {
		return res, fmt.Errorf("download %s: %w: content has %s, stored sha256 is %s; nothing written to %s",
			p.url(), checksum.ErrMismatch, sum, want, p.localPath)
	}
	res.Verified = want != ""
	if err := tmp.Commit(0); err != nil {
		return res, err
	}
	res.BytesPerSec = rate(size, elapsed)
	log.Info().Str("url", p.url()).Str("local_path", p.localPath).Str("size_h", bytesize.Format(size)).
		Bool("verified", res.Verified).Dur("sync_time", time.Since(start)-elapsed).Msg("downloaded")
	return res, nil
}

// copyBuffer is what each range worker copies through.
const copyBuffer = 1 << 20

var copyBuffers = sync.Pool{New: func() any { b := make([]byte, copyBuffer); return &b }}

// getter fetches the parts of one object version into a file.
type getter struct {
	p    *downloadPlan
	cl   *s3.Client
	f    *os.File
	etag *string // every range from the object checked before
	l    layout
}

// run fetches every part and returns the SHA-256 of the file's bytes, read
// in order as they land.
func (g *getter) run(ctx context.Context) (string, error) {
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	landed := newLanding(g.l.count)
	h := startHash(ctx, g.f, g.l, landed.avail(ctx), func(k int, _ uint32) { startWriteback(g.f, g.l, k) })
	err := eachPart(ctx, g.l.count, g.p.concurrency, func(ctx context.Context, k int) error {
		return g.part(ctx, k, landed)
	})
	if err != nil {
		cancel(err)
		_, _ = h.wait()
		return "", err
	}
	last := time.Now()
	sum, err := h.wait()
	zerolog.Ctx(ctx).Debug().Dur("hash_tail", time.Since(last)).Msg("every range in; the hasher has caught up")
	return sum, err
}

// part fetches part k. A range whose body breaks off is resumed where it
// stopped, up to s3conf.MaxAttempts times (the SDK retries the requests
// themselves, not the reading of a body).
func (g *getter) part(ctx context.Context, k int, landed *landing) error {
	off, n := g.l.part(k)
	w := &partWriter{w: io.NewOffsetWriter(g.f, off), k: k, landed: landed}
	buf := copyBuffers.Get().(*[]byte)
	defer copyBuffers.Put(buf)
	var got int64
	for attempt := 1; ; attempt++ {
		out, err := g.cl.GetObject(ctx, &s3.GetObjectInput{
			Bucket:  aws.String(g.p.bucket),
			Key:     aws.String(g.p.key),
			Range:   aws.String(fmt.Sprintf("bytes=%d-%d", off+got, off+n-1)),
			IfMatch: g.etag,
		})
		if err != nil {
			return err
		}
		if cl := aws.ToInt64(out.ContentLength); cl != n-got {
			out.Body.Close()
			return fmt.Errorf("the server answered the range bytes=%d-%d with %d bytes, not %d", off+got, off+n-1, cl, n-got)
		}
		c, err := io.CopyBuffer(w, io.LimitReader(out.Body, n-got), *buf)
		out.Body.Close()
		got += c
		switch {
		case err == nil && got == n:
			return nil
		case err == nil:
			err = io.ErrUnexpectedEOF
		}
		var werr *os.PathError
		if ctx.Err() != nil || errors.As(err, &werr) || attempt >= s3conf.MaxAttempts {
			return fmt.Errorf("part %d: %w", k+1, err)
		}
		zerolog.Ctx(ctx).Warn().Err(err).Int("part", k+1).Int64("resume_at", off+got).Msg("range broke off; resuming it")
	}
}

// partWriter writes a part in order and tells the landing how far it got.
type partWriter struct {
	w      *io.OffsetWriter
	k      int
	got    int64
	landed *landing
}

func (w *partWriter) Write(p []byte) (int, error) {
	n, err := w.w.Write(p)
	w.got += int64(n)
	w.landed.wrote(w.k, w.got)
	return n, err
}
