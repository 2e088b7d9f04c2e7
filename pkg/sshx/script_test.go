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

// Values reach the body only as quoted variables, after the prelude.
func TestScript(t *testing.T) {
	s := NewScript(`cd -- "$d" && echo ok`).Set("d", "/x y/$(id)").String()
	for _, want := range []string{`d='/x y/$(id)'`, "export LC_ALL=C", "die()", "section()"} {
		if !strings.Contains(s, want) {
			t.Fatalf("script lacks %q:\n%s", want, s)
		}
	}
	if !strings.HasSuffix(s, "\n"+`d='/x y/$(id)'`+"\n"+`cd -- "$d" && echo ok`) {
		t.Fatalf("the variables do not come between the prelude and the body:\n%s", s)
	}
}

// A section's text is exactly what the script printed after it: with or
// without a final newline, NUL bytes, empty, and text that looks like a
// marker of another run.
func TestSectionsRoundTripThroughSh(t *testing.T) {
	body := `section a; printf 'one\ntwo\n'
section nul; printf 'x\0y z\0'
section empty
section fake; printf -- '--srb-0000000000000000-- b\n'
section last; printf 'no newline'`
	marker := "--srb-0123456789abcdef--"
	out, err := exec.Command("sh", "-c", NewScript(body).Set("m", marker).String()).Output()
	if err != nil {
		t.Fatal(err)
	}
	got := splitSections(string(out), marker)
	want := Sections{"a": "one\ntwo\n", "nul": "x\x00y z\x00", "empty": "", "fake": "--srb-0000000000000000-- b\n", "last": "no newline"}
	if len(got) != len(want) {
		t.Fatalf("sections %q, want %q", got, want)
	}
	for k, v := range want {
		if got[k] != v {
			t.Fatalf("section %s = %q, want %q", k, got[k], v)
		}
	}
	if v, ok := (Sections{"s": "x=1\nsize= 42 \n"}).Value("s", "size"); !ok || v != "42" {
		t.Fatalf("Value = %q %v", v, ok)
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
