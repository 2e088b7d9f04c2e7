// Package secret reads secrets from the environment (or from a file named by
// an environment variable) and remembers every secret it has seen so that
// the task runtime can mask it in logs, errors and results.
//
// A secret is never taken from a command-line flag: command lines are visible
// to every user of the host (ps, /proc) and end up in Airflow task logs.
package secret

import (
	"encoding/base64"
	"net/url"
	"os"
	"sort"
	"strings"
	"sync"

	"github.com/starrocks-backup/srbackup/pkg/localfile"
	"github.com/starrocks-backup/srbackup/pkg/usage"
)

// FileSuffix is appended to a secret's variable name to name a file holding
// it instead (the Docker and Kubernetes secrets convention):
// SRB_SSH_PASSWORD_FILE=/run/secrets/fe-password.
const FileSuffix = "_FILE"

// Getenv is how secrets are looked up; tests may replace it per call through
// LookupFrom.
type Getenv func(string) string

// Lookup returns the secret held by the environment variable name, or read
// from the file named by name+"_FILE" (one trailing newline removed). It
// returns "" when neither is set. The value is registered for masking.
func Lookup(name string) (string, error) { return LookupFrom(os.Getenv, name) }

// LookupFrom is Lookup with an explicit environment.
func LookupFrom(getenv Getenv, name string) (string, error) {
	if v := getenv(name); v != "" {
		Register(v)
		return v, nil
	}
	path := getenv(name + FileSuffix)
	if path == "" {
		return "", nil
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return "", usage.Errorf("cannot read secret file %s given by %s%s: %v", path, name, FileSuffix, localfile.Reason(err))
	}
	v := strings.TrimSuffix(strings.TrimSuffix(string(b), "\n"), "\r")
	if v == "" {
		return "", usage.Errorf("secret file given by %s%s is empty", name, FileSuffix)
	}
	Register(v)
	return v, nil
}

// minLen is the shortest value that is masked: masking one or two characters
// would garble every log line without protecting anything.
const minLen = 3

var (
	mu     sync.RWMutex
	known  = map[string]struct{}{}
	sorted []string // longest first, so that a secret containing another is masked whole
)

// forms are the ways a secret may be written out: as it is, URL-encoded
// (a connection URI) and base64-encoded (an HTTP Basic header, a
// Kubernetes Secret).
func forms(v string) []string {
	return []string{v, url.QueryEscape(v), url.PathEscape(v),
		base64.StdEncoding.EncodeToString([]byte(v)), base64.RawStdEncoding.EncodeToString([]byte(v)),
		base64.URLEncoding.EncodeToString([]byte(v)), base64.RawURLEncoding.EncodeToString([]byte(v))}
}

// Register remembers values (and their encoded forms) as secrets.
func Register(values ...string) {
	mu.Lock()
	defer mu.Unlock()
	changed := false
	for _, v := range values {
		if len(v) < minLen {
			continue
		}
		for _, form := range forms(v) {
			if len(form) < minLen {
				continue
			}
			if _, ok := known[form]; !ok {
				known[form] = struct{}{}
				changed = true
			}
		}
	}
	if changed {
		sorted = sorted[:0]
		for k := range known {
			sorted = append(sorted, k)
		}
		sort.Slice(sorted, func(i, j int) bool { return len(sorted[i]) > len(sorted[j]) })
	}
}

// Mask replaces every registered secret in s with "***".
func Mask(s string) string {
	mu.RLock()
	defer mu.RUnlock()
	for _, k := range sorted {
		if strings.Contains(s, k) {
			s = strings.ReplaceAll(s, k, "***")
		}
	}
	return s
}

// MaskBytes is Mask for a byte slice; it returns b itself when nothing is masked.
func MaskBytes(b []byte) []byte {
	mu.RLock()
	n := len(sorted)
	mu.RUnlock()
	if n == 0 {
		return b
	}
	s := string(b)
	if m := Mask(s); m != s {
		return []byte(m)
	}
	return b
}
