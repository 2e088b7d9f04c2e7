//go:build e2e

package mirror_test

import (
	"context"
	"testing"

	"github.com/minio/minio-go/v7"

	"github.com/starrocks-backup/srbackup/pkg/testbed"
)

// Two servers: the streamed GET → PUT path. One run copies a tree with
// every awkward kind of key, empty objects, a multipart object and more
// than a listing page; the next copies nothing; same-size changes are
// copied; target-only objects are kept without --remove.
func TestMirrorStreamed(t *testing.T) {
	a, b := testbed.NewMinIO(t), testbed.NewMinIO(t)
	bucket(t, a, "sr-data")
	bucket(t, b, "backups")
	tree := starrocksTree(1100)
	tree["big/segment.dat"] = obj{data: randBytes(7, 65<<20+12345), partSize: 16 << 20}
	tree["big/small-multipart.dat"] = obj{data: randBytes(8, 11<<20), partSize: 5 << 20}
	put(t, a, "sr-data", "starrocks/", tree)
	src := snapshot(t, a, "sr-data", "starrocks/")
	if len(src) != len(tree) {
		t.Fatalf("set-up: %d objects listed, %d put", len(src), len(tree))
	}
	if etag := src["big/segment.dat"].etag; len(etag) < 34 || etag[len(etag)-2:] != "-5" {
		t.Fatalf("set-up: the big object is not multipart: etag %q", etag)
	}
	var total int64
	for _, s := range src {
		total += s.size
	}
	n := int64(len(tree))

	// First run: everything copied, byte for byte, with metadata.
	r := mirrorRun(t, direct(a), direct(b), "--source", "s3://sr-data/starrocks", "--target", "backups/copies/sr/")
	testbed.WantCode(t, r, 0)
	want(t, r, map[string]int64{"listed": n, "copied": n, "skipped": 0, "errors": 0, "bytes": total, "deleted": 0, "target_only": 0, "target_listed": 0})
	if r.Str("source") != "s3://sr-data/starrocks/" || r.Str("target") != "s3://backups/copies/sr/" || r.Fields["server_side"] != false || r.Fields["dry_run"] != false {
		t.Fatalf("result: %s", r.Line)
	}
	if fk, ok := r.Fields["failed_keys"].([]any); !ok || len(fk) != 0 {
		t.Fatalf("failed_keys: %v", r.Fields["failed_keys"])
	}
	if r.Fields["objects_per_s"].(float64) <= 0 || r.Fields["bytes_per_s"].(float64) <= 0 {
		t.Fatalf("rates: %s", r.Line)
	}
	dst := snapshot(t, b, "backups", "copies/sr/")
	sameTree(t, src, dst)
	for k, s := range src {
		if dst[k].record != s.etag {
			t.Fatalf("%s: recorded source etag %q, want %q", k, dst[k].record, s.etag)
		}
	}
	if got := dst["typed/report.json"]; got.contentType != "application/json" || got.meta["owner"] != "starrocks" {
		t.Fatalf("content type or metadata lost: %+v", got)
	}

	// No change: nothing copied. Single-part objects compare by their MD5
	// ETags; only the two multipart sources need a HEAD of their copy, for
	// the recorded source ETag.
	r = mirrorRun(t, direct(a), direct(b), "--source", "sr-data/starrocks", "--target", "backups/copies/sr")
	testbed.WantCode(t, r, 0)
	want(t, r, map[string]int64{"listed": n, "copied": 0, "skipped": n, "bytes": 0, "heads": 2, "target_listed": n})

	// Same-size changes, single-part and multipart: copied. A target-only
	// object is kept.
	put(t, a, "sr-data", "starrocks/", map[string]obj{
		"typed/GC.json":           {data: []byte(`{"gc":2}`), contentType: "application/json"},
		"big/small-multipart.dat": {data: randBytes(9, 11<<20), partSize: 5 << 20},
	})
	put(t, b, "backups", "copies/sr/", map[string]obj{"only-here/x.dat": {data: []byte("target only")}})
	r = mirrorRun(t, direct(a), direct(b), "--source", "sr-data/starrocks", "--target", "backups/copies/sr", "--verify")
	testbed.WantCode(t, r, 0)
	want(t, r, map[string]int64{"copied": 2, "skipped": n - 2, "bytes": 8 + 11<<20, "target_only": 1, "deleted": 0, "verify_mismatches": 0})
	if r.Fields["verified"] != true {
		t.Fatalf("verify did not report success: %s", r.Line)
	}
	sameTree(t, snapshot(t, a, "sr-data", "starrocks/"), without(snapshot(t, b, "backups", "copies/sr/"), "only-here/x.dat"))
	if !exists(t, b, "backups", "copies/sr/only-here/x.dat") {
		t.Fatal("a target-only object was deleted without --remove")
	}
	if !r.HasLog("info", "kept") {
		t.Fatalf("no log line about the kept target-only objects:\n%s", tail(r.Stderr))
	}
}

func without(m map[string]stored, keys ...string) map[string]stored {
	for _, k := range keys {
		if _, ok := m[k]; !ok {
			panic("without: no key " + k)
		}
		delete(m, k)
	}
	return m
}

// One server, same credentials: the server copies (CopyObject), metadata
// and the recorded ETag included, and a re-run copies nothing.
func TestMirrorServerSide(t *testing.T) {
	a := testbed.NewMinIO(t)
	bucket(t, a, "sr-data")
	bucket(t, a, "sr-copy")
	tree := starrocksTree(50)
	tree["big/segment.dat"] = obj{data: randBytes(7, 20<<20), partSize: 5 << 20}
	put(t, a, "sr-data", "starrocks/", tree)
	src := snapshot(t, a, "sr-data", "starrocks/")
	n := int64(len(tree))

	r := mirrorRun(t, direct(a), direct(a), "--source", "sr-data/starrocks", "--target", "sr-copy/starrocks")
	testbed.WantCode(t, r, 0)
	want(t, r, map[string]int64{"copied": n, "errors": 0})
	if r.Fields["server_side"] != true {
		t.Fatalf("same server and credentials, but not server-side: %s", r.Line)
	}
	dst := snapshot(t, a, "sr-copy", "starrocks/")
	sameTree(t, src, dst)
	for k, s := range src {
		if dst[k].record != s.etag {
			t.Fatalf("%s: recorded source etag %q, want %q", k, dst[k].record, s.etag)
		}
	}
	r = mirrorRun(t, direct(a), direct(a), "--source", "sr-data/starrocks", "--target", "sr-copy/starrocks")
	testbed.WantCode(t, r, 0)
	want(t, r, map[string]int64{"copied": 0, "skipped": n})

	// A second folder of the same bucket is a valid target too.
	r = mirrorRun(t, direct(a), direct(a), "--source", "sr-data/starrocks", "--target", "sr-data/starrocks-copy")
	testbed.WantCode(t, r, 0)
	want(t, r, map[string]int64{"copied": n})
	sameTree(t, src, snapshot(t, a, "sr-data", "starrocks-copy/"))
}

// Backup MinIO → second server, lose the original bucket, restore to the
// same bucket and prefix: the tree is byte-identical.
func TestMirrorRestoreIsByteIdentical(t *testing.T) {
	a, b := testbed.NewMinIO(t), testbed.NewMinIO(t)
	bucket(t, a, "sr-data")
	bucket(t, b, "offsite")
	tree := starrocksTree(200)
	tree["big/segment.dat"] = obj{data: randBytes(7, 18<<20), partSize: 5 << 20}
	put(t, a, "sr-data", "starrocks/", tree)
	original := snapshot(t, a, "sr-data", "starrocks/")

	testbed.WantCode(t, mirrorRun(t, direct(a), direct(b), "--source", "sr-data/starrocks", "--target", "offsite/cluster1/starrocks"), 0)

	// The original is lost.
	c := a.Client()
	ctx := context.Background()
	if err := c.RemoveBucketWithOptions(ctx, "sr-data", minio.RemoveBucketOptions{ForceDelete: true}); err != nil {
		t.Fatal(err)
	}
	bucket(t, a, "sr-data")

	r := mirrorRun(t, direct(b), direct(a), "--source", "offsite/cluster1/starrocks", "--target", "sr-data/starrocks")
	testbed.WantCode(t, r, 0)
	want(t, r, map[string]int64{"copied": int64(len(tree)), "errors": 0})
	restored := snapshot(t, a, "sr-data", "starrocks/")
	sameTree(t, original, restored)
	// The single-part objects even keep their ETags (the MD5 of the bytes).
	for k, o := range original {
		if len(o.etag) == 32 && restored[k].etag != o.etag {
			t.Fatalf("%s: etag %q, want %q", k, restored[k].etag, o.etag)
		}
	}
}
