//go:build e2e

package mirror_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/starrocks-backup/srbackup/pkg/testbed"
)

// Whatever goes wrong with an endpoint, the run exits 1 with one clear
// line naming the side, and prints no secret.
func TestMirrorEndpointErrors(t *testing.T) {
	a, b := testbed.NewMinIO(t), testbed.NewMinIO(t)
	bucket(t, a, "src")
	bucket(t, b, "dst")
	put(t, a, "src", "sr/", map[string]obj{"x.dat": {data: []byte("x")}})
	closed, _ := testbed.FreePort()
	const wrongSecret = "Wr0ngSecretValue-123"
	good := env(direct(a), direct(b))
	with := func(kv ...string) []string {
		out := append([]string{}, good...)
		for _, s := range kv {
			k, _, _ := strings.Cut(s, "=")
			for i, e := range out {
				if strings.HasPrefix(e, k+"=") {
					out = append(out[:i], out[i+1:]...)
					break
				}
			}
			out = append(out, s)
		}
		return out
	}
	for _, tc := range []struct {
		name, source, target string
		env                  []string
		message              string
	}{
		{"missing source bucket", "nope/sr", "dst/sr", good, "list source s3://nope/sr/: no such bucket"},
		{"missing target bucket", "src/sr", "nope/sr", good, "list target s3://nope/sr/: no such bucket"},
		{"wrong source secret", "src/sr", "dst/sr", with("SRB_SOURCE_SECRET_KEY=" + wrongSecret), "list source s3://src/sr/: credentials rejected"},
		{"wrong target secret", "src/sr", "dst/sr", with("SRB_TARGET_SECRET_KEY=" + wrongSecret), "list target s3://dst/sr/: credentials rejected"},
		{"unknown source key", "src/sr", "dst/sr", with("SRB_SOURCE_ACCESS_KEY=nobody"), "list source s3://src/sr/: credentials rejected"},
		{"unreachable source", "src/sr", "dst/sr", with(fmt.Sprintf("SRB_SOURCE_ENDPOINT=http://127.0.0.1:%d", closed)), "list source s3://src/sr/: endpoint unreachable"},
		{"unreachable target", "src/sr", "dst/sr", with(fmt.Sprintf("SRB_TARGET_ENDPOINT=http://127.0.0.1:%d", closed)), "list target s3://dst/sr/: endpoint unreachable"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := testbed.Task(t, "mirror", "--source", tc.source, "--target", tc.target, "--retries", "1").
				Env(tc.env...).Secrets(a.SecretKey, b.SecretKey, wrongSecret).Run()
			wantError(t, r, 1, tc.message)
			want(t, r, map[string]int64{"copied": 0})
			if exists(t, b, "dst", "sr/x.dat") {
				t.Fatal("something was copied")
			}
		})
	}
}

// Bad flags exit 2 before any request.
func TestMirrorUsageErrors(t *testing.T) {
	// No server: a usage error must be found without one.
	envs := []string{"SRB_SOURCE_ENDPOINT=http://127.0.0.1:1", "SRB_SOURCE_ACCESS_KEY=k", "SRB_SOURCE_SECRET_KEY=s3cr3t-value",
		"SRB_TARGET_ENDPOINT=http://127.0.0.1:1", "SRB_TARGET_ACCESS_KEY=k", "SRB_TARGET_SECRET_KEY=s3cr3t-value"}
	for _, tc := range []struct {
		name    string
		args    []string
		env     []string
		message string
	}{
		{"no source", []string{"--target", "b/p"}, envs, `"source"`},
		{"no target", []string{"--source", "b/p"}, envs, `"target"`},
		{"bad bucket name", []string{"--source", "Bad_Bucket/p", "--target", "b2/p"}, envs, "invalid bucket name"},
		{"other scheme", []string{"--source", "gs://bkt/p", "--target", "bkt2/p"}, envs, "only the s3:// scheme"},
		{"leading slash in prefix", []string{"--source", "bkt//p", "--target", "bkt2/p"}, envs, "starts with '/'"},
		{"same place", []string{"--source", "s3://bkt/p", "--target", "bkt/p/"}, envs, "the same place"},
		{"target inside source", []string{"--source", "bkt/p", "--target", "bkt/p/backup"}, envs, "overlap"},
		{"source inside target", []string{"--source", "bkt/p/q", "--target", "bkt"}, envs, "overlap"},
		{"zero workers", []string{"--source", "bkt/p", "--target", "bkt2/p", "--workers", "0"}, envs, "--workers 0 is out of range (1-512)"},
		{"negative workers", []string{"--source", "bkt/p", "--target", "bkt2/p", "--workers", "-1"}, envs, "--workers -1"},
		{"negative retries", []string{"--source", "bkt/p", "--target", "bkt2/p", "--retries", "-2"}, envs, "--retries -2"},
		{"negative max-delete", []string{"--source", "bkt/p", "--target", "bkt2/p", "--remove", "--max-delete", "-1"}, envs, "--max-delete -1"},
		{"bad exclude", []string{"--source", "bkt/p", "--target", "bkt2/p", "--exclude", "data/[abc"}, envs, "unclosed character class"},
		{"verify with dry-run", []string{"--source", "bkt/p", "--target", "bkt2/p", "--verify", "--dry-run"}, envs, "nothing to verify"},
		{"bad endpoint", []string{"--source", "bkt/p", "--target", "bkt2/p", "--target-endpoint", "minio:9000"}, envs, "invalid endpoint"},
		{"incomplete credentials", []string{"--source", "bkt/p", "--target", "bkt2/p"}, []string{"SRB_TARGET_ACCESS_KEY=k"}, "incomplete credentials"},
		{"stray argument", []string{"--source", "bkt/p", "--target", "bkt2/p", "extra"}, envs, "unexpected argument"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := testbed.Task(t, "mirror", tc.args...).Env(tc.env...).Secrets("s3cr3t-value").Run()
			wantError(t, r, 2, tc.message)
		})
	}
}
