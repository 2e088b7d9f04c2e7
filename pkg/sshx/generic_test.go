//go:build e2e

package sshx

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/url"
	"strings"
	"testing"

	"github.com/rs/zerolog"

	"github.com/starrocks-backup/srbackup/pkg/testbed"
	"github.com/starrocks-backup/srbackup/pkg/usage"
)

// Issue 10: on a plain "pip install apache-airflow" (no ssh provider),
// "airflow connections add --conn-type ssh" stores a connection of type
// generic. Such a connection, in the forms Airflow writes (get_uri, and the
// JSON of as_json and of the DAGs' conn_json), logs in to a real sshd; a
// connection of another type is refused, naming the accepted ones.
func TestGenericConnectionAgainstSSHD(t *testing.T) {
	s := testbed.NewSSHD(t)
	if s.PasswordUser == "" {
		t.Fatal("the test bed has no password user: these tests run as root (CI does)")
	}
	extra, _ := json.Marshal(map[string]any{"key_file": s.KeyFile, "host_key": s.HostKeyBase64(), "conn_timeout": 10})
	keyJSON, _ := json.Marshal(map[string]any{"conn_type": "generic", "host": s.Host, "port": s.Port, "login": s.User,
		"password": nil, "schema": nil, "extra": json.RawMessage(extra)})
	pwJSON, _ := json.Marshal(map[string]any{"conn_type": "generic", "host": s.Host, "port": s.Port, "login": s.PasswordUser,
		"password": s.Password, "extra": map[string]any{"host_key": s.HostKeyBase64()}})
	pwURI := fmt.Sprintf("generic://%s:%s@%s/?host_key=%s", url.QueryEscape(s.PasswordUser), url.QueryEscape(s.Password),
		s.Addr(), url.QueryEscape(s.HostKeyBase64()))
	keyURI := fmt.Sprintf("generic://%s@%s/?__extra__=%s", url.QueryEscape(s.User), s.Addr(), url.QueryEscape(string(extra)))
	ctx := zerolog.New(io.Discard).WithContext(context.Background())
	for name, c := range map[string]string{"key json": string(keyJSON), "password json": string(pwJSON),
		"password uri": pwURI, "key uri (__extra__)": keyURI, "no type": strings.Replace(string(keyJSON), `"generic"`, `""`, 1)} {
		t.Run(name, func(t *testing.T) {
			cl, err := dial(ctx, Options{Conn: c, Getenv: envOf(nil)})
			if err != nil {
				t.Fatalf("a generic connection was refused: %v", err)
			}
			defer cl.Close()
			if out, err := cl.Run(ctx, "echo generic-ok"); err != nil || strings.TrimSpace(out) != "generic-ok" {
				t.Fatalf("Run = %q, %v", out, err)
			}
		})
	}
	_, err := Options{Conn: strings.Replace(string(keyJSON), `"generic"`, `"postgres"`, 1), Getenv: envOf(nil)}.Resolve()
	if !usage.Is(err) || !strings.Contains(err.Error(), "postgres") || !strings.Contains(err.Error(), "ssh, sftp, generic or none") {
		t.Fatalf("a postgres connection: want a usage error naming the accepted types, got %v", err)
	}
}
