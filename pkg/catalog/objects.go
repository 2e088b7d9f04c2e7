package catalog

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/starrocks-backup/srbackup/pkg/s3conf"
)

// version is one object of the data folder as a listing reports it: with
// versions, one entry per version or delete marker, newest first within a
// key; without, one entry per key.
type version struct {
	Key          string // relative to the data folder
	VersionID    string
	Size         int64
	ETag         string
	Modified     time.Time
	Latest       bool
	DeleteMarker bool
}

// objects iterates over the data folder in key order, one page at a time,
// so that memory does not grow with the number of objects.
type objects struct {
	st       *store
	prefix   string
	versions bool
	buf      []version
	pos      int
	done     bool
	last     string
	// paging
	token, keyMarker, versionMarker *string
}

func newObjects(st *store, prefix string, versions bool) *objects {
	return &objects{st: st, prefix: prefix, versions: versions}
}

// next returns the next entry, nil at the end.
func (it *objects) next(ctx context.Context) (*version, error) {
	for it.pos >= len(it.buf) {
		if it.done {
			return nil, nil
		}
		if err := it.fetch(ctx); err != nil {
			return nil, err
		}
	}
	v := &it.buf[it.pos]
	it.pos++
	if v.Key < it.last {
		return nil, fmt.Errorf("the listing of %s is not in key order (%q after %q)", it.st.url(it.prefix), v.Key, it.last)
	}
	it.last = v.Key
	return v, nil
}

func (it *objects) fetch(ctx context.Context) error {
	it.buf, it.pos = it.buf[:0], 0
	it.st.requests.Add(1)
	where := "list " + it.st.url(it.prefix)
	if !it.versions {
		out, err := it.st.cl.ListObjectsV2(ctx, &s3.ListObjectsV2Input{Bucket: aws.String(it.st.bucket), Prefix: aws.String(it.prefix), ContinuationToken: it.token})
		if err != nil {
			return s3conf.Explain(err, where)
		}
		for _, o := range out.Contents {
			it.buf = append(it.buf, version{Key: strings.TrimPrefix(aws.ToString(o.Key), it.prefix), Size: aws.ToInt64(o.Size),
				ETag: normalizeETag(aws.ToString(o.ETag)), Modified: aws.ToTime(o.LastModified), Latest: true})
		}
		it.token = out.NextContinuationToken
		it.done = !aws.ToBool(out.IsTruncated) || it.token == nil
		return nil
	}
	out, err := it.st.cl.ListObjectVersions(ctx, &s3.ListObjectVersionsInput{Bucket: aws.String(it.st.bucket), Prefix: aws.String(it.prefix),
		KeyMarker: it.keyMarker, VersionIdMarker: it.versionMarker})
	if err != nil {
		return s3conf.Explain(err, where+" (versions)")
	}
	for _, o := range out.Versions {
		it.buf = append(it.buf, version{Key: strings.TrimPrefix(aws.ToString(o.Key), it.prefix), VersionID: aws.ToString(o.VersionId),
			Size: aws.ToInt64(o.Size), ETag: normalizeETag(aws.ToString(o.ETag)), Modified: aws.ToTime(o.LastModified), Latest: aws.ToBool(o.IsLatest)})
	}
	for _, o := range out.DeleteMarkers {
		it.buf = append(it.buf, version{Key: strings.TrimPrefix(aws.ToString(o.Key), it.prefix), VersionID: aws.ToString(o.VersionId),
			Modified: aws.ToTime(o.LastModified), Latest: aws.ToBool(o.IsLatest), DeleteMarker: true})
	}
	// A page holds versions and delete markers in two lists: merge them
	// by key, newest first within a key.
	sort.SliceStable(it.buf, func(i, j int) bool {
		a, b := it.buf[i], it.buf[j]
		if a.Key != b.Key {
			return a.Key < b.Key
		}
		if a.Latest != b.Latest {
			return a.Latest
		}
		return a.Modified.After(b.Modified)
	})
	it.keyMarker, it.versionMarker = out.NextKeyMarker, out.NextVersionIdMarker
	it.done = !aws.ToBool(out.IsTruncated)
	return nil
}

// byKey groups the iterator's entries by key: each call returns every
// entry of the next key (versions newest first), nil at the end.
type byKey struct {
	it      *objects
	pending *version
}

func (g *byKey) next(ctx context.Context) ([]version, error) {
	var group []version
	if g.pending != nil {
		group = append(group, *g.pending)
		g.pending = nil
	}
	for {
		v, err := g.it.next(ctx)
		if err != nil {
			return nil, err
		}
		if v == nil {
			return group, nil
		}
		if len(group) > 0 && v.Key != group[0].Key {
			g.pending = v
			return group, nil
		}
		group = append(group, *v)
	}
}
