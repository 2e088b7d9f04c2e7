package sshx

import (
	"crypto/ed25519"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"net"
	"os"
	"strings"
	"sync"

	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/knownhosts"

	"github.com/starrocks-backup/srbackup/pkg/conn"
	"github.com/starrocks-backup/srbackup/pkg/localfile"
	"github.com/starrocks-backup/srbackup/pkg/usage"
)

// HostKeyProblem says why a host key was refused.
type HostKeyProblem int

// The reasons a host key is refused.
const (
	HostKeyUnknown  HostKeyProblem = iota + 1 // no entry for the host
	HostKeyChanged                            // entries for the host, none with this key
	HostKeyMismatch                           // not the pinned key (--host-key)
	HostKeyRevoked                            // marked @revoked
)

// HostKeyError is returned by Dial when the host key is refused.
type HostKeyError struct {
	Problem HostKeyProblem
	Addr    string
	Offered ssh.PublicKey
	Known   []string // "file:line ssh-ed25519 SHA256:..." or the pinned key
	Source  string   // "known_hosts file /x", "--host-key"
	File    string   // the known_hosts file, for the hint
	Host    string
	Port    int
}

func (e *HostKeyError) Error() string {
	offered := describeKey(e.Offered)
	switch e.Problem {
	case HostKeyUnknown:
		hint := "pin it with --host-key or the connection's host_key"
		if e.File != "" {
			scan := "ssh-keyscan " + e.Host
			if e.Port != 22 {
				scan = fmt.Sprintf("ssh-keyscan -p %d %s", e.Port, e.Host)
			}
			hint = fmt.Sprintf("add it to %s (%s, after checking the fingerprint) or %s", e.File, scan, hint)
		}
		return fmt.Sprintf("host key of %s is unknown: no entry in %s (the host offered %s); %s", e.Addr, e.Source, offered, hint)
	case HostKeyChanged:
		return fmt.Sprintf("host key of %s has CHANGED, possible man-in-the-middle: the host offered %s but %s has %s; "+
			"if the host was reinstalled, replace its entry after checking the new fingerprint", e.Addr, offered, e.Source, strings.Join(e.Known, ", "))
	case HostKeyMismatch:
		return fmt.Sprintf("host key of %s does not match the pinned key, possible man-in-the-middle: the host offered %s, %s is %s",
			e.Addr, offered, e.Source, strings.Join(e.Known, ", "))
	case HostKeyRevoked:
		return fmt.Sprintf("host key of %s is revoked in %s: %s", e.Addr, e.Source, offered)
	}
	return "host key refused"
}

// describeKey gives a key's type and SHA-256 fingerprint.
func describeKey(k ssh.PublicKey) string {
	if k == nil {
		return "no key"
	}
	return k.Type() + " " + ssh.FingerprintSHA256(k)
}

// hostKeyState remembers the key the server offered, for messages.
type hostKeyState struct {
	mu      sync.Mutex
	offered ssh.PublicKey
}

func (s *hostKeyState) set(k ssh.PublicKey) {
	s.mu.Lock()
	s.offered = k
	s.mu.Unlock()
}

// Offered returns the host key the server presented, if any.
func (s *hostKeyState) Offered() ssh.PublicKey {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.offered
}

// resolveHostKey chooses how the host key is verified: a pinned key
// (--host-key, else the connection's host_key), a known_hosts file
// (--known-hosts, default ~/.ssh/known_hosts), or not at all when
// --insecure-ignore-host-key (or the connection's no_host_key_check=true)
// says so. Explicit flags win over the connection.
func resolveHostKey(cfg *Config, o Options, c *conn.Connection, getenv func(string) string) error {
	pinned, pinnedFrom := strings.TrimSpace(o.HostKey), "--host-key"
	insecure := o.InsecureIgnoreHostKey
	noCheck, _, err := c.Bool("no_host_key_check")
	if err != nil {
		return err
	}
	if insecure && (pinned != "" || o.KnownHosts != "") {
		return usage.Errorf("--insecure-ignore-host-key cannot be combined with --host-key or --known-hosts")
	}
	if !insecure && pinned == "" && o.KnownHosts == "" {
		if hk := strings.TrimSpace(c.String("host_key")); hk != "" {
			if noCheck {
				return usage.Errorf("--ssh-conn: host_key is set and no_host_key_check is true: a given host key must be checked")
			}
			pinned, pinnedFrom = hk, "the connection's host_key"
		} else if noCheck {
			insecure = true
		}
	}
	switch {
	case insecure:
		cfg.Insecure = true
		cfg.HostKeyCheck = "disabled"
		cfg.hostKey = func(string, net.Addr, ssh.PublicKey) error { return nil }
	case pinned != "":
		return pinHostKey(cfg, pinned, pinnedFrom)
	default:
		return useKnownHosts(cfg, o.KnownHosts, getenv)
	}
	return nil
}

func pinHostKey(cfg *Config, value, from string) error {
	key, fp, err := ParseHostKey(value)
	if err != nil {
		return usage.Errorf("%s: %v", from, err)
	}
	want := fp
	if key != nil {
		want = describeKey(key)
		cfg.hostKeyAlgorithms = algorithmsFor(key.Type())
	}
	cfg.HostKeyCheck = "pinned " + want
	cfg.hostKey = func(_ string, _ net.Addr, offered ssh.PublicKey) error {
		if key != nil && string(key.Marshal()) == string(offered.Marshal()) {
			return nil
		}
		if key == nil && ssh.FingerprintSHA256(offered) == fp {
			return nil
		}
		return &HostKeyError{Problem: HostKeyMismatch, Addr: cfg.Addr(), Offered: offered, Known: []string{want}, Source: from}
	}
	return nil
}

// ParseHostKey reads a pinned host key given as "ssh-ed25519 AAAA... [comment]"
// (the authorized_keys and ssh-keyscan form, with or without a leading host
// field), as the bare base64 blob Airflow stores in host_key, or as a
// fingerprint "SHA256:...". For a fingerprint, key is nil.
func ParseHostKey(s string) (key ssh.PublicKey, fingerprint string, err error) {
	s = strings.TrimSpace(s)
	if strings.HasPrefix(s, "SHA256:") {
		if len(strings.Fields(s)) != 1 {
			return nil, "", errors.New("a fingerprint is one word: SHA256 and its base64")
		}
		return nil, s, nil
	}
	fields := strings.Fields(s)
	switch {
	case len(fields) == 0:
		return nil, "", errors.New("empty host key")
	case len(fields) == 1:
		blob, err := base64.StdEncoding.DecodeString(fields[0])
		if err != nil {
			blob, err = base64.RawStdEncoding.DecodeString(fields[0])
		}
		if err != nil {
			return nil, "", errors.New("not a public key: want \"ssh-ed25519 AAAA...\", its base64 part, or SHA256:<fingerprint>")
		}
		k, err := ssh.ParsePublicKey(blob)
		if err != nil {
			return nil, "", fmt.Errorf("not a public key: %v", strings.TrimPrefix(err.Error(), "ssh: "))
		}
		return k, ssh.FingerprintSHA256(k), nil
	default:
		if !isKeyType(fields[0]) && isKeyType(fields[1]) { // "host ssh-ed25519 AAAA", as ssh-keyscan prints
			s = strings.Join(fields[1:], " ")
		}
		k, _, _, _, err := ssh.ParseAuthorizedKey([]byte(s))
		if err != nil {
			return nil, "", fmt.Errorf("not a public key: %v", strings.TrimPrefix(err.Error(), "ssh: "))
		}
		return k, ssh.FingerprintSHA256(k), nil
	}
}

func isKeyType(w string) bool {
	for _, p := range []string{"ssh-", "ecdsa-", "sk-", "rsa-"} {
		if strings.HasPrefix(w, p) {
			return true
		}
	}
	return false
}

// algorithmsFor lists the host key algorithms that use a key of this type.
func algorithmsFor(keyType string) []string {
	if keyType == ssh.KeyAlgoRSA {
		return []string{ssh.KeyAlgoRSASHA512, ssh.KeyAlgoRSASHA256, ssh.KeyAlgoRSA}
	}
	return []string{keyType}
}

func useKnownHosts(cfg *Config, file string, getenv func(string) string) error {
	explicit := file != ""
	if !explicit {
		file = homeFile(getenv, ".ssh/known_hosts")
	} else {
		file = expandHome(getenv, file)
	}
	cfg.HostKeyCheck = "known_hosts " + file
	source := "known_hosts file " + file
	if _, err := os.Stat(file); err != nil || file == "" {
		if explicit {
			return usage.Errorf("--known-hosts %s: %s", file, localfile.Reason(err))
		}
		// No file: every host is unknown. Say so when the host answers.
		cfg.hostKey = func(_ string, _ net.Addr, offered ssh.PublicKey) error {
			return &HostKeyError{Problem: HostKeyUnknown, Addr: cfg.Addr(), Offered: offered,
				Source: source + " (the file does not exist)", File: file, Host: cfg.Host, Port: cfg.Port}
		}
		return nil
	}
	cb, err := knownhosts.New(file)
	if err != nil {
		return usage.Errorf("--known-hosts: %v", strings.TrimPrefix(err.Error(), "knownhosts: "))
	}
	cfg.hostKey = func(hostname string, remote net.Addr, offered ssh.PublicKey) error {
		err := cb(hostname, remote, offered)
		var ke *knownhosts.KeyError
		var re *knownhosts.RevokedError
		switch {
		case err == nil:
			return nil
		case errors.As(err, &ke) && len(ke.Want) == 0:
			return &HostKeyError{Problem: HostKeyUnknown, Addr: cfg.Addr(), Offered: offered, Source: source, File: file, Host: cfg.Host, Port: cfg.Port}
		case errors.As(err, &ke):
			var known []string
			for _, k := range ke.Want {
				known = append(known, fmt.Sprintf("%s (line %d)", describeKey(k.Key), k.Line))
			}
			return &HostKeyError{Problem: HostKeyChanged, Addr: cfg.Addr(), Offered: offered, Known: known, Source: source, File: file}
		case errors.As(err, &re):
			return &HostKeyError{Problem: HostKeyRevoked, Addr: cfg.Addr(), Offered: offered, Source: source}
		}
		return err
	}
	cfg.hostKeyAlgorithms = knownAlgorithms(cb, cfg)
	return nil
}

// knownAlgorithms asks the known_hosts database which key types it holds
// for the host (by offering a key it cannot know), so that the server is
// asked for a key of a known type and not, say, an ed25519 key when only
// its RSA key is recorded. Nil when the host has no entry.
func knownAlgorithms(cb ssh.HostKeyCallback, cfg *Config) []string {
	pub, _, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return nil
	}
	probe, err := ssh.NewPublicKey(pub)
	if err != nil {
		return nil
	}
	ip := net.ParseIP(cfg.Host)
	if ip == nil {
		ip = net.IPv4zero
	}
	err = cb(cfg.Addr(), &net.TCPAddr{IP: ip, Port: cfg.Port}, probe)
	var ke *knownhosts.KeyError
	if !errors.As(err, &ke) || len(ke.Want) == 0 {
		return nil
	}
	var algos []string
	seen := map[string]bool{}
	for _, k := range ke.Want {
		for _, a := range algorithmsFor(k.Key.Type()) {
			if !seen[a] {
				seen[a] = true
				algos = append(algos, a)
			}
		}
	}
	return algos
}
