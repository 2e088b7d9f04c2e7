//go:build e2e

package mirror_test

import (
	"bytes"
	"compress/gzip"
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/minio/minio-go/v7"

	"github.com/starrocks-backup/srbackup/pkg/testbed"
)

// One MinIO reached by two names is one server: mirror of a prefix into
// its own bucket with --remove must not delete the source. Names that
// differ only in case or a trailing slash are refused before any request;
// two different names (127.0.0.1, localhost) by a probe object. Two real
// servers holding the same bucket names are not one, and the probe leaves
// nothing behind.
func TestMirrorOneServerTwoNames(t *testing.T) {
	a := testbed.NewMinIO(t)
	bucket(t, a, "ovb")
	put(t, a, "ovb", "", map[string]obj{"ov/1.dat": {data: []byte("one")}, "ov/2.dat": {data: []byte("two")},
		"ov/3.dat": {data: []byte("three")}, "unrelated.dat": {data: []byte("keep me")}})
	before := snapshot(t, a, "ovb", "")
	localhost := side{a, fmt.Sprintf("http://localhost:%d", a.Port)}
	for _, tc := range []struct {
		name     string
		src, dst side
		code     int
		message  string
	}{
		{"ip and name", direct(a), localhost, 2, "both endpoints reach the same server"},
		{"name and ip", localhost, direct(a), 2, "both endpoints reach the same server"},
		{"case and trailing slash", localhost, side{a, fmt.Sprintf("HTTP://LOCALHOST:%d/", a.Port)}, 2, "overlap on"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := mirrorRun(t, tc.src, tc.dst, "--source", "ovb/ov", "--target", "ovb", "--remove")
			wantError(t, r, tc.code, tc.message)
			sameTree(t, before, snapshot(t, a, "ovb", ""))
		})
	}

	t.Run("probe not writable: --remove refuses", func(t *testing.T) {
		proxy := testbed.NewFaultProxy(t, a.Endpoint())
		proxy.Add(&testbed.Fault{Match: func(r *http.Request) bool {
			_, key := testbed.S3BucketKey(r)
			return r.Method == http.MethodPut && strings.Contains(key, ".srb-overlap-probe-")
		}, Status: 403, Code: "AccessDenied"})
		r := mirrorRun(t, direct(a), side{a, proxy.Endpoint()}, "--source", "ovb/ov", "--target", "ovb", "--remove")
		wantError(t, r, 1, "--remove: cannot rule out that source s3://ovb/ov/")
		if !strings.Contains(r.Str("error"), "write probe object") || !strings.Contains(r.Str("error"), "access denied") {
			t.Fatalf("the error does not say why: %s", r.Str("error"))
		}
		sameTree(t, before, snapshot(t, a, "ovb", ""))
	})

	t.Run("two servers, same bucket names", func(t *testing.T) {
		b := testbed.NewMinIO(t)
		bucket(t, b, "ovb")
		put(t, b, "ovb", "", map[string]obj{"zz-target-only.dat": {data: []byte("old")}})
		r := mirrorRun(t, direct(a), direct(b), "--source", "ovb/ov", "--target", "ovb", "--remove")
		testbed.WantCode(t, r, 0)
		want(t, r, map[string]int64{"copied": 3, "deleted": 1})
		got := snapshot(t, b, "ovb", "")
		sameTree(t, snapshot(t, a, "ovb", "ov/"), got)
		sameTree(t, before, snapshot(t, a, "ovb", ""))
	})
}

// Exclude patterns match keys holding newlines: an excluded target object
// is kept by --remove, and an excluded source object is not copied.
func TestMirrorExcludeMatchesNewlines(t *testing.T) {
	a, b := testbed.NewMinIO(t), testbed.NewMinIO(t)
	bucket(t, a, "src")
	bucket(t, b, "dst")
	put(t, a, "src", "sr/", map[string]obj{"data/ok.dat": {data: []byte("copy me")}, "tmp\nx/a.lock": {data: []byte("excluded")}})
	put(t, b, "dst", "sr/", map[string]obj{"old\ndir/b.lock": {data: []byte("excluded, keep")}, "data/gone.dat": {data: []byte("delete me")}})
	r := mirrorRun(t, direct(a), direct(b), "--source", "src/sr", "--target", "dst/sr", "--remove", "--exclude", "**/*.lock")
	testbed.WantCode(t, r, 0)
	want(t, r, map[string]int64{"listed": 2, "excluded": 1, "copied": 1, "deleted": 1, "target_only": 1})
	allExist(t, b, "dst", "sr/old\ndir/b.lock", "sr/data/ok.dat")
	if exists(t, b, "dst", "sr/tmp\nx/a.lock") || exists(t, b, "dst", "sr/data/gone.dat") {
		t.Fatal("an excluded source object was copied, or a target-only one kept")
	}
}

// A target object changed behind mirror's back (same size, other bytes)
// that carries the source's recorded ETag (its metadata copied along) is
// copied again: both plain-MD5 ETags differ, whatever the record says.
func TestMirrorRepairsTamperedTarget(t *testing.T) {
	a, b := testbed.NewMinIO(t), testbed.NewMinIO(t)
	bucket(t, a, "src")
	bucket(t, b, "dst")
	put(t, a, "src", "sr/", map[string]obj{"data/x.dat": {data: randBytes(1, 1000)}, "data/y.dat": {data: randBytes(2, 1000)}})
	testbed.WantCode(t, mirrorRun(t, direct(a), direct(b), "--source", "src/sr", "--target", "dst/sr"), 0)
	copied := snapshot(t, b, "dst", "sr/")
	put(t, b, "dst", "sr/", map[string]obj{"data/x.dat": {data: randBytes(3, 1000), meta: map[string]string{"Srb-Source-Etag": copied["data/x.dat"].record}}})
	if tampered := snapshot(t, b, "dst", "sr/")["data/x.dat"]; tampered.record != copied["data/x.dat"].record || tampered.sha == copied["data/x.dat"].sha {
		t.Fatalf("set-up: tampered object %+v", tampered)
	}
	r := mirrorRun(t, direct(a), direct(b), "--source", "src/sr", "--target", "dst/sr", "--verify")
	testbed.WantCode(t, r, 0)
	want(t, r, map[string]int64{"copied": 1, "skipped": 1})
	sameTree(t, snapshot(t, a, "src", "sr/"), snapshot(t, b, "dst", "sr/"))
}

// An empty or mistyped source is a failure, not an empty backup, unless
// --allow-empty-source says it is expected.
func TestMirrorEmptySource(t *testing.T) {
	a, b := testbed.NewMinIO(t), testbed.NewMinIO(t)
	bucket(t, a, "src")
	bucket(t, b, "dst")
	put(t, a, "src", "sr/", map[string]obj{"x.dat": {data: []byte("x")}})
	r := mirrorRun(t, direct(a), direct(b), "--source", "src/typo", "--target", "dst/sr")
	wantError(t, r, 1, "the source s3://src/typo/ holds no object (wrong bucket or prefix?)")
	want(t, r, map[string]int64{"listed": 0, "copied": 0})
	r = mirrorRun(t, direct(a), direct(b), "--source", "src/typo", "--target", "dst/sr", "--allow-empty-source")
	testbed.WantCode(t, r, 0)
	want(t, r, map[string]int64{"listed": 0, "copied": 0})
}

// gzipped returns text compressed, as a web server or a backup tool stores
// it with Content-Encoding: gzip.
func gzipped(t *testing.T, text string) []byte {
	t.Helper()
	var b bytes.Buffer
	w := gzip.NewWriter(&b)
	if _, err := w.Write([]byte(strings.Repeat(text, 100))); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// An object stored with Content-Encoding: gzip is copied as stored (bytes
// and header), on the streamed path: the client never asks for gzip.
func TestMirrorGzipEncodedObject(t *testing.T) {
	a, b := testbed.NewMinIO(t), testbed.NewMinIO(t)
	bucket(t, a, "src")
	bucket(t, b, "dst")
	put(t, a, "src", "sr/", map[string]obj{"logs/fe.log.gz": {data: gzipped(t, "fe log line\n"), encoding: "gzip", contentType: "text/plain"}})
	r := mirrorRun(t, direct(a), direct(b), "--source", "src/sr", "--target", "dst/sr", "--verify")
	testbed.WantCode(t, r, 0)
	want(t, r, map[string]int64{"copied": 1})
	sameTree(t, snapshot(t, a, "src", "sr/"), snapshot(t, b, "dst", "sr/"))
	st, err := b.Client().StatObject(context.Background(), "dst", "sr/logs/fe.log.gz", minio.StatObjectOptions{})
	if err != nil || st.Metadata.Get("Content-Encoding") != "gzip" {
		t.Fatalf("target object: %v %v", st.Metadata, err)
	}
}
