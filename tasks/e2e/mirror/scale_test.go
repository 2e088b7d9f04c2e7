//go:build e2e

package mirror_test

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"io"
	"net/http"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"

	"github.com/starrocks-backup/srbackup/pkg/testbed"
)

// The source listed in parallel units: one folder of 50,000 keys beside
// folders of 60 to 120 (only the source holds the 50,000, written in one
// snowball upload: MinIO writes about 1,000 objects a second here). The
// target holds the small folders, every 100th key of the big one and a
// few keys of its own in it. A dry run lists both sides in units and
// finds exactly the difference: a key matched against the wrong one, or
// listed twice, or missed, would change the counts. Then a listing of the
// big folder fails for good after some pages: the run fails, names the
// listing, and deletes nothing, though the target-only objects and the
// keys the failed listing never reached would look deletable.
func TestMirrorParallelListing(t *testing.T) {
	a, b := testbed.NewMinIO(t), testbed.NewMinIO(t)
	bucket(t, a, "src")
	bucket(t, b, "dst")
	objs, some := map[string][]byte{}, map[string][]byte{}
	for i := range 50000 {
		k := fmt.Sprintf("sr/big/%05d.dat", i)
		objs[k] = []byte(fmt.Sprint(i))
		if i%100 == 42 {
			some[k] = objs[k]
		}
	}
	for p := range 30 {
		for i := range 60 + p%3*30 {
			k := fmt.Sprintf("sr/small-%02d/%03d.dat", p, i)
			objs[k], some[k] = []byte(fmt.Sprint(p, i)), []byte(fmt.Sprint(p, i))
		}
	}
	for _, k := range []string{"sr/big/00042x.dat", "sr/big/31337-old.dat", "sr/big/49999z.dat", "sr/aaa-old", "sr/zzz-old"} {
		some[k] = []byte("old")
	}
	start := time.Now()
	putBulk(t, a, "src", objs)
	putBulk(t, b, "dst", some)
	t.Logf("trees written in %s", time.Since(start))
	total, present := int64(len(objs)), int64(len(some)-5)

	proxy := testbed.NewFaultProxy(t, a.Endpoint())
	src := side{a, proxy.Endpoint()}
	r := mirrorRun(t, src, direct(b), "--source", "src/sr", "--target", "dst/sr", "--list-workers", "8", "--dry-run", "--remove",
		"--max-delete", "5")
	testbed.WantCode(t, r, 0)
	want(t, r, map[string]int64{"listed": total, "target_listed": present + 5, "copied": total - present, "skipped": present,
		"target_only": 5, "deleted": 5, "errors": 0})
	if r.Num("units") < 2 || r.Num("discovery_requests") < 3 {
		t.Fatalf("not listed in parallel units: %s", r.Line)
	}

	// The listing of the big folder fails for good past big/02000: a
	// request resuming there fails (mirror resumes with start-after; a
	// continuation token, which MinIO makes of the last key in base64,
	// would be caught too).
	fault := proxy.Add(&testbed.Fault{Match: func(r *http.Request) bool {
		q := r.URL.Query()
		at := q.Get("start-after")
		if tok := q.Get("continuation-token"); tok != "" {
			b, _ := base64.StdEncoding.DecodeString(tok)
			at, _, _ = strings.Cut(string(b), "[")
		}
		return testbed.IsS3List(r) && q.Get("delimiter") == "" && at > "sr/big/02000" && at < "sr/big0"
	}, Status: 500, Code: "InternalError"})
	r = mirrorRun(t, src, direct(b), "--source", "src/sr", "--target", "dst/sr", "--list-workers", "8", "--retries", "1",
		"--remove", "--max-delete", "100000")
	wantError(t, r, 1, "list source s3://src/sr/ in ")
	want(t, r, map[string]int64{"deleted": 0})
	// The fourth page fails, and so does its retry from the last key.
	if proxy.Hits(fault) != 2 || r.Num("listed") >= total || !r.HasLog("warn", "listing failed; resuming") {
		t.Fatalf("failing listing (%d requests failed): %s", proxy.Hits(fault), r.Line)
	}
	for _, k := range []string{"sr/big/00042x.dat", "sr/big/31337-old.dat", "sr/big/49999z.dat", "sr/aaa-old", "sr/zzz-old"} {
		if !exists(t, b, "dst", k) {
			t.Fatalf("a failed listing deleted %s", k)
		}
	}
}

// bigObject writes a 200 MiB object of random bytes and returns its
// SHA-256.
func bigObject(t *testing.T, m testbed.S3Server, bkt, key string) [32]byte {
	t.Helper()
	data := randBytes(77, 200<<20)
	put(t, m, bkt, "", map[string]obj{key: {data: data, partSize: 64 << 20}})
	return sha256.Sum256(data)
}

func sha(t *testing.T, m testbed.S3Server, bkt, key string) ([32]byte, minio.ObjectInfo) {
	t.Helper()
	o, err := m.Client().GetObject(context.Background(), bkt, key, minio.GetObjectOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer o.Close()
	h := sha256.New()
	if _, err := io.Copy(h, o); err != nil {
		t.Fatalf("get %s/%s: %v", bkt, key, err)
	}
	st, _ := o.Stat()
	return [32]byte(h.Sum(nil)), st
}

func noUploads(t *testing.T, m testbed.S3Server, bkt string) {
	t.Helper()
	for u := range m.Client().ListIncompleteUploads(context.Background(), bkt, "", true) {
		t.Fatalf("multipart upload left behind: %s (%v)", u.Key, u.Err)
	}
}

// A 200 MiB segment copied in parts of 8 MiB, 8 at once, across servers:
// byte-identical, recorded, a multipart object of 25 parts; a part whose
// upload fails once is retried alone (one retry, the object copied once);
// on one server the parts are server-side copies (64 MiB: 4 parts).
func TestMirrorParallelParts(t *testing.T) {
	a, b := testbed.NewMinIO(t), testbed.NewMinIO(t)
	bucket(t, a, "src")
	bucket(t, b, "dst")
	want200 := bigObject(t, a, "src", "sr/seg.dat")
	proxy := testbed.NewFaultProxy(t, b.Endpoint())
	fault := proxy.Add(&testbed.Fault{Match: func(r *http.Request) bool {
		return r.Method == http.MethodPut && r.URL.Query().Get("partNumber") == "13"
	}, Times: 1, Status: 500, Code: "InternalError"})
	r := mirrorRun(t, direct(a), side{b, proxy.Endpoint()}, "--source", "src/sr", "--target", "dst/sr", "--retries", "2")
	testbed.WantCode(t, r, 0)
	want(t, r, map[string]int64{"copied": 1, "bytes": 200 << 20, "retries": 1, "errors": 0})
	got, st := sha(t, b, "dst", "sr/seg.dat")
	_, srcSt := sha(t, a, "src", "sr/seg.dat")
	if got != want200 || !strings.HasSuffix(st.ETag, "-25") || st.UserMetadata["Srb-Source-Etag"] != srcSt.ETag || proxy.Hits(fault) != 1 {
		t.Fatalf("copied: equal %v, etag %s, metadata %v (source %s), part 13 failed %d times", got == want200, st.ETag, st.UserMetadata,
			srcSt.ETag, proxy.Hits(fault))
	}
	noUploads(t, b, "dst")
	r = mirrorRun(t, direct(a), direct(b), "--source", "src/sr", "--target", "dst/sr")
	want(t, r, map[string]int64{"copied": 0, "skipped": 1})

	bucket(t, a, "same")
	r = mirrorRun(t, direct(a), direct(a), "--source", "src/sr", "--target", "same/sr")
	testbed.WantCode(t, r, 0)
	if got, st := sha(t, a, "same", "sr/seg.dat"); got != want200 || !strings.HasSuffix(st.ETag, "-4") || r.Fields["server_side"] != true {
		t.Fatalf("server-side: equal %v, etag %s: %s", got == want200, st.ETag, r.Line)
	}
}

// SIGTERM while a 200 MiB object is copied in parts (each part upload
// slowed down): the run ends with exit 130 and aborts its upload, leaving
// none behind.
func TestMirrorPartsCancelled(t *testing.T) {
	a, b := testbed.NewMinIO(t), testbed.NewMinIO(t)
	bucket(t, a, "src")
	bucket(t, b, "dst")
	bigObject(t, a, "src", "sr/seg.dat")
	proxy := testbed.NewFaultProxy(t, b.Endpoint())
	proxy.Add(&testbed.Fault{Match: func(r *http.Request) bool { return r.URL.Query().Get("partNumber") != "" }, Delay: 300 * time.Millisecond})
	uploading := func() bool {
		for u := range b.Client().ListIncompleteUploads(context.Background(), "dst", "", true) {
			return u.Err == nil
		}
		return false
	}
	r := testbed.Task(t, "mirror", "--source", "src/sr", "--target", "dst/sr").Env(env(direct(a), side{b, proxy.Endpoint()})...).
		RunSignalled(syscall.SIGTERM, 1, uploading)
	wantError(t, r, 130, "cancelled")
	noUploads(t, b, "dst")
	if exists(t, b, "dst", "sr/seg.dat") {
		t.Fatal("a cancelled copy completed")
	}
}
