package sshx

import (
	"fmt"
	"strings"

	"github.com/starrocks-backup/srbackup/pkg/usage"
)

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

// Script is a POSIX sh script built from lines; values are added quoted.
type Script struct{ b strings.Builder }

// NewScript starts a script with the settings every remote script of this
// project uses: the C locale (tool messages are parsed), a private umask,
// a die function printing one line on stderr, and a trap that ends the
// whole process group when the session gets SIGTERM (Client.Exec sends it
// on cancellation). A shell runs its traps only between commands, so long
// commands go through run_bg ("run_bg tar ..."), whose wait a signal interrupts.
func NewScript() *Script {
	s := &Script{}
	s.Line("export LC_ALL=C LANG=C")
	s.Line("umask 077")
	s.Line(`die() { printf '%s\n' "$*" >&2; exit 1; }`)
	s.Line(`trap 'trap - TERM HUP INT; kill 0 2>/dev/null; exit 143' TERM HUP INT`)
	s.Line(`run_bg() { "$@" & wait $!; }`)
	return s
}

// Set adds name=<quoted value>.
func (s *Script) Set(name, value string) *Script {
	fmt.Fprintf(&s.b, "%s=%s\n", name, Quote(value))
	return s
}

// Line adds a line of script text, taken as is.
func (s *Script) Line(text string) *Script {
	s.b.WriteString(text)
	s.b.WriteByte('\n')
	return s
}

// Linef adds a formatted line; its arguments are quoted with Quote, so the
// format string alone decides the script's structure. A %s must stand as a
// word of its own (die "no file" %s "here"), never inside double quotes,
// where the quotes Quote adds would be literal characters and $(...) in
// the value would run.
func (s *Script) Linef(format string, values ...string) *Script {
	args := make([]any, len(values))
	for i, v := range values {
		args[i] = Quote(v)
	}
	fmt.Fprintf(&s.b, format, args...)
	s.b.WriteByte('\n')
	return s
}

// String returns the script text.
func (s *Script) String() string { return s.b.String() }
