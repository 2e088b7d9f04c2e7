package s3list

import (
	"context"
	"errors"
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

// request is a listing's next request: its bucket, query and document,
// and how it moves on after a truncated page.
type request interface {
	target() (bucket string, query url.Values, root string)
	// advance points the request past p; it reports false when that is
	// where it already pointed (a server that would never get further).
	advance(p *Page) bool
}

// query makes a listing's parameters: kind ("list-type=2" or "versions"),
// those both listings share, and the optional name-value pairs that have
// a value. Names come back URL-encoded (encoding-type=url): XML cannot
// carry every character a key may hold.
func query(kind url.Values, prefix, delimiter string, maxKeys int, metadata bool, optional ...string) url.Values {
	kind.Set("encoding-type", "url")
	kind.Set("prefix", prefix)
	if maxKeys > 0 {
		optional = append(optional, "max-keys", strconv.Itoa(maxKeys))
	}
	if metadata {
		optional = append(optional, "metadata", "true")
	}
	optional = append(optional, "delimiter", delimiter)
	for i := 0; i+1 < len(optional); i += 2 {
		if optional[i+1] != "" {
			kind.Set(optional[i], optional[i+1])
		}
	}
	return kind
}

func (q *Query) target() (string, url.Values, string) {
	return q.Bucket, query(url.Values{"list-type": {"2"}}, q.Prefix, q.Delimiter, q.MaxKeys, q.Metadata,
		"start-after", q.StartAfter, "continuation-token", q.ContinuationToken), rootList
}

func (q *Query) advance(p *Page) bool {
	moved := p.NextContinuationToken != q.ContinuationToken
	q.ContinuationToken = p.NextContinuationToken
	return moved
}

func (q *VersionsQuery) target() (string, url.Values, string) {
	return q.Bucket, query(url.Values{"versions": {""}}, q.Prefix, q.Delimiter, q.MaxKeys, q.Metadata,
		"key-marker", q.KeyMarker, "version-id-marker", q.VersionIDMarker), rootVersions
}

func (q *VersionsQuery) advance(p *Page) bool {
	moved := p.NextKeyMarker != q.KeyMarker || p.NextVersionIDMarker != q.VersionIDMarker
	q.KeyMarker, q.VersionIDMarker = p.NextKeyMarker, p.NextVersionIDMarker
	return moved
}

// ListPage sends one ListObjectsV2 request and decodes its answer into p.
func (c *Client) ListPage(ctx context.Context, q Query, p *Page) error { return c.page(ctx, &q, p) }

// VersionsPage sends one ListObjectVersions request and decodes its answer
// into p.
func (c *Client) VersionsPage(ctx context.Context, q VersionsQuery, p *Page) error {
	return c.page(ctx, &q, p)
}

// List lists from q to the end, page by page, calling fn with each page (a
// page is valid until fn returns; the strings it holds stay valid). It
// stops at the first error, or when fn returns ErrStop.
func (c *Client) List(ctx context.Context, q Query, fn func(*Page) error) error {
	return c.walk(ctx, &q, fn)
}

// Versions lists versions and delete markers from q to the end, as List
// lists objects.
func (c *Client) Versions(ctx context.Context, q VersionsQuery, fn func(*Page) error) error {
	return c.walk(ctx, &q, fn)
}

func (c *Client) page(ctx context.Context, r request, p *Page) error {
	bucket, query, root := r.target()
	if err := c.get(ctx, bucket, query, root, p); err != nil {
		return err
	}
	switch {
	case p.Truncated && root == rootList && p.NextContinuationToken == "":
		return errors.New("unreadable list page: truncated without a continuation token")
	case p.Truncated && root == rootVersions && p.NextKeyMarker == "":
		return errors.New("unreadable versions page: truncated without a next key marker")
	}
	return nil
}

func (c *Client) walk(ctx context.Context, r request, fn func(*Page) error) error {
	var p Page
	for {
		if err := c.page(ctx, r, &p); err != nil {
			return err
		}
		if err := fn(&p); err != nil {
			if errors.Is(err, ErrStop) {
				return nil
			}
			return err
		}
		if !p.Truncated {
			return nil
		}
		if !r.advance(&p) {
			return errors.New("the server sent back the position it was given: the listing would not progress")
		}
	}
}
