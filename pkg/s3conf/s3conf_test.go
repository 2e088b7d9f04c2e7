package s3conf

import (
	"strings"
	"testing"

	"github.com/starrocks-backup/srbackup/pkg/usage"
)

func resolve(conn, endpoint string) (Config, error) {
	return Input{Conn: conn, Endpoint: endpoint, Getenv: func(string) string { return "" }}.Resolve()
}

// Issue 10: connections of type generic (or none), as Airflow writes them.
func TestResolveGenericConnections(t *testing.T) {
	for conn, want := range map[string]string{
		"generic://http://AK:se%2Fcr%2Bet@minio%3A9000/":                                                                     "http://minio:9000",
		"generic://AK:SK@/?endpoint_url=https%3A%2F%2Fs3.example.com&region_name=eu-west-1":                                  "https://s3.example.com",
		`{"conn_type":"generic","host":"http://minio","port":9000,"login":"AK","password":"SK"}`:                             "http://minio:9000",
		`{"conn_type":"generic","host":null,"login":"AK","password":"SK","port":null,"extra":{"endpoint_url":"http://m:1"}}`: "http://m:1",
		`{"login":"AK","password":"SK","extra":"{\"endpoint_url\": \"http://m:2/\"}"}`:                                       "http://m:2",
		"aws://AK:SK@/?service_config=%7B%22s3%22%3A%7B%22endpoint_url%22%3A%22http%3A%2F%2Fm%3A3%22%7D%7D":                  "http://m:3",
	} {
		c, err := resolve(conn, "")
		if err != nil {
			t.Fatalf("%s: %v", conn, err)
		}
		if c.Endpoint != want || c.AccessKey != "AK" || c.SecretKey == "" {
			t.Fatalf("%s: endpoint %q (want %q), keys %q", conn, c.Endpoint, want, c.AccessKey)
		}
	}
	_, err := resolve(`{"conn_type":"postgres","login":"AK","password":"SK"}`, "")
	if !usage.Is(err) || !strings.Contains(err.Error(), "aws, s3, generic or none") {
		t.Fatalf("postgres: %v", err)
	}
}

// Issue 9 #9: endpoint errors show a flag's endpoint without user info,
// path or query, and a connection's not at all; a connection whose secret
// spilled into the path (an unencoded '/') is refused with the reason.
func TestResolveErrorsShowNoSecret(t *testing.T) {
	cases := []struct {
		conn, endpoint string
		says           string
	}{
		{"", "http://admin:Pa55w0rdXyz@minio:9000", "http://minio:9000: it holds a login or password"},
		{"", "http://minio:9000/?token=T0kenValue9", "http://minio:9000: it has a path or query"},
		{"", "http://minio:9000/T0kenValue9", "path or query"},
		{"", "minio:9000", "minio:9000: not an http"},
		{"", "http://admin:Pa55/w0rdXyz@minio:9000", "(not shown"},
		{"aws://AK:SK@/?endpoint_url=" + "http%3A%2F%2Fadmin%3APa55w0rdXyz%40minio%3A9000", "", "(the connection's endpoint_url): it holds a login"},
		{`{"conn_type":"aws","login":"AK","password":"SK","host":"Pa55w0rdXyz"}`, "", "(the connection's host): not an http"},
		{`{"conn_type":"aws","login":"AK","password":"SK","extra":{"endpoint_url":"http://m:9000/?token=T0kenValue9"}}`, "", "path or query"},
		{"aws://AKIA:1234/Pa55w0rdXyz@/?endpoint_url=http%3A%2F%2Fm%3A9000", "", "has a schema"},
	}
	for _, tc := range cases {
		_, err := resolve(tc.conn, tc.endpoint)
		if !usage.Is(err) || !strings.Contains(err.Error(), tc.says) {
			t.Fatalf("%q %q: want a usage error saying %q, got %v", tc.conn, tc.endpoint, tc.says, err)
		}
		for _, s := range []string{"Pa55", "w0rdXyz", "T0kenValue9", "admin"} {
			if strings.Contains(err.Error(), s) {
				t.Fatalf("%q %q: the error shows %q: %v", tc.conn, tc.endpoint, s, err)
			}
		}
	}
}
