package secret

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/starrocks-backup/srbackup/pkg/usage"
)

func env(m map[string]string) Getenv { return func(k string) string { return m[k] } }

func TestLookupFromEnvAndFile(t *testing.T) {
	dir := t.TempDir()
	f := filepath.Join(dir, "pw")
	if err := os.WriteFile(f, []byte("from-file-s3cr3t\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	v, err := LookupFrom(env(map[string]string{"PW": "env-s3cr3t", "PW_FILE": f}), "PW")
	if err != nil || v != "env-s3cr3t" {
		t.Fatalf("env should win: %q %v", v, err)
	}
	v, err = LookupFrom(env(map[string]string{"PW_FILE": f}), "PW")
	if err != nil || v != "from-file-s3cr3t" {
		t.Fatalf("file: %q %v", v, err)
	}
	v, err = LookupFrom(env(nil), "PW")
	if err != nil || v != "" {
		t.Fatalf("unset: %q %v", v, err)
	}
	_, err = LookupFrom(env(map[string]string{"PW_FILE": filepath.Join(dir, "missing")}), "PW")
	if !usage.Is(err) || !strings.Contains(err.Error(), "PW_FILE") {
		t.Fatalf("missing file should be a usage error naming the variable: %v", err)
	}
	empty := filepath.Join(dir, "empty")
	_ = os.WriteFile(empty, nil, 0o600)
	if _, err = LookupFrom(env(map[string]string{"PW_FILE": empty}), "PW"); !usage.Is(err) {
		t.Fatalf("empty file should be a usage error: %v", err)
	}
}

func TestMask(t *testing.T) {
	Register("p@ss/word+1", "ab")
	got := Mask("uri aws://k:p%40ss%2Fword%2B1@ and raw p@ss/word+1 and ab")
	if strings.Contains(got, "word") {
		t.Fatalf("secret left in %q", got)
	}
	if !strings.Contains(got, " ab") {
		t.Fatalf("two-character value should not be masked: %q", got)
	}
	b64 := Mask("basic cEBzcy93b3JkKzE= and cEBzcy93b3JkKzE")
	if strings.Contains(b64, "cEBzcy93b3JkKzE") {
		t.Fatalf("base64 form left in %q", b64)
	}
	if string(MaskBytes([]byte("nothing here"))) != "nothing here" {
		t.Fatal("MaskBytes changed clean input")
	}
}
