package conn

import (
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/starrocks-backup/srbackup/pkg/usage"
)

// The expectations below are what apache-airflow 3.1's
// airflow.models.Connection(uri=...) returns for the same strings.
func TestParseURILikeAirflow(t *testing.T) {
	cases := []struct {
		uri  string
		want Connection
	}{
		{"aws://AKIA%2FX:se%2Fcr%2Bet%40@/?endpoint_url=http%3A%2F%2Fminio%3A9000&region_name=us-east-1",
			Connection{ConnType: "aws", Login: "AKIA/X", Password: "se/cr+et@", Extra: map[string]any{"endpoint_url": "http://minio:9000", "region_name": "us-east-1"}}},
		{"ssh://root:p%40ss@Starrocks-FE:2222?key_file=%2Fkeys%2Fid&no_host_key_check=false&conn_timeout=10",
			Connection{ConnType: "ssh", Host: "starrocks-fe", Login: "root", Password: "p@ss", Port: 2222, Extra: map[string]any{"key_file": "/keys/id", "no_host_key_check": false, "conn_timeout": float64(10)}}},
		{"http://https://Example.com:8443/path%20x?a=1&a=2",
			Connection{ConnType: "http", Host: "https://example.com", Schema: "path x", Port: 8443, Extra: map[string]any{"a": float64(2)}}},
		{"aws://?__extra__=%7B%22endpoint_url%22%3A+%22http%3A%2F%2Fm%3A9000%22%2C+%22service_config%22%3A+%7B%22s3%22%3A+%7B%22x%22%3A+1%7D%7D%7D",
			Connection{ConnType: "aws", Extra: map[string]any{"endpoint_url": "http://m:9000", "service_config": map[string]any{"s3": map[string]any{"x": float64(1)}}}}},
		{"aws://", Connection{ConnType: "aws"}},
		{"my-type://h", Connection{ConnType: "my_type", Host: "h"}},
	}
	for _, tc := range cases {
		got, err := Parse(tc.uri)
		if err != nil {
			t.Fatalf("%s: %v", tc.uri, err)
		}
		if len(got.Extra) == 0 {
			got.Extra = nil
		}
		if !reflect.DeepEqual(*got, tc.want) {
			t.Errorf("%s:\n got %#v\nwant %#v", tc.uri, *got, tc.want)
		}
	}
}

func TestParseJSON(t *testing.T) {
	got, err := Parse(`{"conn_type":"aws","login":"AK","password":"SK","port":"9000","extra":"{\"endpoint_url\":\"http://m:9000\"}"}`)
	if err != nil {
		t.Fatal(err)
	}
	if got.ConnType != "aws" || got.Login != "AK" || got.Password != "SK" || got.Port != 9000 || got.String("endpoint_url") != "http://m:9000" {
		t.Fatalf("%#v", got)
	}
	got, err = Parse(`{"conn_type":"ssh","host":"fe","port":2222,"extra":{"no_host_key_check":"true","conn_timeout":2.5}}`)
	if err != nil {
		t.Fatal(err)
	}
	if b, ok, err := got.Bool("no_host_key_check"); !b || !ok || err != nil {
		t.Fatalf("Bool: %v %v %v", b, ok, err)
	}
	if d, ok, err := got.Seconds("conn_timeout"); d != 2500*time.Millisecond || !ok || err != nil {
		t.Fatalf("Seconds: %v %v %v", d, ok, err)
	}
	if _, ok, _ := got.Seconds("cmd_timeout"); ok {
		t.Fatal("absent extra reported present")
	}
}

func TestConnIDFromEnvironment(t *testing.T) {
	env := map[string]string{"AIRFLOW_CONN_AWS_S3": "aws://K:S@/?region_name=eu-west-1"}
	c, err := ParseFrom(func(k string) string { return env[k] }, "aws_s3")
	if err != nil || c.Login != "K" || c.String("region_name") != "eu-west-1" {
		t.Fatalf("%#v %v", c, err)
	}
	_, err = ParseFrom(func(string) string { return "" }, "missing_conn")
	if !usage.Is(err) || !strings.Contains(err.Error(), "AIRFLOW_CONN_MISSING_CONN") {
		t.Fatalf("want a usage error naming the variable, got %v", err)
	}
}

func TestErrorsDoNotRepeatSecrets(t *testing.T) {
	for _, bad := range []string{
		"aws://KEY:TopSecretValue@host:notaport/",
		"aws://KEY:TopSecretValue@host/?__extra__=notjson",
		`{"conn_type":"aws","password":"TopSecretValue","extra":[1]}`,
		`{"password":"TopSecretValue"`,
		"no scheme here TopSecretValue",
	} {
		_, err := Parse(bad)
		if err == nil {
			t.Fatalf("%q parsed", bad)
		}
		if !usage.Is(err) {
			t.Fatalf("%q: not a usage error: %v", bad, err)
		}
		if strings.Contains(err.Error(), "TopSecretValue") {
			t.Fatalf("error repeats the secret: %v", err)
		}
	}
}

func TestNestedAndBadBool(t *testing.T) {
	c, _ := Parse(`{"conn_type":"aws","extra":{"service_config":{"s3":{"endpoint_url":"http://x:1"}},"verify":"maybe"}}`)
	if c.Nested("service_config", "s3", "endpoint_url") != "http://x:1" || c.Nested("service_config", "nope") != "" {
		t.Fatal("Nested")
	}
	if _, _, err := c.Bool("verify"); !usage.Is(err) {
		t.Fatalf("bad bool: %v", err)
	}
}
