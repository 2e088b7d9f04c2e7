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
		// What Airflow's get_uri writes for a generic connection (the type a
		// plain apache-airflow stores for --conn-type aws or ssh): a host
		// with a protocol has its ':' escaped.
		{"generic://http://AKIA%2FX:se%2Fcr%2Bet%40@minio%3A9000/?endpoint_url=http%3A%2F%2Fminio%3A9000&region_name=us-east-1",
			Connection{ConnType: "generic", Host: "http://minio:9000", Login: "AKIA/X", Password: "se/cr+et@",
				Extra: map[string]any{"endpoint_url": "http://minio:9000", "region_name": "us-east-1"}}},
		{"generic://root:p%40ss@fe-host:2222/?__extra__=%7B%22no_host_key_check%22%3A+true%2C+%22key_file%22%3A+%22%2Fk%2Fid%22%7D",
			Connection{ConnType: "generic", Host: "fe-host", Login: "root", Password: "p@ss", Port: 2222,
				Extra: map[string]any{"no_host_key_check": true, "key_file": "/k/id"}}},
		// An unencoded '/' in a password: Airflow splits it like this too.
		{"aws://AKIA:123/abc@/?endpoint_url=http%3A%2F%2Fm%3A9000",
			Connection{ConnType: "aws", Host: "akia", Port: 123, Schema: "abc@/", Extra: map[string]any{"endpoint_url": "http://m:9000"}}},
		{"ssh://u:a@b/c@host", Connection{ConnType: "ssh", Host: "b", Login: "u", Password: "a", Schema: "c@host"}},
		{"ssh://[::1]:2222", Connection{ConnType: "ssh", Host: "::1", Port: 2222}},
		{"ssh://User@Host.Example:22/Sch%zzema?a+b=c+d&flag&x=%7B%22k%22%3A1%7D&x=2",
			Connection{ConnType: "ssh", Host: "host.example", Login: "User", Port: 22, Schema: "Sch%zzema",
				Extra: map[string]any{"a b": "c d", "flag": "", "x": float64(2)}}},
		{"AWS://K:S@/", Connection{ConnType: "aws", Login: "K", Password: "S"}},
		{"s3://:onlypass@", Connection{ConnType: "s3", Password: "onlypass"}},
		{"generic://%2Fpath%2Fhost:5/", Connection{ConnType: "generic", Host: "/path/host", Port: 5}},
		{"http://h?a=%ff%fe", Connection{ConnType: "http", Host: "h", Extra: map[string]any{"a": "\ufffd\ufffd"}}},
	}
	for _, tc := range cases {
		wantParsed(t, tc.uri, tc.want)
	}
}

// wantParsed checks that Parse reads value as want (no extra and an empty
// one are the same).
func wantParsed(t *testing.T, value string, want Connection) {
	t.Helper()
	got, err := Parse(value)
	if err != nil {
		t.Fatalf("%s: %v", value, err)
	}
	if len(got.Extra) == 0 {
		got.Extra = nil
	}
	if !reflect.DeepEqual(*got, want) {
		t.Errorf("%s:\n got %#v\nwant %#v", value, *got, want)
	}
}

// The JSON Airflow's Connection.as_json writes for generic connections
// (and the DAGs' conn_json helper, with nulls for empty fields).
func TestParseAirflowGenericJSON(t *testing.T) {
	for _, tc := range []struct {
		js   string
		want Connection
	}{
		{`{"conn_type": "generic", "host": "http://minio:9000", "login": "AKIA/X", "password": "se/cr+et@", "extra": {"endpoint_url": "http://minio:9000", "region_name": "us-east-1"}}`,
			Connection{ConnType: "generic", Host: "http://minio:9000", Login: "AKIA/X", Password: "se/cr+et@",
				Extra: map[string]any{"endpoint_url": "http://minio:9000", "region_name": "us-east-1"}}},
		{`{"conn_type": "generic", "host": "fe-host", "login": "root", "password": "p@ss", "port": 2222, "extra": {"no_host_key_check": true, "key_file": "/k/id"}}`,
			Connection{ConnType: "generic", Host: "fe-host", Login: "root", Password: "p@ss", Port: 2222,
				Extra: map[string]any{"no_host_key_check": true, "key_file": "/k/id"}}},
		{`{"conn_type": "generic", "host": null, "login": "K", "password": "S", "schema": null, "port": null, "extra": {}}`,
			Connection{ConnType: "generic", Login: "K", Password: "S"}},
		{`{"host": "h", "port": " 22 ", "extra": "{\"a\": 1}"}`, Connection{Host: "h", Port: 22, Extra: map[string]any{"a": float64(1)}}},
	} {
		wantParsed(t, tc.js, tc.want)
	}
}

func TestCheckType(t *testing.T) {
	for typ, ok := range map[string]bool{"aws": true, "s3": true, "generic": true, "": true, "ssh": false, "postgres": false, "Secr3tValue": false} {
		err := (&Connection{ConnType: typ}).CheckType("an S3 connection", "aws", "s3")
		if (err == nil) != ok {
			t.Fatalf("type %q: %v", typ, err)
		}
		if err == nil {
			continue
		}
		if !usage.Is(err) || !strings.Contains(err.Error(), "aws, s3, generic or none") {
			t.Fatalf("type %q: %v", typ, err)
		}
		if known := typ != "Secr3tValue"; known != strings.Contains(err.Error(), typ) {
			t.Fatalf("type %q: a known type is named, an unknown one is not: %v", typ, err)
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
	if !usage.Is(err) || !strings.Contains(err.Error(), "AIRFLOW_CONN_<ID>") || strings.Contains(strings.ToLower(err.Error()), "missing_conn") {
		t.Fatalf("want a usage error naming the variable's form but not the value, got %v", err)
	}
}

func TestErrorsDoNotRepeatSecrets(t *testing.T) {
	for _, bad := range []string{
		"aws://KEY:TopSecretValue@host:notaport/",
		"aws://KEY:TopSecretValue@host/?__extra__=notjson",
		`{"conn_type":"aws","password":"TopSecretValue","extra":[1]}`,
		`{"password":"TopSecretValue"`,
		"no scheme here TopSecretValue",
		// Issue 9: an unencoded '/' in the secret made the rest of it the port.
		"aws://AKIAIOSFODNN7EXAMPLE:TopSecretValue/K7MDENG/bPxRfiCYEXAMPLEKEY@/?endpoint_url=http%3A%2F%2Fm%3A9000",
		`{"conn_type":"aws","port":"TopSecretValue"}`,
		`{"conn_type":"aws","port":TopSecretValue}`,
		`{"conn_type":"aws","host":["TopSecretValue"]}`,
		`{"conn_type":"aws"} TopSecretValue`,
		"Top SecretValue://x",
		"aws://https:TopSecretValue://x",
		"aws://[TopSecretValue",
		"TopSecretValue",
	} {
		_, err := Parse(bad)
		if err == nil {
			t.Fatalf("%q parsed", bad)
		}
		if !usage.Is(err) {
			t.Fatalf("%q: not a usage error: %v", bad, err)
		}
		if strings.Contains(strings.ToLower(err.Error()), "secretvalue") {
			t.Fatalf("error repeats the secret: %v", err)
		}
	}
}

func TestNestedAndBadBool(t *testing.T) {
	c, _ := Parse(`{"conn_type":"aws","extra":{"service_config":{"s3":{"endpoint_url":"http://x:1"}},"verify":"maybe"}}`)
	if c.Nested("service_config", "s3", "endpoint_url") != "http://x:1" || c.Nested("service_config", "nope") != "" {
		t.Fatal("Nested")
	}
	if _, _, err := c.Bool("verify"); !usage.Is(err) || strings.Contains(err.Error(), "maybe") {
		t.Fatalf("bad bool: want a usage error that does not quote the value, got %v", err)
	}
}
