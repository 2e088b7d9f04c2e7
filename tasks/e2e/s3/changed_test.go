//go:build e2e

package s3_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"net/http"
	"os"
	"strings"
	"testing"

	"github.com/minio/minio-go/v7"

	"github.com/starrocks-backup/srbackup/pkg/testbed"
)

// grow appends 1000 bytes to the file: 40,000,000 become 40,001,000, as in
// issue 9 #6.
func grow(t *testing.T, path string) {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND, 0)
	if err == nil {
		_, err = f.Write(bytes.Repeat([]byte("x"), 1000))
		f.Close()
	}
	if err != nil {
		t.Error(err)
	}
}

// rewrite changes 1000 bytes near the end of the file and puts its
// modification time back: only the digest of the bytes sent can tell.
func rewrite(t *testing.T, path string) {
	fi, err := os.Stat(path)
	if err != nil {
		t.Error(err)
		return
	}
	f, err := os.OpenFile(path, os.O_WRONLY, 0)
	if err == nil {
		junk := make([]byte, 1000)
		_, _ = rand.Read(junk)
		_, err = f.WriteAt(junk, fi.Size()-2000)
		f.Close()
	}
	if err == nil {
		err = os.Chtimes(path, fi.ModTime(), fi.ModTime())
	}
	if err != nil {
		t.Error(err)
	}
}

// Issue 9 #6: a file that changes while s3-upload sends it leaves no object
// behind, on an unversioned and on a versioned bucket. A change seen while
// the file is read abandons the upload before the object exists; a change
// seen only after the object was completed removes the object again: on a
// versioned bucket by its version id, so that no delete marker hides the
// good older version, which is the current one again.
func TestS3UploadFileChangedDuringUpload(t *testing.T) {
	m := testbed.NewMinIO(t)
	ctx := context.Background()
	for _, b := range []struct {
		name      string
		versioned bool
	}{{"plain", false}, {"versioned", true}} {
		if err := m.MakeBucket(ctx, b.name, b.versioned); err != nil {
			t.Fatal(err)
		}
	}
	proxy := testbed.NewFaultProxy(t, m.Endpoint())
	env := append(m.Env("SRB_S3_ACCESS_KEY", "SRB_S3_SECRET_KEY"), "SRB_S3_ENDPOINT="+proxy.Endpoint())
	cl := m.Client()
	dir := t.TempDir()

	for _, tc := range []struct {
		name   string
		when   func(*http.Request) bool
		change func(*testing.T, string)
		says   string // how it was found and what was done
	}{
		{"grows while read", isUploadPart, grow, "40000000 bytes when opened, 40001000 now; the upload was abandoned"},
		{"rewritten while read", isUploadPart, rewrite, "are not those hashed; the upload was abandoned"},
		{"grows before completion", isComplete, grow, "the object this run wrote was removed"},
	} {
		for _, bucket := range []string{"plain", "versioned"} {
			t.Run(tc.name+"/"+bucket, func(t *testing.T) {
				key := "fe/" + strings.ReplaceAll(tc.name, " ", "-") + ".tar.gz"
				args := []string{"--bucket", bucket, "--key", key, "--part-size", "5MiB", "--concurrency", "1"}
				var goodVersion, goodSum string
				if bucket == "versioned" { // a good older object, which must stay current
					good, sum := testbed.RandomFile(t, dir, 1000)
					r := testbed.Task(t, "s3-upload", append(args, "--local-path", good)...).Env(env...).Run()
					testbed.WantCode(t, r, 0)
					goodVersion, goodSum = r.Str("version_id"), sum
					args = append(args, "--overwrite")
				}
				file, _ := testbed.RandomFile(t, dir, 40_000_000)
				proxy.Clear()
				rule := proxy.Add(&testbed.Fault{Match: testbed.MatchAll(testbed.S3KeyIs(key), tc.when), Times: 1,
					Before: func(*http.Request) { tc.change(t, file) }})
				r := testbed.Task(t, "s3-upload", append(args, "--local-path", file)...).Env(env...).Run()
				testbed.WantCode(t, r, 1)
				if proxy.Hits(rule) != 1 {
					t.Fatalf("the file was not changed during the upload (rule hits %d)", proxy.Hits(rule))
				}
				if !strings.Contains(r.Str("error"), "changed while it was being uploaded") || !strings.Contains(r.Str("error"), tc.says) {
					t.Fatalf("error %q", r.Str("error"))
				}

				var versions []minio.ObjectInfo
				for o := range cl.ListObjects(ctx, bucket, minio.ListObjectsOptions{Prefix: key, WithVersions: true}) {
					if o.Err != nil {
						t.Fatal(o.Err)
					}
					versions = append(versions, o)
				}
				for u := range cl.ListIncompleteUploads(ctx, bucket, key, true) {
					t.Fatalf("an incomplete upload was left: %+v", u)
				}
				if bucket == "plain" {
					if len(versions) != 0 {
						t.Fatalf("an object was left at %s: %+v", key, versions)
					}
					// A retry is not refused as "already exists".
					proxy.Clear()
					retry := testbed.Task(t, "s3-upload", append(args, "--local-path", file)...).Env(env...).Run()
					testbed.WantCode(t, retry, 0)
					if retry.Str("sha256") != testbed.FileSHA256(t, file) {
						t.Fatalf("retry %s", retry.Line)
					}
					return
				}
				if len(versions) != 1 || versions[0].VersionID != goodVersion || versions[0].IsDeleteMarker {
					t.Fatalf("want only the good version %s, no delete marker; got %+v", goodVersion, versions)
				}
				st, err := cl.StatObject(ctx, bucket, key, minio.StatObjectOptions{})
				if err != nil || st.UserMetadata["Sha256"] != goodSum || st.Size != 1000 {
					t.Fatalf("the current object is not the good one: %v %v %d", err, st.UserMetadata, st.Size)
				}
			})
		}
	}
}
