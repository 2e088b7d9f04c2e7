package sshx

import (
	"context"
	"crypto/rand"
	"embed"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"

	"github.com/starrocks-backup/srbackup/pkg/usage"
)

//go:embed scripts/*.sh
var scripts embed.FS

// prelude starts every script; see scripts/prelude.sh.
var prelude = MustScript(scripts, "scripts/prelude.sh")

// MustScript returns an embedded script file's text; a missing file is a
// programming error.
func MustScript(fs embed.FS, name string) string {
	b, err := fs.ReadFile(name)
	if err != nil {
		panic("sshx: " + err.Error())
	}
	return string(b)
}

// Quote returns s as one word for a POSIX shell: the whole value in single
// quotes, and each single quote inside written as quote, backslash, quote,
// quote (close the quoting, an escaped quote, reopen). Nothing inside
// single quotes is special to sh, so spaces, ';', '$', '`', '*' and
// newlines reach the remote command unchanged and cannot run anything.
func Quote(s string) string {
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

// CheckRemotePath returns a usage error when p cannot be a remote absolute
// path: empty, relative, or holding a NUL byte (which no shell argument can
// carry).
func CheckRemotePath(flag, p string) error {
	switch {
	case p == "":
		return usage.Errorf("%s is required", flag)
	case strings.ContainsRune(p, 0):
		return usage.Errorf("%s holds a NUL byte", flag)
	case !strings.HasPrefix(p, "/"):
		return usage.Errorf("%s %q: give an absolute path on the remote host", flag, p)
	}
	return nil
}

// Script is a POSIX sh script: the prelude every script of this project
// starts with (scripts/prelude.sh: C locale, umask 077, die, run_bg, the
// TERM trap, section), then its variables, then its body, the text of an
// embedded .sh file. Values reach the body only as variables, each quoted
// with Quote: the body's text never holds a value.
type Script struct {
	vars strings.Builder
	body string
}

// NewScript starts a script with the given body.
func NewScript(body string) *Script { return &Script{body: body} }

// Set adds the variable name=<quoted value>.
func (s *Script) Set(name, value string) *Script {
	fmt.Fprintf(&s.vars, "%s=%s\n", name, Quote(value))
	return s
}

// String returns the script text.
func (s *Script) String() string { return prelude + s.vars.String() + s.body }

// Sections are the named parts of a script's standard output: the script
// calls `section NAME` and prints the part's text after it.
type Sections map[string]string

// Value finds "key=value" among the lines of a section.
func (s Sections) Value(section, key string) (string, bool) {
	for _, line := range strings.Split(s[section], "\n") {
		if v, ok := strings.CutPrefix(line, key+"="); ok {
			return strings.TrimSpace(v), true
		}
	}
	return "", false
}

// RunSections runs the script with a random marker in $m and returns the
// sections of its output. Each `section NAME` prints a newline, the marker,
// the name and a newline, so a section's text is exactly what the script
// printed after it, even without a final newline (a NUL-separated list).
// On a failed script the sections printed before the failure come with the
// *RemoteError.
func (c *Client) RunSections(ctx context.Context, s *Script) (Sections, error) {
	b := make([]byte, 8)
	_, _ = rand.Read(b)
	marker := "--srb-" + hex.EncodeToString(b) + "--"
	out, err := c.Run(ctx, s.Set("m", marker).String())
	var re *RemoteError
	if err != nil && !errors.As(err, &re) {
		return nil, err
	}
	return splitSections(out, marker), err
}

// splitSections cuts output made by the section function.
func splitSections(out, marker string) Sections {
	sections := Sections{}
	parts := strings.Split(out, "\n"+marker+" ")
	for _, p := range parts[1:] {
		name, text, _ := strings.Cut(p, "\n")
		sections[name] = text
	}
	return sections
}
