package s3list

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// Object is one entry of a page: an object of a ListObjectsV2 page, or a
// version or delete marker of a ListObjectVersions page.
type Object struct {
	Key          string
	Size         int64
	ETag         string // as the server sent it, without the quotes
	LastModified time.Time
	// Versions only: the version id ("null" for an object written before
	// versioning), whether it is the current version, and whether it is a
	// delete marker (no size, no ETag).
	VersionID    string
	IsLatest     bool
	DeleteMarker bool
	// HasMetadata tells that the listing carried the object's user
	// metadata (MinIO does when asked with Query.Metadata); Metadata then
	// holds it, names as the server wrote them ("content-type",
	// "X-Amz-Meta-Srb-Source-Etag").
	HasMetadata bool
	Metadata    []Meta
}

// Meta is one entry of an object's user metadata.
type Meta struct{ Name, Value string }

// Meta returns the value of the user metadata entry name, compared without
// case and with or without the "x-amz-meta-" prefix on either side.
func (o *Object) Meta(name string) (string, bool) {
	name = trimMetaPrefix(name)
	for _, m := range o.Metadata {
		if strings.EqualFold(trimMetaPrefix(m.Name), name) {
			return m.Value, true
		}
	}
	return "", false
}

func trimMetaPrefix(s string) string {
	const p = "x-amz-meta-"
	if len(s) >= len(p) && strings.EqualFold(s[:len(p)], p) {
		return s[len(p):]
	}
	return s
}

// Page is one listing response. Its slices are reused by the next page
// listed into it; the strings they hold stay valid.
type Page struct {
	Objects        []Object
	CommonPrefixes []string // with a delimiter: the prefixes rolled up
	// Truncated tells that more follows: at NextContinuationToken for
	// ListObjectsV2, at NextKeyMarker and NextVersionIDMarker for versions.
	Truncated             bool
	NextContinuationToken string
	NextKeyMarker         string
	NextVersionIDMarker   string

	metas []Meta // backing array of the objects' Metadata
}

func (p *Page) reset() {
	*p = Page{Objects: p.Objects[:0], CommonPrefixes: p.CommonPrefixes[:0], metas: p.metas[:0]}
}

// Query is one ListObjectsV2 request, or the start of a listing.
type Query struct {
	Bucket string
	Prefix string
	// Delimiter rolls keys up into common prefixes ("/" to discover the
	// key space level by level); empty lists recursively.
	Delimiter         string
	StartAfter        string // list the keys after this one
	ContinuationToken string // resume where a truncated page ended
	MaxKeys           int    // entries a page; 0: the server's default (1,000)
	// Metadata asks for each object's user metadata (MinIO's metadata=true
	// extension; other servers ignore it).
	Metadata bool
}

// VersionsQuery is one ListObjectVersions request, or the start of one.
type VersionsQuery struct {
	Bucket          string
	Prefix          string
	Delimiter       string
	KeyMarker       string // list the versions of the keys after this one...
	VersionIDMarker string // ...or, with KeyMarker, those after this version of it
	MaxKeys         int
	Metadata        bool
}

// ErrStop, returned by a page function, ends a listing early without error.
var ErrStop = errors.New("stop listing")

// common sets the parameters both listings share. Names come back
// URL-encoded (encoding-type=url): XML cannot carry every character a key
// may hold.
func common(v url.Values, prefix, delimiter string, maxKeys int, metadata bool) url.Values {
	v.Set("encoding-type", "url")
	v.Set("prefix", prefix)
	if delimiter != "" {
		v.Set("delimiter", delimiter)
	}
	if maxKeys > 0 {
		v.Set("max-keys", strconv.Itoa(maxKeys))
	}
	if metadata {
		v.Set("metadata", "true")
	}
	return v
}

// ListPage sends one ListObjectsV2 request and decodes its answer into p.
func (c *Client) ListPage(ctx context.Context, q Query, p *Page) error {
	v := common(url.Values{"list-type": {"2"}}, q.Prefix, q.Delimiter, q.MaxKeys, q.Metadata)
	if q.StartAfter != "" {
		v.Set("start-after", q.StartAfter)
	}
	if q.ContinuationToken != "" {
		v.Set("continuation-token", q.ContinuationToken)
	}
	if err := c.get(ctx, q.Bucket, v, rootList, p); err != nil {
		return err
	}
	if p.Truncated && p.NextContinuationToken == "" {
		return errors.New("malformed list page: truncated without a continuation token")
	}
	return nil
}

// List lists from q to the end, page by page, calling fn with each page (a
// page is valid until fn returns; the strings it holds stay valid). It
// stops at the first error, or when fn returns ErrStop.
func (c *Client) List(ctx context.Context, q Query, fn func(*Page) error) error {
	return walk(func(p *Page) (bool, error) {
		if err := c.ListPage(ctx, q, p); err != nil {
			return false, err
		}
		if p.Truncated && p.NextContinuationToken == q.ContinuationToken {
			return false, errors.New("the server sent back the same continuation token: the listing would not progress")
		}
		q.ContinuationToken = p.NextContinuationToken
		return p.Truncated, nil
	}, fn)
}

// VersionsPage sends one ListObjectVersions request and decodes its answer
// into p.
func (c *Client) VersionsPage(ctx context.Context, q VersionsQuery, p *Page) error {
	v := common(url.Values{"versions": {""}}, q.Prefix, q.Delimiter, q.MaxKeys, q.Metadata)
	if q.KeyMarker != "" {
		v.Set("key-marker", q.KeyMarker)
	}
	if q.VersionIDMarker != "" {
		v.Set("version-id-marker", q.VersionIDMarker)
	}
	if err := c.get(ctx, q.Bucket, v, rootVersions, p); err != nil {
		return err
	}
	if p.Truncated && p.NextKeyMarker == "" {
		return errors.New("malformed versions page: truncated without a next key marker")
	}
	return nil
}

// Versions lists versions and delete markers from q to the end, as List
// lists objects.
func (c *Client) Versions(ctx context.Context, q VersionsQuery, fn func(*Page) error) error {
	return walk(func(p *Page) (bool, error) {
		if err := c.VersionsPage(ctx, q, p); err != nil {
			return false, err
		}
		if p.Truncated && p.NextKeyMarker == q.KeyMarker && p.NextVersionIDMarker == q.VersionIDMarker {
			return false, fmt.Errorf("the server sent back the same markers: the listing would not progress")
		}
		q.KeyMarker, q.VersionIDMarker = p.NextKeyMarker, p.NextVersionIDMarker
		return p.Truncated, nil
	}, fn)
}

// walk fetches pages into one Page until next says there are no more,
// handing each to fn.
func walk(next func(*Page) (more bool, err error), fn func(*Page) error) error {
	var p Page
	for {
		more, err := next(&p)
		if err != nil {
			return err
		}
		if err := fn(&p); err != nil {
			if errors.Is(err, ErrStop) {
				return nil
			}
			return err
		}
		if !more {
			return nil
		}
	}
}
