//go:build e2e

package s3_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"

	"github.com/starrocks-backup/srbackup/pkg/testbed"
)

// s3env gives a task the server's endpoint and credentials the standard way.
func s3env(m *testbed.MinIO) []string {
	return append(m.Env("SRB_S3_ACCESS_KEY", "SRB_S3_SECRET_KEY"), "SRB_S3_ENDPOINT="+m.Endpoint())
}

func TestS3RoundTrip(t *testing.T) {
	m := testbed.NewMinIO(t)
	ctx := context.Background()
	if err := m.MakeBucket(ctx, "backups", true); err != nil {
		t.Fatal(err)
	}
	src := t.TempDir()
	for _, size := range []int64{0, 1 << 10, 100 << 20} {
		t.Run(fmt.Sprintf("%d", size), func(t *testing.T) {
			path, sum := testbed.RandomFile(t, src, size)
			key := fmt.Sprintf("fe/2026-11-24T00:00:00Z/fe meta+%d.tar.gz", size)
			up := testbed.Task(t, "s3-upload", "--bucket", "backups", "--key", key, "--local-path", path).
				Env(s3env(m)...).Secrets(m.SecretKey).Run()
			testbed.WantCode(t, up, 0)
			if up.Str("sha256") != sum || up.Num("size") != size || up.Str("bucket") != "backups" || up.Str("key") != key {
				t.Fatalf("upload result %s, want sha256 %s size %d", up.Line, sum, size)
			}
			if up.Str("etag") == "" || up.Str("version_id") == "" {
				t.Fatalf("upload to a versioned bucket lacks etag or version_id: %s", up.Line)
			}
			obj, err := m.Client().StatObject(ctx, "backups", key, minio.StatObjectOptions{})
			if err != nil || obj.UserMetadata["Sha256"] != sum || obj.Size != size {
				t.Fatalf("stored object: size %d metadata %v (%v)", obj.Size, obj.UserMetadata, err)
			}

			dst := t.TempDir()
			out := filepath.Join(dst, "restored.tar.gz")
			down := testbed.Task(t, "s3-download", "--bucket", "backups", "--key", key, "--local-path", out).
				Env(s3env(m)...).Secrets(m.SecretKey).Run()
			testbed.WantCode(t, down, 0)
			if got := testbed.FileSHA256(t, out); got != sum {
				t.Fatalf("downloaded bytes differ: sha256 %s, want %s", got, sum)
			}
			if down.Str("sha256") != sum || down.Num("size") != size || down.Fields["verified"] != true || down.Str("local_path") != out {
				t.Fatalf("download result %s", down.Line)
			}
			testbed.WantEntries(t, dst, "restored.tar.gz")
		})
	}
}

func TestS3UploadNeverReplacesWithoutOverwrite(t *testing.T) {
	m := testbed.NewMinIO(t)
	ctx := context.Background()
	if err := m.MakeBucket(ctx, "backups", false); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	first, firstSum := testbed.RandomFile(t, dir, 1000)
	second, secondSum := testbed.RandomFile(t, dir, 2000)
	testbed.WantCode(t, testbed.Task(t, "s3-upload", "--bucket", "backups", "--key", "fe/a.tar.gz", "--local-path", first).Env(s3env(m)...).Run(), 0)

	again := testbed.Task(t, "s3-upload", "--bucket", "backups", "--key", "fe/a.tar.gz", "--local-path", second).Env(s3env(m)...).Run()
	testbed.WantCode(t, again, 1)
	if !strings.Contains(again.Str("error"), "already exists") {
		t.Fatalf("error should say the key exists: %s", again.Str("error"))
	}
	obj, err := m.Client().StatObject(ctx, "backups", "fe/a.tar.gz", minio.StatObjectOptions{})
	if err != nil || obj.UserMetadata["Sha256"] != firstSum {
		t.Fatalf("the first upload was replaced: %v %v", obj.UserMetadata, err)
	}

	over := testbed.Task(t, "s3-upload", "--bucket", "backups", "--key", "fe/a.tar.gz", "--local-path", second, "--overwrite").Env(s3env(m)...).Run()
	testbed.WantCode(t, over, 0)
	obj, err = m.Client().StatObject(ctx, "backups", "fe/a.tar.gz", minio.StatObjectOptions{})
	if err != nil || obj.UserMetadata["Sha256"] != secondSum {
		t.Fatalf("--overwrite did not replace: %v %v", obj.UserMetadata, err)
	}
}

func TestS3DownloadRefusesTamperedObject(t *testing.T) {
	m := testbed.NewMinIO(t)
	ctx := context.Background()
	if err := m.MakeBucket(ctx, "backups", false); err != nil {
		t.Fatal(err)
	}
	src, sum := testbed.RandomFile(t, t.TempDir(), 20<<20)
	testbed.WantCode(t, testbed.Task(t, "s3-upload", "--bucket", "backups", "--key", "k", "--local-path", src, "--part-size", "5MiB").Env(s3env(m)...).Run(), 0)

	// Same size, same metadata, one byte different: only the digest can tell.
	data, _ := os.ReadFile(src)
	data[len(data)/2] ^= 0xff
	if _, err := m.Client().PutObject(ctx, "backups", "k", bytes.NewReader(data), int64(len(data)),
		minio.PutObjectOptions{UserMetadata: map[string]string{"sha256": sum}}); err != nil {
		t.Fatal(err)
	}
	dst := t.TempDir()
	r := testbed.Task(t, "s3-download", "--bucket", "backups", "--key", "k", "--local-path", filepath.Join(dst, "out")).Env(s3env(m)...).Run()
	testbed.WantCode(t, r, 1)
	if !strings.Contains(r.Str("error"), "sha256 mismatch") {
		t.Fatalf("error should name the mismatch: %s", r.Str("error"))
	}
	testbed.WantEntries(t, dst) // neither the file nor a temp file

	// A file already at the target survives a failed download untouched.
	keep := filepath.Join(dst, "out")
	if err := os.WriteFile(keep, []byte("previous"), 0o600); err != nil {
		t.Fatal(err)
	}
	testbed.WantCode(t, testbed.Task(t, "s3-download", "--bucket", "backups", "--key", "k", "--local-path", keep).Env(s3env(m)...).Run(), 1)
	if b, _ := os.ReadFile(keep); string(b) != "previous" {
		t.Fatalf("failed download changed the existing file: %q", b)
	}
	testbed.WantEntries(t, dst, "out")
}

// Issue 9 #7: an object without a stored SHA-256 (copied by another tool,
// overwritten by awscli) is refused by default: exit 1, nothing written,
// an earlier file kept. --allow-unverified downloads it with a warning.
func TestS3DownloadUnverifiedObject(t *testing.T) {
	m := testbed.NewMinIO(t)
	ctx := context.Background()
	if err := m.MakeBucket(ctx, "data", false); err != nil {
		t.Fatal(err)
	}
	body := []byte("uploaded by something else")
	if _, err := m.Client().PutObject(ctx, "data", "plain", bytes.NewReader(body), int64(len(body)), minio.PutObjectOptions{}); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	out := filepath.Join(dir, "plain")
	r := testbed.Task(t, "s3-download", "--bucket", "data", "--key", "plain", "--local-path", out).Env(s3env(m)...).Run()
	testbed.WantCode(t, r, 1)
	if !strings.Contains(r.Str("error"), "no stored sha256") || !strings.Contains(r.Str("error"), "--allow-unverified") {
		t.Fatalf("error %q", r.Str("error"))
	}
	testbed.WantEntries(t, dir) // neither the file nor a temp file
	if err := os.WriteFile(out, []byte("previous"), 0o600); err != nil {
		t.Fatal(err)
	}
	testbed.WantCode(t, testbed.Task(t, "s3-download", "--bucket", "data", "--key", "plain", "--local-path", out).Env(s3env(m)...).Run(), 1)
	if b, _ := os.ReadFile(out); string(b) != "previous" {
		t.Fatalf("a refused download changed the existing file: %q", b)
	}

	r = testbed.Task(t, "s3-download", "--bucket", "data", "--key", "plain", "--local-path", out, "--allow-unverified").Env(s3env(m)...).Run()
	testbed.WantCode(t, r, 0)
	if r.Fields["verified"] != false {
		t.Fatalf("object without sha256 reported verified: %s", r.Line)
	}
	if !r.HasLog("warn", "no sha256") {
		t.Fatalf("no warning about the missing digest:\n%s", r.Stderr)
	}
	if b, _ := os.ReadFile(out); !bytes.Equal(b, body) {
		t.Fatalf("content %q", b)
	}
}

func TestS3Errors(t *testing.T) {
	m := testbed.NewMinIO(t)
	ctx := context.Background()
	if err := m.MakeBucket(ctx, "backups", false); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	file, _ := testbed.RandomFile(t, dir, 100)
	const wrongSecret = "Wr0ngSecretValue-123"
	closed, _ := testbed.FreePort()
	down := append(m.Env("SRB_S3_ACCESS_KEY", "SRB_S3_SECRET_KEY"), fmt.Sprintf("SRB_S3_ENDPOINT=http://127.0.0.1:%d", closed))

	cases := []struct {
		name    string
		task    string
		args    []string
		env     []string
		code    int
		message string
	}{
		{"missing bucket", "s3-upload", []string{"--bucket", "nope", "--key", "k", "--local-path", file}, s3env(m), 1, "no such bucket"},
		{"missing key flag", "s3-upload", []string{"--bucket", "backups", "--local-path", file}, s3env(m), 2, "--key"},
		{"missing key flag (download)", "s3-download", []string{"--bucket", "backups", "--local-path", file}, s3env(m), 2, "--key"},
		{"no such key", "s3-download", []string{"--bucket", "backups", "--key", "absent", "--local-path", filepath.Join(dir, "x")}, s3env(m), 1, "no such key"},
		{"no such bucket (download)", "s3-download", []string{"--bucket", "nope", "--key", "k", "--local-path", filepath.Join(dir, "x")}, s3env(m), 1, "no such bucket"},
		{"wrong secret", "s3-upload", []string{"--bucket", "backups", "--key", "k", "--local-path", file},
			[]string{"SRB_S3_ENDPOINT=" + m.Endpoint(), "AWS_ACCESS_KEY_ID=" + m.AccessKey, "AWS_SECRET_ACCESS_KEY=" + wrongSecret}, 1, "denied"},
		{"unreachable endpoint", "s3-upload", []string{"--bucket", "backups", "--key", "k", "--local-path", file},
			append(m.Env("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"), fmt.Sprintf("SRB_S3_ENDPOINT=http://127.0.0.1:%d", closed)), 1, "unreachable"},
		{"file not readable", "s3-upload", []string{"--bucket", "backups", "--key", "k", "--local-path", filepath.Join(dir, "absent")}, s3env(m), 2, "not readable"},
		{"target folder missing", "s3-download", []string{"--bucket", "backups", "--key", "k", "--local-path", filepath.Join(dir, "no", "x")}, s3env(m), 2, "does not exist"},
		{"bad endpoint", "s3-upload", []string{"--bucket", "backups", "--key", "k", "--local-path", file, "--endpoint", "minio:9000"}, s3env(m), 2, "invalid endpoint"},
		{"bad part size", "s3-upload", []string{"--bucket", "backups", "--key", "k", "--local-path", file, "--part-size", "1MiB"}, s3env(m), 2, "part-size"},
		{"incomplete credentials", "s3-upload", []string{"--bucket", "backups", "--key", "k", "--local-path", file}, []string{"SRB_S3_ENDPOINT=" + m.Endpoint(), "AWS_ACCESS_KEY_ID=x"}, 2, "incomplete credentials"},
		// Issue 9 #13 and #16: refused before any work. The endpoint is a
		// closed port: reaching it would take retries and exit 1.
		{"bad bucket name", "s3-upload", []string{"--bucket", "Bad_Bucket", "--key", "k", "--local-path", file}, down, 2, "invalid bucket name"},
		{"bad bucket name (download)", "s3-download", []string{"--bucket", "Bad_Bucket", "--key", "k", "--local-path", filepath.Join(dir, "x")}, down, 2, "invalid bucket name"},
		{"key /", "s3-upload", []string{"--bucket", "backups", "--key", "/", "--local-path", file}, down, 2, "starts with '/'"},
		{"key / (download)", "s3-download", []string{"--bucket", "backups", "--key", "/", "--local-path", filepath.Join(dir, "x")}, down, 2, "starts with '/'"},
		{"folder key", "s3-upload", []string{"--bucket", "backups", "--key", "fe/", "--local-path", file}, down, 2, "ends with '/'"},
		{"empty segment", "s3-upload", []string{"--bucket", "backups", "--key", "fe//x", "--local-path", file}, down, 2, "path segment"},
		{"dot segment", "s3-download", []string{"--bucket", "backups", "--key", "fe/../x", "--local-path", filepath.Join(dir, "x")}, down, 2, "path segment"},
		{"latest-under /", "s3-download", []string{"--bucket", "backups", "--latest-under", "/fe/", "--local-path", filepath.Join(dir, "x")}, down, 2, "starts with '/'"},
		{"parent is a file", "s3-download", []string{"--bucket", "backups", "--key", "k", "--local-path", filepath.Join(file, "x")}, down, 2, "is a file, not a folder"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := testbed.Task(t, tc.task, tc.args...).Env(tc.env...).Secrets(m.SecretKey, wrongSecret).Run()
			testbed.WantCode(t, r, tc.code)
			if !strings.Contains(r.Str("error"), tc.message) {
				t.Fatalf("error %q does not mention %q", r.Str("error"), tc.message)
			}
		})
	}
	testbed.WantEntries(t, dir, filepath.Base(file))
}

func TestS3AirflowConnection(t *testing.T) {
	m := testbed.NewMinIO(t)
	ctx := context.Background()
	if err := m.MakeBucket(ctx, "backups", false); err != nil {
		t.Fatal(err)
	}
	file, sum := testbed.RandomFile(t, t.TempDir(), 4096)
	uri := fmt.Sprintf("aws://%s:%s@/?endpoint_url=%s&region_name=eu-west-1", m.AccessKey, m.SecretKey,
		strings.ReplaceAll(strings.ReplaceAll(m.Endpoint(), ":", "%3A"), "/", "%2F"))
	js, _ := json.Marshal(map[string]any{"conn_type": "aws", "login": m.AccessKey, "password": m.SecretKey,
		"extra": map[string]any{"endpoint_url": m.Endpoint()}})
	for name, env := range map[string][]string{
		"uri":     {"SRB_S3_CONN=" + uri},
		"json":    {"SRB_S3_CONN=" + string(js)},
		"conn id": {"SRB_S3_CONN=my_minio", "AIRFLOW_CONN_MY_MINIO=" + uri},
	} {
		t.Run(name, func(t *testing.T) {
			key := "via-" + strings.ReplaceAll(name, " ", "-")
			r := testbed.Task(t, "s3-upload", "--bucket", "backups", "--key", key, "--local-path", file).Env(env...).Secrets(m.SecretKey).Run()
			testbed.WantCode(t, r, 0)
			if r.Str("sha256") != sum || r.Str("endpoint") != m.Endpoint() {
				t.Fatalf("%s", r.Line)
			}
		})
	}
}

// SIGTERM stops a task promptly with exit 130 and the result line.
func TestS3UploadSIGTERM(t *testing.T) {
	m := testbed.NewMinIO(t)
	if err := m.MakeBucket(context.Background(), "backups", false); err != nil {
		t.Fatal(err)
	}
	// A large sparse file: hashing it takes seconds, long enough to be
	// interrupted, without writing gigabytes.
	big := filepath.Join(t.TempDir(), "big")
	f, _ := os.Create(big)
	if err := f.Truncate(16 << 30); err != nil {
		t.Fatal(err)
	}
	f.Close()
	r := testbed.Task(t, "s3-upload", "--bucket", "backups", "--key", "big", "--local-path", big).Env(s3env(m)...).
		RunWithSignal(syscall.SIGTERM, 500*time.Millisecond)
	testbed.WantCode(t, r, 130)
	if !strings.Contains(r.Str("error"), "cancelled") {
		t.Fatalf("error %q", r.Str("error"))
	}
	if _, err := m.Client().StatObject(context.Background(), "backups", "big", minio.StatObjectOptions{}); err == nil {
		t.Fatal("a cancelled upload left an object")
	}
}

// The backup DAG hands fe-fetch's digest to s3-upload: a file that changed
// since is not uploaded.
func TestS3UploadExpectedDigest(t *testing.T) {
	m := testbed.NewMinIO(t)
	ctx := context.Background()
	if err := m.MakeBucket(ctx, "backups", false); err != nil {
		t.Fatal(err)
	}
	file, sum := testbed.RandomFile(t, t.TempDir(), 5000)
	other := strings.Repeat("0", 64)
	r := testbed.Task(t, "s3-upload", "--bucket", "backups", "--key", "x", "--local-path", file, "--sha256", other).Env(s3env(m)...).Run()
	testbed.WantCode(t, r, 1)
	if !strings.Contains(r.Str("error"), "not the expected") {
		t.Fatalf("error %q", r.Str("error"))
	}
	if _, err := m.Client().StatObject(ctx, "backups", "x", minio.StatObjectOptions{}); err == nil {
		t.Fatal("a file with the wrong digest was uploaded")
	}
	testbed.WantCode(t, testbed.Task(t, "s3-upload", "--bucket", "backups", "--key", "x", "--local-path", file, "--sha256", "nothex").Env(s3env(m)...).Run(), 2)
	testbed.WantCode(t, testbed.Task(t, "s3-upload", "--bucket", "backups", "--key", "x", "--local-path", file, "--sha256", strings.ToUpper(sum)).Env(s3env(m)...).Run(), 0)
}

func TestS3DownloadLatestUnder(t *testing.T) {
	m := testbed.NewMinIO(t)
	ctx := context.Background()
	if err := m.MakeBucket(ctx, "backups", false); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	var newestSum string
	for _, k := range []string{"fe/2026-11-22T01-00-00Z/fe-meta.tar.gz", "fe/2026-11-23T01-00-00Z/fe-meta.tar.gz"} {
		file, sum := testbed.RandomFile(t, dir, int64(1000+len(newestSum)))
		testbed.WantCode(t, testbed.Task(t, "s3-upload", "--bucket", "backups", "--key", k, "--local-path", file).Env(s3env(m)...).Run(), 0)
		newestSum = sum
		time.Sleep(1100 * time.Millisecond) // S3 modification times have one-second resolution
	}
	// An object outside the prefix, written last, is not a candidate.
	file, _ := testbed.RandomFile(t, dir, 10)
	testbed.WantCode(t, testbed.Task(t, "s3-upload", "--bucket", "backups", "--key", "other/x", "--local-path", file).Env(s3env(m)...).Run(), 0)

	out := filepath.Join(t.TempDir(), "fe.tar.gz")
	r := testbed.Task(t, "s3-download", "--bucket", "backups", "--latest-under", "fe/", "--local-path", out).Env(s3env(m)...).Run()
	testbed.WantCode(t, r, 0)
	if r.Str("key") != "fe/2026-11-23T01-00-00Z/fe-meta.tar.gz" || r.Str("sha256") != newestSum || testbed.FileSHA256(t, out) != newestSum {
		t.Fatalf("wrong object chosen: %s", r.Line)
	}
	r = testbed.Task(t, "s3-download", "--bucket", "backups", "--latest-under", "nothing-here/", "--local-path", out).Env(s3env(m)...).Run()
	testbed.WantCode(t, r, 1)
	if !strings.Contains(r.Str("error"), "no object under") {
		t.Fatalf("error %q", r.Str("error"))
	}
	testbed.WantCode(t, testbed.Task(t, "s3-download", "--bucket", "backups", "--key", "k", "--latest-under", "fe/", "--local-path", out).Env(s3env(m)...).Run(), 2)
}
