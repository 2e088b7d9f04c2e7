//go:build e2e

package mirror_test

import (
	"strings"
	"testing"

	"github.com/starrocks-backup/srbackup/pkg/testbed"
)

// interopTree is a small tree with the kinds of object mirror must carry
// to and from any server: awkward keys, an empty object, a typed object
// with metadata, a gzip-encoded one and a multipart one.
func interopTree(t *testing.T) map[string]obj {
	tree := starrocksTree(30)
	tree["logs/fe.log.gz"] = obj{data: gzipped(t, "fe log line\n"), encoding: "gzip", contentType: "text/plain"}
	tree["big/multipart.dat"] = obj{data: randBytes(9, 11<<20), partSize: 5 << 20}
	return tree
}

// interop runs mirror's main paths between MinIO and another server x:
// backup to x with --verify, a re-run that copies nothing, a server-side
// copy inside x, and the restore back to MinIO, byte-identical.
func interop(t *testing.T, x testbed.S3Server) {
	t.Helper()
	m := testbed.NewMinIO(t)
	bucket(t, m, "sr-data")
	bucket(t, x, "offsite")
	tree := interopTree(t)
	put(t, m, "sr-data", "starrocks/", tree)
	original := snapshot(t, m, "sr-data", "starrocks/")
	n := int64(len(tree))

	r := mirrorRun(t, direct(m), direct(x), "--source", "sr-data/starrocks", "--target", "offsite/c1", "--verify")
	testbed.WantCode(t, r, 0)
	want(t, r, map[string]int64{"copied": n, "errors": 0})
	sameTree(t, original, snapshot(t, x, "offsite", "c1/"))

	r = mirrorRun(t, direct(m), direct(x), "--source", "sr-data/starrocks", "--target", "offsite/c1", "--verify")
	testbed.WantCode(t, r, 0)
	want(t, r, map[string]int64{"copied": 0, "skipped": n})

	r = mirrorRun(t, direct(x), direct(x), "--source", "offsite/c1", "--target", "offsite/c2", "--verify")
	testbed.WantCode(t, r, 0)
	if r.Fields["server_side"] != true {
		t.Fatalf("not server-side: %s", r.Line)
	}
	want(t, r, map[string]int64{"copied": n})
	sameTree(t, original, snapshot(t, x, "offsite", "c2/"))

	r = mirrorRun(t, direct(x), direct(m), "--source", "offsite/c2", "--target", "sr-data/restored", "--verify")
	testbed.WantCode(t, r, 0)
	want(t, r, map[string]int64{"copied": n})
	sameTree(t, original, snapshot(t, m, "sr-data", "restored/"))
}

// moto server checks no credentials and no region: only the copy paths.
func TestMirrorMoto(t *testing.T) {
	interop(t, testbed.NewMoto(t))
}

// versitygw, which checks credentials and the region: besides the copy
// paths, each wrong setting gives one clear line naming the server's own
// code, and is not retried.
func TestMirrorVersity(t *testing.T) {
	v := testbed.NewVersity(t)
	interop(t, v)
	m := testbed.NewMinIO(t)
	bucket(t, m, "src")
	put(t, m, "src", "sr/", map[string]obj{"x.dat": {data: []byte("x")}})
	const wrongSecret = "Wr0ngSecretValue-456"
	for _, tc := range []struct {
		name     string
		env      string
		messages []string
	}{
		{"unknown access key", "SRB_TARGET_ACCESS_KEY=nobody", []string{"list target s3://offsite/c3/: credentials rejected", "XAdminUserNotFound"}},
		{"wrong secret", "SRB_TARGET_SECRET_KEY=" + wrongSecret, []string{"list target s3://offsite/c3/: credentials rejected", "SignatureDoesNotMatch"}},
		{"wrong region", "SRB_TARGET_REGION=eu-west-1", []string{"list target s3://offsite/c3/: wrong region"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := testbed.Task(t, "mirror", "--source", "src/sr", "--target", "offsite/c3", "--retries", "3").
				Env(append(env(direct(m), direct(v)), tc.env)...).Secrets(secretOf(m), secretOf(v), wrongSecret).Run()
			testbed.WantCode(t, r, 1)
			for _, msg := range tc.messages {
				if !strings.Contains(r.Str("error"), msg) {
					t.Fatalf("error %q does not mention %q", r.Str("error"), msg)
				}
			}
			want(t, r, map[string]int64{"copied": 0, "retries": 0})
			t.Logf("error: %s", r.Str("error"))
		})
	}
}
