package sshx

import (
	"math/rand"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// The quoted word must reach a real sh as exactly the original bytes, and
// nothing inside it may run.
func TestQuoteRoundTripsThroughSh(t *testing.T) {
	dir := t.TempDir()
	canary := filepath.Join(dir, "pwned")
	values := []string{
		"", "plain", "with space", "semi;colon", "it's", "''", `\`, `\'`, "a\nb", "$HOME", "`id`",
		"$(touch " + canary + ")", "'; touch " + canary + "; '", "*", "-rf", "\"double\"", "tab\there", "ünï©ødé",
		"/opt/starrocks/fe dir; rm -rf /tmp/x", "!bang", "~user", "{a,b}",
	}
	rng := rand.New(rand.NewSource(1))
	for i := 0; i < 200; i++ {
		b := make([]byte, rng.Intn(30))
		for j := range b {
			b[j] = byte(1 + rng.Intn(255)) // any byte but NUL
		}
		values = append(values, string(b))
	}
	for _, v := range values {
		out, err := exec.Command("sh", "-c", "printf '%s' "+Quote(v)).Output()
		if err != nil {
			t.Fatalf("sh failed on %q: %v", v, err)
		}
		if string(out) != v {
			t.Fatalf("Quote(%q) came back as %q", v, out)
		}
	}
	if _, err := os.Stat(canary); err == nil {
		t.Fatal("a quoted value ran a command")
	}
}

func TestScript(t *testing.T) {
	s := NewScript().Set("d", "/x y/$(id)").Linef(`cd -- %s && echo ok %s`, "/a b", "z").String()
	for _, want := range []string{`d='/x y/$(id)'`, `cd -- '/a b' && echo ok 'z'`, "export LC_ALL=C", "die()"} {
		if !strings.Contains(s, want) {
			t.Fatalf("script lacks %q:\n%s", want, s)
		}
	}
}

func TestCheckRemotePath(t *testing.T) {
	for _, bad := range []string{"", "relative/path", "/with\x00nul"} {
		if err := CheckRemotePath("--fe-dir", bad); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
	if err := CheckRemotePath("--fe-dir", "/opt/star rocks/fe;x"); err != nil {
		t.Errorf("valid path refused: %v", err)
	}
}
