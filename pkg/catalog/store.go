package catalog

import (
	"bytes"
	"context"
	"errors"
	"io"
	"strings"
	"sync/atomic"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"

	"github.com/starrocks-backup/srbackup/pkg/s3conf"
)

// store is the off-site bucket as the commands use it; it counts requests.
type store struct {
	cl       *s3.Client
	bucket   string
	endpoint string
	requests atomic.Int64
}

func (s *store) url(key string) string { return "s3://" + s.bucket + "/" + key }

// folders lists the sub-folders of prefix (delimiter "/").
func (s *store) folders(ctx context.Context, prefix string) ([]string, error) {
	var out []string
	p := s3.NewListObjectsV2Paginator(s.cl, &s3.ListObjectsV2Input{Bucket: aws.String(s.bucket), Prefix: aws.String(prefix), Delimiter: aws.String("/")})
	for p.HasMorePages() {
		s.requests.Add(1)
		page, err := p.NextPage(ctx)
		if err != nil {
			return nil, s3conf.Explain(err, "list "+s.url(prefix))
		}
		for _, cp := range page.CommonPrefixes {
			out = append(out, aws.ToString(cp.Prefix))
		}
	}
	return out, nil
}

// versioned reports whether the bucket keeps versions.
func (s *store) versioned(ctx context.Context) (bool, error) {
	s.requests.Add(1)
	return s3conf.Versioned(ctx, s.cl, s.bucket)
}

// objectInfo is what a HEAD or a listing tells about an object.
type objectInfo struct {
	Key       string
	Size      int64
	ETag      string
	VersionID string
	Modified  time.Time
	Meta      map[string]string
}

// head returns the object (at versionID when given), nil when absent.
func (s *store) head(ctx context.Context, key, versionID string) (*objectInfo, error) {
	in := &s3.HeadObjectInput{Bucket: aws.String(s.bucket), Key: aws.String(key)}
	if versionID != "" {
		in.VersionId = aws.String(versionID)
	}
	s.requests.Add(1)
	out, err := s.cl.HeadObject(ctx, in)
	if err != nil {
		if s3conf.Classify(err) == s3conf.NoSuchKey {
			return nil, nil
		}
		return nil, s3conf.Explain(err, "read "+s.url(key))
	}
	return &objectInfo{Key: key, Size: aws.ToInt64(out.ContentLength), ETag: normalizeETag(aws.ToString(out.ETag)),
		VersionID: aws.ToString(out.VersionId), Modified: aws.ToTime(out.LastModified), Meta: out.Metadata}, nil
}

// get opens the object (at versionID when given); the reader must be closed.
func (s *store) get(ctx context.Context, key, versionID string) (io.ReadCloser, *objectInfo, error) {
	in := &s3.GetObjectInput{Bucket: aws.String(s.bucket), Key: aws.String(key)}
	if versionID != "" {
		in.VersionId = aws.String(versionID)
	}
	s.requests.Add(1)
	out, err := s.cl.GetObject(ctx, in)
	if err != nil {
		return nil, nil, s3conf.Explain(err, "read "+s.url(key))
	}
	return out.Body, &objectInfo{Key: key, Size: aws.ToInt64(out.ContentLength), ETag: normalizeETag(aws.ToString(out.ETag)),
		VersionID: aws.ToString(out.VersionId), Modified: aws.ToTime(out.LastModified), Meta: out.Metadata}, nil
}

// getSmall reads a small object whole (at most max bytes).
func (s *store) getSmall(ctx context.Context, key string, max int64) ([]byte, *objectInfo, error) {
	body, info, err := s.get(ctx, key, "")
	if err != nil {
		return nil, nil, err
	}
	defer body.Close()
	b, err := io.ReadAll(io.LimitReader(body, max+1))
	if err != nil {
		return nil, nil, s3conf.Explain(err, "read "+s.url(key))
	}
	if int64(len(b)) > max {
		return nil, nil, errors.New(s.url(key) + " is larger than expected")
	}
	return b, info, nil
}

// errExists is returned by putNew when the key is taken.
var errExists = errors.New("already exists")

// putNew writes a small object only if the key is free (If-None-Match: *).
func (s *store) putNew(ctx context.Context, key string, body []byte, contentType string) (*objectInfo, error) {
	s.requests.Add(1)
	out, err := s.cl.PutObject(ctx, &s3.PutObjectInput{
		Bucket: aws.String(s.bucket), Key: aws.String(key), Body: bytes.NewReader(body),
		ContentLength: aws.Int64(int64(len(body))), ContentType: aws.String(contentType), IfNoneMatch: aws.String("*"),
	})
	if err != nil {
		if s3conf.Classify(err) == s3conf.PreconditionFailed {
			return nil, errExists
		}
		return nil, s3conf.Explain(err, "write "+s.url(key))
	}
	return &objectInfo{Key: key, Size: int64(len(body)), ETag: normalizeETag(aws.ToString(out.ETag)), VersionID: aws.ToString(out.VersionId)}, nil
}

// objectID names one object, or one version of it.
type objectID struct {
	Key, VersionID string
}

// deleteBatchSize is the S3 maximum keys of one DeleteObjects request.
const deleteBatchSize = 1000

// remove deletes the objects (each version named, or the current object),
// in batches; it returns how many were deleted and the first error.
func (s *store) remove(ctx context.Context, ids []objectID) (int64, error) {
	var deleted int64
	for i := 0; i < len(ids); i += deleteBatchSize {
		batch := ids[i:min(i+deleteBatchSize, len(ids))]
		objs := make([]types.ObjectIdentifier, len(batch))
		for j, id := range batch {
			objs[j] = types.ObjectIdentifier{Key: aws.String(id.Key)}
			if id.VersionID != "" {
				objs[j].VersionId = aws.String(id.VersionID)
			}
		}
		s.requests.Add(1)
		out, err := s.cl.DeleteObjects(ctx, &s3.DeleteObjectsInput{Bucket: aws.String(s.bucket),
			Delete: &types.Delete{Objects: objs, Quiet: aws.Bool(true)}})
		if err != nil {
			return deleted, s3conf.Explain(err, "delete in "+s.url(""))
		}
		failed := 0
		var first error
		for _, e := range out.Errors {
			if aws.ToString(e.Code) == "NoSuchKey" || aws.ToString(e.Code) == "NoSuchVersion" {
				continue
			}
			failed++
			if first == nil {
				first = errors.New("delete " + s.url(aws.ToString(e.Key)) + ": " + aws.ToString(e.Code) + ": " + aws.ToString(e.Message))
			}
		}
		deleted += int64(len(batch) - failed)
		if first != nil {
			return deleted, first
		}
	}
	return deleted, nil
}

func normalizeETag(e string) string { return strings.ToLower(strings.Trim(strings.TrimSpace(e), `"`)) }
