//go:build e2e

package s3list

import (
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"

	"github.com/starrocks-backup/srbackup/pkg/s3conf"
	"github.com/starrocks-backup/srbackup/pkg/testbed"
)

var update = flag.Bool("update", false, "rewrite testdata/ with the pages recorded from MinIO and listsim")

// recorder keeps the bodies of the responses passing through it.
type recorder struct {
	rt     http.RoundTripper
	mu     sync.Mutex
	bodies [][]byte
}

func (r *recorder) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, err := r.rt.RoundTrip(req)
	if err != nil {
		return nil, err
	}
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	r.mu.Lock()
	r.bodies = append(r.bodies, body)
	r.mu.Unlock()
	resp.Body = io.NopCloser(bytes.NewReader(body))
	return resp, err
}

// take returns the bodies recorded since the last call.
func (r *recorder) take() [][]byte {
	r.mu.Lock()
	defer r.mu.Unlock()
	b := r.bodies
	r.bodies = nil
	return b
}

// recordingClient returns a client for cfg whose responses rec keeps, and
// minio-go's client as s3conf builds it for mirror.
func recordingClient(t testing.TB, cfg s3conf.Config) (*Client, *recorder, *minio.Client) {
	t.Helper()
	mc, err := s3conf.NewMinio(cfg, 4)
	if err != nil {
		t.Fatal(err)
	}
	tr, err := cfg.Transport(4)
	if err != nil {
		t.Fatal(err)
	}
	rec := &recorder{rt: tr}
	c, err := NewWith(cfg, rec)
	if err != nil {
		t.Fatal(err)
	}
	return c, rec, mc
}

// writeTestdata saves a recorded page under testdata/ when -update is set,
// compressed when the name ends in .gz.
func writeTestdata(t testing.TB, name string, body []byte) {
	t.Helper()
	if !*update {
		return
	}
	if strings.HasSuffix(name, ".gz") {
		var buf bytes.Buffer
		zw, _ := gzip.NewWriterLevel(&buf, gzip.BestCompression)
		_, _ = zw.Write(body)
		if err := zw.Close(); err != nil {
			t.Fatal(err)
		}
		body = buf.Bytes()
	}
	if err := os.WriteFile(filepath.Join("testdata", name), body, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("wrote testdata/%s (%d bytes)", name, len(body))
}

func minioConfig(m *testbed.MinIO) s3conf.Config {
	return s3conf.Config{Endpoint: m.Endpoint(), Region: "us-east-1", AccessKey: m.AccessKey, SecretKey: m.SecretKey}
}

// minioBucket starts a MinIO with an empty bucket, and returns recording
// clients for it.
func minioBucket(t *testing.T, bucket string) (*testbed.MinIO, *Client, *recorder, *minio.Client) {
	t.Helper()
	m := testbed.NewMinIO(t)
	if err := m.MakeBucket(context.Background(), bucket, false); err != nil {
		t.Fatal(err)
	}
	c, rec, mc := recordingClient(t, minioConfig(m))
	return m, c, rec, mc
}

// put uploads objects (key → metadata) with a few workers.
func put(t *testing.T, mc *minio.Client, bucket string, objects map[string]map[string]string) {
	t.Helper()
	keys := make(chan string)
	errs := make(chan error, len(objects))
	var wg sync.WaitGroup
	for range 6 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for k := range keys {
				body := strings.Repeat("x", len(k)%7)
				_, err := mc.PutObject(context.Background(), bucket, k, strings.NewReader(body), int64(len(body)),
					minio.PutObjectOptions{UserMetadata: objects[k]})
				if err != nil {
					errs <- fmt.Errorf("put %q: %w", k, err)
				}
			}
		}()
	}
	for k := range objects {
		keys <- k
	}
	close(keys)
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
}

// entry is one item of a listing as both clients give it; prefix marks a
// common prefix.
type entry struct {
	Key, ETag, VersionID string
	Size                 int64
	Modified             time.Time
	Latest, Marker       bool
	Prefix, HasMeta      bool
	Meta                 string // sorted name=value lines
}

func metaString(names []string, value func(string) string) string {
	slices.Sort(names)
	var b strings.Builder
	for _, n := range names {
		b.WriteString(n + "=" + value(n) + "\n")
	}
	return b.String()
}

func fromPage(p *Page) []entry {
	var out []entry
	for _, o := range p.Objects {
		e := entry{Key: o.Key, ETag: o.ETag, VersionID: o.VersionID, Size: o.Size, Modified: o.LastModified.UTC(),
			Latest: o.IsLatest, Marker: o.DeleteMarker, HasMeta: o.HasMetadata}
		if o.HasMetadata {
			var names []string
			for _, m := range o.Metadata {
				names = append(names, m.Name)
			}
			e.Meta = metaString(names, func(n string) string { v, _ := o.Meta(n); return v })
		}
		out = append(out, e)
	}
	for _, cp := range p.CommonPrefixes {
		out = append(out, entry{Key: cp, Prefix: true})
	}
	return out
}

// fromMinio lists with minio-go as mirror does today.
func fromMinio(t *testing.T, mc *minio.Client, bucket string, opts minio.ListObjectsOptions) []entry {
	t.Helper()
	var out []entry
	for o := range mc.ListObjectsIter(context.Background(), bucket, opts) {
		if o.Err != nil {
			t.Fatal(o.Err)
		}
		e := entry{Key: o.Key, ETag: o.ETag, VersionID: o.VersionID, Size: o.Size, Modified: o.LastModified.UTC(),
			Latest: o.IsLatest, Marker: o.IsDeleteMarker, HasMeta: o.UserMetadata != nil}
		if !opts.Recursive && strings.HasSuffix(o.Key, "/") && o.ETag == "" && o.LastModified.IsZero() {
			e = entry{Key: o.Key, Prefix: true}
		}
		if e.HasMeta {
			var names []string
			for n := range o.UserMetadata {
				names = append(names, n)
			}
			e.Meta = metaString(names, func(n string) string { return o.UserMetadata[n] })
		}
		out = append(out, e)
	}
	return out
}

func diffEntries(got, want []entry) string {
	for i := range min(len(got), len(want)) {
		if got[i] != want[i] {
			return fmt.Sprintf("entry %d: %+v\nwant %+v", i, got[i], want[i])
		}
	}
	if len(got) != len(want) {
		return fmt.Sprintf("%d entries, want %d", len(got), len(want))
	}
	return ""
}

// Against a real MinIO, s3list lists what minio-go lists, field by field
// (keys, sizes, ETags, times, user metadata, common prefixes), with
// tricky keys, a control character only URL encoding can carry, paging,
// a prefix, a start key and delimiters; and the keys are those uploaded.
func TestListMatchesMinioGo(t *testing.T) {
	ctx := context.Background()
	_, c, rec, mc := minioBucket(t, "src")
	objects := map[string]map[string]string{"ctl\x01key": nil, "empty": nil}
	for _, k := range trickyKeys {
		objects[k] = map[string]string{"Srb-Source-Etag": "0cc175b9c0f1b6a831c399e269772661", "Note": "a&b <c>"}
	}
	for i := range 330 {
		var meta map[string]string
		if i%7 == 0 {
			meta = map[string]string{"Srb-Source-Etag": fmt.Sprintf("%032x", i)}
		}
		objects[fmt.Sprintf("db%d/t%d/data/%04d.dat", i%3, i%4, i)] = meta
	}
	put(t, mc, "src", objects)
	rec.take()

	for _, q := range []Query{
		{Bucket: "src", MaxKeys: 100},
		{Bucket: "src", Metadata: true},
		{Bucket: "src", Prefix: "db1/", StartAfter: "db1/t1/data/0100.dat", MaxKeys: 30},
		{Bucket: "src", Delimiter: "/"},
		{Bucket: "src", Prefix: "db0/", Delimiter: "/", MaxKeys: 2},
	} {
		var got []entry
		pages := 0
		if err := c.List(ctx, q, func(p *Page) error { got = append(got, fromPage(p)...); pages++; return nil }); err != nil {
			t.Fatalf("%+v: %v", q, err)
		}
		want := fromMinio(t, mc, q.Bucket, minio.ListObjectsOptions{Prefix: q.Prefix, StartAfter: q.StartAfter, Recursive: q.Delimiter == "",
			MaxKeys: q.MaxKeys, WithMetadata: q.Metadata})
		if d := diffEntries(got, want); d != "" {
			t.Fatalf("%+v: %s", q, d)
		}
		if q.MaxKeys > 0 && q.MaxKeys < len(got) && pages < 2 {
			t.Fatalf("%+v: %d entries in %d pages", q, len(got), pages)
		}
		bodies := rec.take()
		switch {
		case q.Metadata:
			if !got[0].HasMeta || !strings.Contains(got[0].Meta, "X-Amz-Meta-Srb-Source-Etag=") {
				t.Fatalf("no metadata listed: %+v", got[0])
			}
			writeTestdata(t, "minio-metadata.xml.gz", bodies[0])
		case q.MaxKeys == 100:
			var keys []string
			for _, e := range got {
				keys = append(keys, e.Key)
			}
			want := slices.Sorted(func(yield func(string) bool) {
				for k := range objects {
					yield(k)
				}
			})
			if !slices.Equal(keys, want) {
				t.Fatalf("listed %q\nuploaded %q", keys, want)
			}
			writeTestdata(t, "minio-page.xml", bodies[0])
		case q.Delimiter != "" && q.Prefix == "":
			writeTestdata(t, "minio-delimiter.xml", bodies[0])
		}
	}
}

// Versions and delete markers, in MinIO's order, as minio-go lists them
// (version ids, latest flags, markers, sizes, ETags, times), across pages.
func TestVersionsMatchMinioGo(t *testing.T) {
	ctx := context.Background()
	_, c, rec, mc := minioBucket(t, "ver")
	put(t, mc, "ver", map[string]map[string]string{"old": nil}) // before versioning: version "null"
	if err := mc.EnableVersioning(ctx, "ver"); err != nil {
		t.Fatal(err)
	}
	for range 3 {
		put(t, mc, "ver", map[string]map[string]string{"k1": nil, "a&b": nil, "new\nline": nil, "d/x y+z%": nil})
	}
	for _, k := range []string{"k1", "d/x y+z%"} {
		if err := mc.RemoveObject(ctx, "ver", k, minio.RemoveObjectOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	rec.take()
	for _, q := range []VersionsQuery{{Bucket: "ver"}, {Bucket: "ver", MaxKeys: 2}, {Bucket: "ver", Prefix: "d/", MaxKeys: 1}} {
		var got []entry
		if err := c.Versions(ctx, q, func(p *Page) error { got = append(got, fromPage(p)...); return nil }); err != nil {
			t.Fatal(err)
		}
		want := fromMinio(t, mc, "ver", minio.ListObjectsOptions{WithVersions: true, Recursive: true, Prefix: q.Prefix, MaxKeys: q.MaxKeys})
		if d := diffEntries(got, want); d != "" {
			t.Fatalf("%+v: %s", q, d)
		}
		if q.MaxKeys == 0 {
			count := map[string]int{}
			markers := 0
			for _, e := range got {
				count[e.Key]++
				if e.Marker {
					markers++
					if !e.Latest || e.Key != "k1" && e.Key != "d/x y+z%" {
						t.Fatalf("delete marker %+v", e)
					}
				}
			}
			if count["k1"] != 4 || count["a&b"] != 3 || count["new\nline"] != 3 || count["old"] != 1 || markers != 2 || got[len(got)-1].VersionID != "null" {
				t.Fatalf("versions %v, %d markers, last %+v", count, markers, got[len(got)-1])
			}
			writeTestdata(t, "minio-versions.xml", rec.take()[0])
		}
		rec.take()
	}
}

// Errors from a real MinIO are classified as minio-go's own are.
func TestMinIOErrors(t *testing.T) {
	ctx := context.Background()
	m, _, _, _ := minioBucket(t, "there")
	good := minioConfig(m)
	wrongSecret, unknownKey := good, good
	wrongSecret.SecretKey = "not-the-secret-key"
	unknownKey.AccessKey = "nobody"
	for _, tc := range []struct {
		name   string
		cfg    s3conf.Config
		bucket string
		kind   s3conf.Kind
	}{
		{"no such bucket", good, "missing", s3conf.NoSuchBucket},
		{"wrong secret", wrongSecret, "there", s3conf.BadCredentials},
		{"unknown access key", unknownKey, "there", s3conf.BadCredentials},
	} {
		c, _, mc := recordingClient(t, tc.cfg)
		errs := []error{
			c.ListPage(ctx, Query{Bucket: tc.bucket}, &Page{}),
			c.VersionsPage(ctx, VersionsQuery{Bucket: tc.bucket}, &Page{}),
		}
		var theirs error
		for o := range mc.ListObjectsIter(ctx, tc.bucket, minio.ListObjectsOptions{Recursive: true}) {
			theirs = o.Err
		}
		for _, err := range errs {
			var e minio.ErrorResponse
			if !errors.As(err, &e) || e.StatusCode < 400 || s3conf.Classify(err) != tc.kind || s3conf.Classify(theirs) != tc.kind {
				t.Fatalf("%s: %v (%v); minio-go: %v (%v)", tc.name, err, s3conf.Classify(err), theirs, s3conf.Classify(theirs))
			}
			if msg := s3conf.Explain(err, "list").Error(); strings.Contains(msg, tc.cfg.SecretKey) || msg != s3conf.Explain(theirs, "list").Error() {
				t.Fatalf("%s: %q; minio-go's: %q", tc.name, msg, s3conf.Explain(theirs, "list"))
			}
		}
	}
}
