//go:build e2e

package s3_test

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/url"
	"strings"
	"testing"

	"github.com/starrocks-backup/srbackup/pkg/testbed"
)

// newSecret returns a random secret with the '/' and '+' of AWS secret
// keys, which a careless URI leaves unencoded.
func newSecret() string {
	b := make([]byte, 15)
	_, _ = rand.Read(b)
	s := base64.RawURLEncoding.EncodeToString(b) // 20 characters
	return s[:7] + "/" + s[7:14] + "+" + s[14:]
}

// leaks lists what must never be printed of a secret: its raw, URL-encoded
// and base64 forms, and every six-character piece of them.
func leaks(s string) []string {
	var out []string
	for _, f := range []string{s, url.QueryEscape(s), url.PathEscape(s), base64.StdEncoding.EncodeToString([]byte(s))} {
		out = append(out, f)
		for i := 0; i+6 <= len(f); i++ {
			out = append(out, f[i:i+6])
		}
	}
	return out
}

// Issue 9 #9: a malformed connection or endpoint holding a secret is a
// usage error that prints no part of the secret, in the result line, the
// log on stderr or the xcom file (the test bed checks all three).
func TestSecretsNeverPrinted(t *testing.T) {
	sec := newSecret()
	closed, _ := testbed.FreePort()
	host := fmt.Sprintf("127.0.0.1:%d", closed)
	ep := url.QueryEscape("http://" + host)
	file, _ := testbed.RandomFile(t, t.TempDir(), 10)
	out := t.TempDir() + "/x"
	upload := []string{"--bucket", "backups", "--key", "k", "--local-path", file}
	download := []string{"--bucket", "backups", "--key", "k", "--local-path", out}
	feArchive := []string{"--fe-dir", "/opt/starrocks/fe"}
	cases := []struct {
		name string
		task string
		args []string
		env  string
		says string
	}{
		{"unencoded secret in the URI", "s3-upload", upload, "SRB_S3_CONN=aws://AKIAIOSFODNN7EXAMPLE:" + sec + "@/?endpoint_url=" + ep, "URL-encoded"},
		{"unencoded secret in the URI (download)", "s3-download", download, "SRB_S3_CONN=aws://AKIAIOSFODNN7EXAMPLE:" + sec + "@/?endpoint_url=" + ep, "URL-encoded"},
		{"secret as the JSON port", "s3-upload", upload, `SRB_S3_CONN={"conn_type":"aws","login":"AK","password":"x","port":"` + sec + `"}`, "port"},
		{"user info in the endpoint flag", "s3-upload", upload, "SRB_S3_ENDPOINT=http://minio:" + url.QueryEscape(sec) + "@" + host, "login or password"},
		{"token in the endpoint flag", "s3-download", download, "SRB_S3_ENDPOINT=http://" + host + "/?token=" + url.QueryEscape(sec), "path or query"},
		{"user info in endpoint_url", "s3-upload", upload,
			"SRB_S3_CONN=aws://AK:x@/?endpoint_url=" + url.QueryEscape("http://minio:"+url.QueryEscape(sec)+"@"+host), "login or password"},
		{"token in endpoint_url", "s3-upload", upload,
			"SRB_S3_CONN=" + mustJSON(map[string]any{"conn_type": "aws", "extra": map[string]any{"endpoint_url": "http://" + host + "/?token=" + sec}}), "path or query"},
		{"secret as a connection id", "s3-upload", upload, "SRB_S3_CONN=" + strings.NewReplacer("/", "", "+", "").Replace(sec), "AIRFLOW_CONN_<ID>"},
		{"unencoded secret in the SSH URI", "fe-archive", feArchive, "SRB_SSH_CONN=ssh://root:" + sec + "@fe-host:22", "URL-encoded"},
		{"secret as the SSH JSON port", "fe-archive", feArchive, `SRB_SSH_CONN={"conn_type":"ssh","host":"fe","login":"root","port":"` + sec + `"}`, "port"},
		{"secret in the SSH JSON host", "fe-archive", feArchive, `SRB_SSH_CONN={"conn_type":"ssh","host":"fe ` + sec + `","login":"root"}`, "host"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := testbed.Task(t, tc.task, tc.args...).Env(tc.env).Secrets(leaks(sec)...).Run()
			testbed.WantCode(t, r, 2)
			if !strings.Contains(r.Str("error"), tc.says) {
				t.Fatalf("error %q does not mention %q", r.Str("error"), tc.says)
			}
		})
	}
}

func mustJSON(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return string(b)
}

// Issue 10: the connection forms Airflow writes for a connection of type
// generic (what "airflow connections add --conn-type aws" stores without
// the amazon provider) work; a connection of another type is refused,
// naming the accepted ones.
func TestS3GenericConnection(t *testing.T) {
	m := testbed.NewMinIO(t)
	if err := m.MakeBucket(context.Background(), "backups", false); err != nil {
		t.Fatal(err)
	}
	file, sum := testbed.RandomFile(t, t.TempDir(), 4096)
	ak, sk := url.QueryEscape(m.AccessKey), url.QueryEscape(m.SecretKey)
	hostPort := strings.TrimPrefix(m.Endpoint(), "http://")
	conns := map[string]string{
		// get_uri of --conn-host http://127.0.0.1:P: the host's ':' escaped.
		"uri, endpoint in host": fmt.Sprintf("generic://http://%s:%s@%s/", ak, sk, strings.Replace(hostPort, ":", "%3A", 1)),
		"uri, endpoint_url":     fmt.Sprintf("generic://%s:%s@/?endpoint_url=%s&region_name=eu-west-1", ak, sk, url.QueryEscape(m.Endpoint())),
		// The DAGs' conn_json: every field, null when empty.
		"json, endpoint_url": mustJSON(map[string]any{"conn_type": "generic", "host": nil, "login": m.AccessKey, "password": m.SecretKey,
			"schema": nil, "port": nil, "extra": map[string]any{"endpoint_url": m.Endpoint()}}),
		// --conn-host http://127.0.0.1 --conn-port P
		"json, host and port": mustJSON(map[string]any{"conn_type": "generic", "host": "http://127.0.0.1", "port": m.Port,
			"login": m.AccessKey, "password": m.SecretKey}),
		"json, no type": mustJSON(map[string]any{"login": m.AccessKey, "password": m.SecretKey, "extra": `{"endpoint_url": "` + m.Endpoint() + `"}`}),
	}
	for name, c := range conns {
		t.Run(name, func(t *testing.T) {
			key := "via-" + strings.NewReplacer(" ", "-", ",", "").Replace(name)
			r := testbed.Task(t, "s3-upload", "--bucket", "backups", "--key", key, "--local-path", file).
				Env("SRB_S3_CONN=" + c).Secrets(m.SecretKey).Run()
			testbed.WantCode(t, r, 0)
			if r.Str("sha256") != sum || r.Str("endpoint") != m.Endpoint() {
				t.Fatalf("%s", r.Line)
			}
		})
	}
	pg := mustJSON(map[string]any{"conn_type": "postgres", "login": m.AccessKey, "password": m.SecretKey, "extra": map[string]any{"endpoint_url": m.Endpoint()}})
	r := testbed.Task(t, "s3-upload", "--bucket", "backups", "--key", "pg", "--local-path", file).Env("SRB_S3_CONN=" + pg).Secrets(m.SecretKey).Run()
	testbed.WantCode(t, r, 2)
	if e := r.Str("error"); !strings.Contains(e, "postgres") || !strings.Contains(e, "aws, s3, generic or none") {
		t.Fatalf("error %q", e)
	}
}
