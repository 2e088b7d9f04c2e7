//go:build e2e

package mirror_test

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"

	"github.com/starrocks-backup/srbackup/pkg/testbed"
)

// removeSetUp gives a source with 20 objects and a .lock file, and a
// target holding 5 of them, 3 target-only objects and a target-only .lock
// file. The tests exclude "**/*.lock".
func removeSetUp(t *testing.T) (a, b *testbed.MinIO) {
	t.Helper()
	a, b = testbed.NewMinIO(t), testbed.NewMinIO(t)
	bucket(t, a, "src")
	bucket(t, b, "dst")
	objs := map[string]obj{}
	for i := range 20 {
		objs[fmt.Sprintf("data/%02d.dat", i)] = obj{data: randBytes(uint64(i), 1000+i)}
	}
	put(t, a, "src", "sr/", objs)
	put(t, a, "src", "sr/", map[string]obj{"keep/source.lock": {data: []byte("excluded")}})
	some := map[string]obj{}
	for i := range 5 {
		k := fmt.Sprintf("data/%02d.dat", i)
		some[k] = objs[k]
	}
	put(t, b, "dst", "sr/", some)
	put(t, b, "dst", "sr/", map[string]obj{
		"data/old-1.dat": {data: []byte("vacuumed 1")}, "data/old-2.dat": {data: []byte("vacuumed 2")},
		"meta/old.meta": {data: []byte("vacuumed 3")}, "keep/notes.lock": {data: []byte("excluded")},
	})
	return a, b
}

var targetOnly = []string{"sr/data/old-1.dat", "sr/data/old-2.dat", "sr/meta/old.meta"}

func allExist(t *testing.T, m testbed.S3Server, bkt string, keys ...string) {
	t.Helper()
	for _, k := range keys {
		if !exists(t, m, bkt, k) {
			t.Fatalf("%s/%s was deleted", bkt, k)
		}
	}
}

func TestMirrorRemove(t *testing.T) {
	t.Run("over max-delete deletes nothing", func(t *testing.T) {
		a, b := removeSetUp(t)
		r := mirrorRun(t, direct(a), direct(b), "--source", "src/sr", "--target", "dst/sr", "--remove", "--max-delete", "2", "--exclude", "**/*.lock")
		wantError(t, r, 1, "more than --max-delete 2: nothing deleted")
		want(t, r, map[string]int64{"listed": 21, "excluded": 1, "copied": 15, "target_only": 3, "deleted": 0, "errors": 0})
		allExist(t, b, "dst", append(targetOnly, "sr/keep/notes.lock")...)
		if exists(t, b, "dst", "sr/keep/source.lock") {
			t.Fatal("an excluded source object was copied")
		}
	})

	t.Run("a failed copy deletes nothing", func(t *testing.T) {
		a, b := removeSetUp(t)
		proxy := testbed.NewFaultProxy(t, b.Endpoint())
		fault := proxy.Add(&testbed.Fault{Match: testbed.MatchAll(testbed.IsS3Put, testbed.S3KeyIs("sr/data/07.dat")), Status: 500, Code: "InternalError"})
		r := mirrorRun(t, direct(a), side{b, proxy.Endpoint()}, "--source", "src/sr", "--target", "dst/sr", "--remove", "--retries", "1", "--exclude", "**/*.lock")
		wantError(t, r, 1, "1 of 20 objects failed")
		want(t, r, map[string]int64{"copied": 14, "errors": 1, "deleted": 0, "target_only": 3})
		if fk := r.Fields["failed_keys"].([]any); len(fk) != 1 || fk[0] != "sr/data/07.dat" {
			t.Fatalf("failed_keys %v", fk)
		}
		if hits := proxy.Hits(fault); hits != 2 {
			t.Fatalf("the failing copy was tried %d times, want 2 (--retries 1)", hits)
		}
		if !strings.Contains(r.Str("error"), "none of the 3 target-only objects deleted") {
			t.Fatalf("error does not say nothing was deleted: %s", r.Str("error"))
		}
		allExist(t, b, "dst", append(targetOnly, "sr/keep/notes.lock")...)

		// Once the cause is gone, the same command completes the mirror.
		proxy.Clear()
		r = mirrorRun(t, direct(a), side{b, proxy.Endpoint()}, "--source", "src/sr", "--target", "dst/sr", "--remove", "--exclude", "**/*.lock")
		testbed.WantCode(t, r, 0)
		want(t, r, map[string]int64{"copied": 1, "skipped": 19, "deleted": 3})
	})

	t.Run("a listing that keeps failing deletes nothing", func(t *testing.T) {
		a, b := removeSetUp(t)
		proxy := testbed.NewFaultProxy(t, a.Endpoint())
		proxy.Add(&testbed.Fault{Match: testbed.IsS3List, Status: 503, Code: "SlowDown"})
		r := mirrorRun(t, side{a, proxy.Endpoint()}, direct(b), "--source", "src/sr", "--target", "dst/sr", "--remove", "--retries", "1", "--exclude", "**/*.lock")
		wantError(t, r, 1, "list source s3://src/sr/")
		want(t, r, map[string]int64{"deleted": 0, "copied": 0})
		allExist(t, b, "dst", append(targetOnly, "sr/keep/notes.lock")...)
	})

	t.Run("an empty source deletes nothing", func(t *testing.T) {
		a, b := removeSetUp(t)
		r := mirrorRun(t, direct(a), direct(b), "--source", "src/typo", "--target", "dst/sr", "--remove", "--max-delete", "100000")
		wantError(t, r, 1, "holds no object")
		want(t, r, map[string]int64{"listed": 0, "deleted": 0, "target_only": 9})
		allExist(t, b, "dst", targetOnly...)
	})

	t.Run("deletes target-only objects, not excluded ones", func(t *testing.T) {
		a, b := removeSetUp(t)
		r := mirrorRun(t, direct(a), direct(b), "--source", "src/sr", "--target", "dst/sr", "--remove", "--exclude", "**/*.lock", "--verify")
		testbed.WantCode(t, r, 0)
		want(t, r, map[string]int64{"copied": 15, "skipped": 5, "excluded": 1, "deleted": 3, "target_only": 3, "errors": 0})
		for _, k := range targetOnly {
			if exists(t, b, "dst", k) {
				t.Fatalf("%s not deleted", k)
			}
		}
		allExist(t, b, "dst", "sr/keep/notes.lock")
		sameTree(t, without(snapshot(t, a, "src", "sr/"), "keep/source.lock"), without(snapshot(t, b, "dst", "sr/"), "keep/notes.lock"))
	})
}

func TestMirrorDryRunChangesNothing(t *testing.T) {
	a, b := removeSetUp(t)
	before := snapshot(t, b, "dst", "sr/")
	r := mirrorRun(t, direct(a), direct(b), "--source", "src/sr", "--target", "dst/sr", "--dry-run", "--remove", "--exclude", "**/*.lock")
	testbed.WantCode(t, r, 0)
	want(t, r, map[string]int64{"copied": 15, "skipped": 5, "deleted": 3, "target_only": 3})
	if r.Fields["dry_run"] != true || r.Num("bytes") == 0 {
		t.Fatalf("result: %s", r.Line)
	}
	sameTree(t, before, snapshot(t, b, "dst", "sr/"))
	wouldCopy, wouldDelete := 0, 0
	for _, l := range r.Logs {
		switch l["message"] {
		case "dry run: would copy":
			wouldCopy++
		case "dry run: would delete":
			wouldDelete++
		}
	}
	if wouldCopy != 15 || wouldDelete != 3 {
		t.Fatalf("dry run logged %d copies and %d deletions, want 15 and 3", wouldCopy, wouldDelete)
	}
}

// --verify lists both sides again after the copy. The target is tampered
// with at the moment its second listing starts: verify must notice.
func TestMirrorVerifyCatchesTamperedTarget(t *testing.T) {
	for _, tc := range []struct {
		name   string
		tamper func(c *minio.Client) error
	}{
		{"same size, other bytes", func(c *minio.Client) error {
			data := bytes.Repeat([]byte("X"), 1003)
			_, err := c.PutObject(context.Background(), "dst", "sr/data/03.dat", bytes.NewReader(data), int64(len(data)), minio.PutObjectOptions{})
			return err
		}},
		{"deleted", func(c *minio.Client) error {
			return c.RemoveObject(context.Background(), "dst", "sr/data/03.dat", minio.RemoveObjectOptions{})
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a, b := removeSetUp(t)
			proxy := testbed.NewFaultProxy(t, b.Endpoint())
			var lists atomic.Int32
			var tamperErr error
			proxy.Add(&testbed.Fault{Match: testbed.IsS3List, Before: func(*http.Request) {
				if lists.Add(1) == 2 { // the verify pass's listing
					tamperErr = tc.tamper(b.Client())
				}
			}})
			r := mirrorRun(t, direct(a), side{b, proxy.Endpoint()}, "--source", "src/sr", "--target", "dst/sr", "--verify")
			if tamperErr != nil || lists.Load() < 2 {
				t.Fatalf("tampering failed: %v (%d listings)", tamperErr, lists.Load())
			}
			wantError(t, r, 1, "verify: 1 objects differ")
			want(t, r, map[string]int64{"copied": 16, "errors": 0, "verify_mismatches": 1})
			if r.Fields["verified"] != false || fmt.Sprint(r.Fields["mismatched_keys"]) != "[sr/data/03.dat]" {
				t.Fatalf("result: %s", r.Line)
			}
		})
	}
}

// The target server stops while objects are being copied: exit 1, and the
// same command, once the server is back, completes the mirror.
func TestMirrorServerStoppedMidRun(t *testing.T) {
	a, b := testbed.NewMinIO(t), testbed.NewMinIO(t)
	bucket(t, a, "src")
	bucket(t, b, "dst")
	objs := map[string]obj{}
	for i := range 400 {
		objs[fmt.Sprintf("data/%03d.dat", i)] = obj{data: randBytes(uint64(i), 20000)}
	}
	put(t, a, "src", "sr/", objs)
	// Each write takes 50 ms more through the proxy: 4 workers need about
	// 5 s for the 400 objects, time enough to stop the server mid-run.
	proxy := testbed.NewFaultProxy(t, b.Endpoint())
	proxy.Add(&testbed.Fault{Match: testbed.IsS3Put, Delay: 50 * time.Millisecond})
	target := side{b, proxy.Endpoint()}

	done := make(chan testbed.Result, 1)
	go func() {
		done <- mirrorRun(t, direct(a), target, "--source", "src/sr", "--target", "dst/sr", "--workers", "4", "--retries", "1", "--progress-interval", "200ms")
	}()
	deadline := time.Now().Add(20 * time.Second)
	for countObjects(b, "dst") < 30 {
		if time.Now().After(deadline) {
			t.Fatal("the mirror did not start copying")
		}
		time.Sleep(20 * time.Millisecond)
	}
	b.Stop()
	var r testbed.Result
	select {
	case r = <-done:
	case <-time.After(2 * time.Minute):
		t.Fatal("the mirror did not stop after its target server did")
	}
	wantError(t, r, 1, "unreachable")
	if !r.HasLog("info", "progress") {
		t.Fatalf("no progress line in a run of several seconds:\n%s", tail(r.Stderr))
	}
	copied := r.Num("copied")
	if copied < 30 || copied >= 400 {
		t.Fatalf("copied %d objects before the stop, want between 30 and 399", copied)
	}

	if err := b.Start(); err != nil {
		t.Fatal(err)
	}
	proxy.Clear()
	r = mirrorRun(t, direct(a), target, "--source", "src/sr", "--target", "dst/sr", "--verify")
	testbed.WantCode(t, r, 0)
	if r.Num("copied")+r.Num("skipped") != 400 || r.Num("copied") < 400-copied-4 || r.Fields["verified"] != true {
		t.Fatalf("re-run after %d copied: %s", copied, r.Line)
	}
	sameTree(t, snapshot(t, a, "src", "sr/"), snapshot(t, b, "dst", "sr/"))
}

// SIGTERM (Airflow stopping the task) ends the run promptly with exit 130
// and a result saying how far it got.
func TestMirrorSIGTERM(t *testing.T) {
	a, b := testbed.NewMinIO(t), testbed.NewMinIO(t)
	bucket(t, a, "src")
	bucket(t, b, "dst")
	objs := map[string]obj{}
	for i := range 400 {
		objs[fmt.Sprintf("data/%03d.dat", i)] = obj{data: randBytes(uint64(i), 1000)}
	}
	put(t, a, "src", "sr/", objs)
	// 400 writes of 50 ms more each by 4 workers: about 5 s of work.
	proxy := testbed.NewFaultProxy(t, b.Endpoint())
	proxy.Add(&testbed.Fault{Match: testbed.IsS3Put, Delay: 50 * time.Millisecond})
	r := testbed.Task(t, "mirror", "--source", "src/sr", "--target", "dst/sr", "--workers", "4").
		Env(env(direct(a), side{b, proxy.Endpoint()})...).RunWithSignal(syscall.SIGTERM, 1500*time.Millisecond)
	wantError(t, r, 130, "cancelled")
	if n := r.Num("copied"); n >= 400 || r.Num("listed") < n {
		t.Fatalf("result after SIGTERM: %s", r.Line)
	}
}

func countObjects(m testbed.S3Server, bkt string) int {
	n := 0
	for o := range m.Client().ListObjectsIter(context.Background(), bkt, minio.ListObjectsOptions{Recursive: true}) {
		if o.Err != nil {
			return 0
		}
		n++
	}
	return n
}

// A listing request that fails is retried from the last key received; the
// listing is complete and nothing is copied twice or missed. One sequential
// listing per side (--list-workers 1), so that the requests can be counted;
// TestMirrorParallelListing fails a listing among parallel units.
func TestMirrorListingErrorIsRetried(t *testing.T) {
	a, b := testbed.NewMinIO(t), testbed.NewMinIO(t)
	bucket(t, a, "src")
	bucket(t, b, "dst")
	objs := map[string]obj{}
	for i := range 2500 {
		objs[fmt.Sprintf("data/%04d.dat", i)] = obj{data: []byte(fmt.Sprint(i))}
	}
	put(t, a, "src", "sr/", objs)
	proxy := testbed.NewFaultProxy(t, a.Endpoint())
	var lists atomic.Int32
	// The second page request and the next one fail: the task resumes the
	// listing (--retries 2), and nothing else retries under it (the S3
	// client sends each request once): exactly two retries, one listing
	// request each.
	proxy.Add(&testbed.Fault{Match: func(r *http.Request) bool {
		if !testbed.IsS3List(r) {
			return false
		}
		n := lists.Add(1)
		return n >= 2 && n <= 3
	}, Status: 500, Code: "InternalError"})
	r := mirrorRun(t, side{a, proxy.Endpoint()}, direct(b), "--source", "src/sr", "--target", "dst/sr", "--retries", "2", "--list-workers", "1")
	testbed.WantCode(t, r, 0)
	want(t, r, map[string]int64{"listed": 2500, "copied": 2500, "errors": 0, "retries": 2})
	if !r.HasLog("warn", "listing failed; resuming") {
		t.Fatalf("no listing retry reported: %s\n%s", r.Line, tail(r.Stderr))
	}
	if n := lists.Load(); n != 5 { // 3 pages of 1,000 keys, 2 failed requests
		t.Fatalf("%d listing requests, want 5", n)
	}
	if got := countObjects(b, "dst"); got != 2500 {
		t.Fatalf("target holds %d objects, want 2500", got)
	}

	// A listing that fails for good after its first page is an error, not
	// a short listing: with --remove, the 1,500 objects it did not reach
	// must not look target-only, and nothing is deleted.
	put(t, b, "dst", "sr/", map[string]obj{"zz/target-only.dat": {data: []byte("x")}})
	proxy.Clear()
	lists.Store(0)
	proxy.Add(&testbed.Fault{Match: func(r *http.Request) bool {
		bkt, _ := testbed.S3BucketKey(r)
		return testbed.IsS3List(r) && bkt == "src" && lists.Add(1) >= 2
	}, Status: 500, Code: "InternalError"})
	r = mirrorRun(t, side{a, proxy.Endpoint()}, direct(b), "--source", "src/sr", "--target", "dst/sr", "--retries", "1",
		"--remove", "--max-delete", "100000", "--list-workers", "1")
	wantError(t, r, 1, "list source s3://src/sr/")
	want(t, r, map[string]int64{"deleted": 0, "copied": 0})
	if r.Num("listed") >= 2500 {
		t.Fatalf("the failing listing reached %d objects", r.Num("listed"))
	}
	if got := countObjects(b, "dst"); got != 2501 {
		t.Fatalf("target holds %d objects, want 2501: a failed listing deleted objects", got)
	}
}
