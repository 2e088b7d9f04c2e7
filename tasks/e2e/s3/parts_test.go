//go:build e2e

package s3_test

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"

	"github.com/starrocks-backup/srbackup/pkg/testbed"
)

// s3Op matches the requests of one method that carry the query parameter.
func s3Op(method, param string) func(*http.Request) bool {
	return func(r *http.Request) bool { return r.Method == method && r.URL.Query().Has(param) }
}

// Requests of a multipart upload and of a download, as the fault proxy
// sees them.
var (
	isCreate     = s3Op(http.MethodPost, "uploads")
	isUploadPart = s3Op(http.MethodPut, "partNumber")
	isComplete   = s3Op(http.MethodPost, "uploadId")
	isAbort      = s3Op(http.MethodDelete, "uploadId")
)

func isGet(r *http.Request) bool { return r.Method == http.MethodGet }

// proxied is a MinIO server with one bucket behind a fault proxy, and the
// environment that points a task at the proxy.
func proxied(t *testing.T, bucket string) (*testbed.MinIO, *testbed.FaultProxy, []string) {
	t.Helper()
	m := testbed.NewMinIO(t)
	if err := m.MakeBucket(context.Background(), bucket, false); err != nil {
		t.Fatal(err)
	}
	proxy := testbed.NewFaultProxy(t, m.Endpoint())
	return m, proxy, append(m.Env("SRB_S3_ACCESS_KEY", "SRB_S3_SECRET_KEY"), "SRB_S3_ENDPOINT="+proxy.Endpoint())
}

// watch counts the requests on key that match (and lets them through).
func watch(proxy *testbed.FaultProxy, key string, match func(*http.Request) bool) *testbed.Fault {
	return proxy.Add(&testbed.Fault{Match: testbed.MatchAll(testbed.S3KeyIs(key), match)})
}

// wantNothingAt fails unless the key holds no object (no version either)
// and no incomplete multipart upload.
func wantNothingAt(t *testing.T, cl *minio.Client, bucket, key string) {
	t.Helper()
	ctx := context.Background()
	for o := range cl.ListObjects(ctx, bucket, minio.ListObjectsOptions{Prefix: key, WithVersions: true}) {
		if o.Err != nil {
			t.Fatal(o.Err)
		}
		t.Fatalf("an object was left at %s: %+v", key, o)
	}
	for u := range cl.ListIncompleteUploads(ctx, bucket, key, true) {
		t.Fatalf("an incomplete upload was left at %s: %+v", key, u)
	}
}

// With --sha256 (the DAGs' way) a multipart file is hashed while its parts
// are sent: a file that is not the expected one is found out during the
// upload, which is aborted (exit 1, no object, no incomplete upload). The
// right digest, in any case, uploads the same way.
func TestS3UploadExpectedDigestCheckedWhileSending(t *testing.T) {
	m, proxy, env := proxied(t, "backups")
	file, sum := testbed.RandomFile(t, t.TempDir(), 40_000_000) // 8 parts of 5 MiB
	const key = "fe/meta.tar.gz"
	parts, aborts := watch(proxy, key, isUploadPart), watch(proxy, key, isAbort)
	args := []string{"--bucket", "backups", "--key", key, "--local-path", file, "--part-size", "5MiB", "--concurrency", "3"}

	r := testbed.Task(t, "s3-upload", append(args, "--sha256", strings.Repeat("0", 64))...).Env(env...).Run()
	testbed.WantCode(t, r, 1)
	if e := r.Str("error"); !strings.Contains(e, "has sha256 "+sum+", not the expected "+strings.Repeat("0", 64)) ||
		!strings.Contains(e, "nothing was written") {
		t.Fatalf("error %q", e)
	}
	if proxy.Hits(parts) != 8 || proxy.Hits(aborts) != 1 {
		t.Fatalf("want the 8 parts sent while hashing, then the upload aborted; got %d parts, %d aborts", proxy.Hits(parts), proxy.Hits(aborts))
	}
	wantNothingAt(t, m.Client(), "backups", key)

	r = testbed.Task(t, "s3-upload", append(args, "--sha256", strings.ToUpper(sum))...).Env(env...).Run()
	testbed.WantCode(t, r, 0)
	st, err := m.Client().StatObject(context.Background(), "backups", key, minio.StatObjectOptions{})
	if err != nil || st.UserMetadata["Sha256"] != sum || st.Size != 40_000_000 || r.Str("sha256") != sum || proxy.Hits(parts) != 16 {
		t.Fatalf("stored %v %d (%v); result %s; %d parts sent", st.UserMetadata, st.Size, err, r.Line, proxy.Hits(parts))
	}
}

// SIGTERM while parts are in flight: exit 130, the multipart upload is
// aborted (on a context of its own), nothing is left at the key.
func TestS3UploadCancelledLeavesNoIncompleteUpload(t *testing.T) {
	m, proxy, env := proxied(t, "backups")
	file, sum := testbed.RandomFile(t, t.TempDir(), 40_000_000)
	const key = "fe/cancelled.tar.gz"
	creates, aborts := watch(proxy, key, isCreate), watch(proxy, key, isAbort)
	// Parts reach the server only after the signal: the upload is under way.
	held := proxy.Add(&testbed.Fault{Match: testbed.MatchAll(testbed.S3KeyIs(key), isUploadPart), Delay: time.Minute})
	r := testbed.Task(t, "s3-upload", "--bucket", "backups", "--key", key, "--local-path", file, "--sha256", sum,
		"--part-size", "5MiB").Env(env...).RunWithSignal(syscall.SIGTERM, 3*time.Second)
	testbed.WantCode(t, r, 130)
	if proxy.Hits(creates) != 1 || proxy.Hits(held) == 0 || proxy.Hits(aborts) != 1 {
		t.Fatalf("want one upload created, parts in flight, one abort; got %d, %d, %d",
			proxy.Hits(creates), proxy.Hits(held), proxy.Hits(aborts))
	}
	wantNothingAt(t, m.Client(), "backups", key)
}

// An object of many parts is fetched in concurrent ranges (a range refused
// once by the server is retried), verified, and written whole.
func TestS3DownloadManyParts(t *testing.T) {
	_, proxy, env := proxied(t, "backups")
	file, sum := testbed.RandomFile(t, t.TempDir(), 42_000_123) // 9 ranges of 5 MiB, the last one short
	const key = "fe/big.tar.gz"
	testbed.WantCode(t, testbed.Task(t, "s3-upload", "--bucket", "backups", "--key", key, "--local-path", file).Env(env...).Run(), 0)
	proxy.Add(&testbed.Fault{Match: testbed.MatchAll(testbed.S3KeyIs(key), isGet), Times: 1, Status: http.StatusServiceUnavailable, Code: "SlowDown"})
	gets := watch(proxy, key, isGet)
	dir := t.TempDir()
	out := filepath.Join(dir, "fe.tar.gz")
	r := testbed.Task(t, "s3-download", "--bucket", "backups", "--key", key, "--local-path", out,
		"--part-size", "5MiB", "--concurrency", "3").Env(env...).Run()
	testbed.WantCode(t, r, 0)
	if r.Fields["verified"] != true || r.Str("sha256") != sum || r.Num("size") != 42_000_123 || testbed.FileSHA256(t, out) != sum {
		t.Fatalf("result %s", r.Line)
	}
	if proxy.Hits(gets) != 9 {
		t.Fatalf("want 9 ranges (and the refused one retried), got %d GETs", proxy.Hits(gets))
	}
	testbed.WantEntries(t, dir, "fe.tar.gz")
}

// An object replaced after its first range was fetched: the later ranges
// are refused (If-Match), the download fails and writes nothing.
func TestS3DownloadObjectReplacedMidway(t *testing.T) {
	m, proxy, env := proxied(t, "backups")
	dir := t.TempDir()
	file, _ := testbed.RandomFile(t, dir, 30_000_000)
	other, _ := testbed.RandomFile(t, dir, 30_000_000)
	const key = "fe/replaced.tar.gz"
	testbed.WantCode(t, testbed.Task(t, "s3-upload", "--bucket", "backups", "--key", key, "--local-path", file).Env(env...).Run(), 0)
	gets := 0
	second := func(r *http.Request) bool { gets++; return gets == 2 } // after the first range
	replace := proxy.Add(&testbed.Fault{Match: testbed.MatchAll(testbed.S3KeyIs(key), isGet, second), Times: 1, Before: func(*http.Request) {
		f, err := os.Open(other)
		if err == nil {
			defer f.Close()
			_, err = m.Client().PutObject(context.Background(), "backups", key, f, 30_000_000, minio.PutObjectOptions{})
		}
		if err != nil {
			t.Error(err)
		}
	}})
	out := t.TempDir()
	r := testbed.Task(t, "s3-download", "--bucket", "backups", "--key", key, "--local-path", filepath.Join(out, "x"),
		"--part-size", "5MiB", "--concurrency", "1").Env(env...).Run()
	testbed.WantCode(t, r, 1)
	if proxy.Hits(replace) != 1 || !strings.Contains(r.Str("error"), "changed during the download") {
		t.Fatalf("hits %d, error %q", proxy.Hits(replace), r.Str("error"))
	}
	testbed.WantEntries(t, out)
}

// An object written at the key by someone else while s3-upload sends the
// file (after its check that the key is free) is not replaced: the write
// is conditional (If-None-Match), exit 1, and no incomplete upload is left.
func TestS3UploadKeyTakenMeanwhile(t *testing.T) {
	for _, tc := range []struct {
		name string
		size int64
		when func(*http.Request) bool
	}{
		{"one part", 1000, testbed.IsS3Put},
		{"multipart", 12_000_000, isComplete},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m, proxy, env := proxied(t, "backups")
			file, _ := testbed.RandomFile(t, t.TempDir(), tc.size)
			const key = "fe/taken.tar.gz"
			theirs := []byte("written by someone else")
			rule := proxy.Add(&testbed.Fault{Match: testbed.MatchAll(testbed.S3KeyIs(key), tc.when), Times: 1, Before: func(*http.Request) {
				if _, err := m.Client().PutObject(context.Background(), "backups", key, bytes.NewReader(theirs), int64(len(theirs)), minio.PutObjectOptions{}); err != nil {
					t.Error(err)
				}
			}})
			r := testbed.Task(t, "s3-upload", "--bucket", "backups", "--key", key, "--local-path", file, "--part-size", "5MiB").Env(env...).Run()
			testbed.WantCode(t, r, 1)
			if proxy.Hits(rule) != 1 || !strings.Contains(r.Str("error"), "written by someone else during this upload") {
				t.Fatalf("hits %d, error %q", proxy.Hits(rule), r.Str("error"))
			}
			obj, err := m.Client().GetObject(context.Background(), "backups", key, minio.GetObjectOptions{})
			if err != nil {
				t.Fatal(err)
			}
			defer obj.Close()
			if got, err := io.ReadAll(obj); err != nil || !bytes.Equal(got, theirs) {
				t.Fatalf("the other writer's object was replaced: %q %v", got, err)
			}
			for u := range m.Client().ListIncompleteUploads(context.Background(), "backups", key, true) {
				t.Fatalf("an incomplete upload was left: %+v", u)
			}
		})
	}
}
