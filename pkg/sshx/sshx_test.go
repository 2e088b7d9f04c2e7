package sshx

import (
	"crypto/ed25519"
	"crypto/rand"
	"encoding/base64"
	"encoding/pem"
	"errors"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/knownhosts"

	"github.com/starrocks-backup/srbackup/pkg/secret"
	"github.com/starrocks-backup/srbackup/pkg/usage"
)

func newSigner(t *testing.T) (ssh.Signer, []byte) {
	t.Helper()
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	s, err := ssh.NewSignerFromKey(priv)
	if err != nil {
		t.Fatal(err)
	}
	block, err := ssh.MarshalPrivateKey(priv, "")
	if err != nil {
		t.Fatal(err)
	}
	return s, pem.EncodeToMemory(block)
}

func envOf(m map[string]string) func(string) string {
	return func(k string) string { return m[k] }
}

func writeFile(t *testing.T, name string, data []byte) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, data, 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestResolveUsageErrors(t *testing.T) {
	_, keyPEM := newSigner(t)
	key := writeFile(t, "id", keyPEM)
	kh := writeFile(t, "known_hosts", nil)
	base := func() Options {
		return Options{Host: "fe1", User: "root", KeyFile: key, KnownHosts: kh, Getenv: envOf(nil)}
	}
	cases := map[string]func(o *Options){
		"no host":                 func(o *Options) { o.Host = "" },
		"no user":                 func(o *Options) { o.User = "" },
		"bad host":                func(o *Options) { o.Host = "a b" },
		"bad port":                func(o *Options) { o.Port = 70000 },
		"no credentials":          func(o *Options) { o.KeyFile = "" },
		"unreadable key":          func(o *Options) { o.KeyFile = "/nonexistent/key" },
		"not a key":               func(o *Options) { o.KeyFile = kh },
		"missing known_hosts":     func(o *Options) { o.KnownHosts = "/nonexistent/known_hosts" },
		"insecure and pinned key": func(o *Options) { o.InsecureIgnoreHostKey = true; o.KnownHosts = ""; o.HostKey = "SHA256:abc" },
		"bad pinned key":          func(o *Options) { o.KnownHosts = ""; o.HostKey = "ssh-ed25519 !!!" },
		"bad conn":                func(o *Options) { o.Conn = "ssh://root@fe1:notaport" },
		"conn of another type":    func(o *Options) { o.Conn = "aws://k:s@/" },
		"conn host_key and no check": func(o *Options) {
			o.KnownHosts = ""
			o.Conn = "ssh://root@fe1?host_key=AAAA&no_host_key_check=true"
		},
		"agent unreachable and nothing else": func(o *Options) {
			o.KeyFile = ""
			o.Getenv = envOf(map[string]string{EnvAgent: "/nonexistent/agent.sock"})
		},
	}
	for name, mod := range cases {
		t.Run(name, func(t *testing.T) {
			o := base()
			mod(&o)
			_, err := o.Resolve()
			if err == nil || !usage.Is(err) {
				t.Fatalf("want a usage error, got %v", err)
			}
		})
	}
	if _, err := base().Resolve(); err != nil {
		t.Fatalf("valid options refused: %v", err)
	}
}

func TestResolveConnectionAndPrecedence(t *testing.T) {
	_, keyPEM := newSigner(t)
	key := writeFile(t, "id", keyPEM)
	host, _ := newSigner(t)
	hk := base64.StdEncoding.EncodeToString(host.PublicKey().Marshal())
	uri := "ssh://fe-user:s3cr%40t@fe.example:2222/?key_file=" + url.QueryEscape(key) +
		"&host_key=" + url.QueryEscape(hk) + "&conn_timeout=7&cmd_timeout=90"
	cfg, err := Options{Conn: uri, Getenv: envOf(nil)}.Resolve()
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Host != "fe.example" || cfg.Port != 2222 || cfg.User != "fe-user" {
		t.Fatalf("connection not used: %+v", cfg)
	}
	if cfg.ConnectTimeout != 7*time.Second || cfg.CommandTimeout != 90*time.Second {
		t.Fatalf("timeouts %v %v", cfg.ConnectTimeout, cfg.CommandTimeout)
	}
	if !strings.HasPrefix(cfg.HostKeyCheck, "pinned ssh-ed25519 SHA256:") || cfg.Insecure {
		t.Fatalf("host key check %q", cfg.HostKeyCheck)
	}
	if len(cfg.AuthNames) != 2 || !strings.Contains(cfg.AuthNames[1], "password") {
		t.Fatalf("auth %v", cfg.AuthNames)
	}
	if secret.Mask("pw s3cr@t") != "pw ***" {
		t.Fatal("the connection's password is not masked")
	}
	// Explicit flags win over the connection.
	cfg, err = Options{Conn: uri, Host: "other", Port: 22, User: "root", ConnectTimeout: time.Second, Getenv: envOf(nil)}.Resolve()
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Host != "other" || cfg.Port != 22 || cfg.User != "root" || cfg.ConnectTimeout != time.Second {
		t.Fatalf("flags did not win: %+v", cfg)
	}
	// no_host_key_check=true alone turns checking off (and Dial warns).
	cfg, err = Options{Conn: "ssh://root@fe1?no_host_key_check=true&key_file=" + url.QueryEscape(key), Getenv: envOf(nil)}.Resolve()
	if err != nil || !cfg.Insecure {
		t.Fatalf("no_host_key_check not honoured: %v %+v", err, cfg)
	}
	// Defaults.
	cfg, err = Options{Host: "fe1", User: "u", KeyFile: key, InsecureIgnoreHostKey: true, Getenv: envOf(nil)}.Resolve()
	if err != nil || cfg.Port != 22 || cfg.ConnectTimeout != DefaultConnectTimeout || cfg.CommandTimeout != DefaultCommandTimeout {
		t.Fatalf("defaults: %v %+v", err, cfg)
	}
}

func TestPrivateKeyFromEnvAndPassphrase(t *testing.T) {
	_, priv, _ := ed25519.GenerateKey(rand.Reader)
	block, err := ssh.MarshalPrivateKeyWithPassphrase(priv, "", []byte("open sesame"))
	if err != nil {
		t.Fatal(err)
	}
	enc := string(pem.EncodeToMemory(block))
	o := Options{Host: "h", User: "u", InsecureIgnoreHostKey: true}
	o.Getenv = envOf(map[string]string{EnvPrivateKey: enc})
	if _, err := o.Resolve(); err == nil || !usage.Is(err) || !strings.Contains(err.Error(), EnvPassphrase) {
		t.Fatalf("encrypted key without passphrase: %v", err)
	}
	o.Getenv = envOf(map[string]string{EnvPrivateKey: enc, EnvPassphrase: "wrong"})
	if _, err := o.Resolve(); err == nil || !usage.Is(err) {
		t.Fatalf("wrong passphrase: %v", err)
	}
	// Airflow extras often carry the key with literal \n sequences.
	flat := strings.ReplaceAll(strings.TrimSpace(enc), "\n", `\n`)
	o.Getenv = envOf(map[string]string{EnvPrivateKey: flat, EnvPassphrase: "open sesame"})
	cfg, err := o.Resolve()
	if err != nil {
		t.Fatalf("key with literal \\n and passphrase: %v", err)
	}
	if cfg.AuthNames[0] != "private key from "+EnvPrivateKey {
		t.Fatalf("auth %v", cfg.AuthNames)
	}
	line := strings.Split(enc, "\n")[1]
	if secret.Mask("x "+line) != "x ***" || secret.Mask("open sesame") != "***" {
		t.Fatal("key lines or passphrase are not masked")
	}
}

func TestParseHostKey(t *testing.T) {
	s, _ := newSigner(t)
	pub := s.PublicKey()
	line := strings.TrimSpace(string(ssh.MarshalAuthorizedKey(pub)))
	b64 := base64.StdEncoding.EncodeToString(pub.Marshal())
	fp := ssh.FingerprintSHA256(pub)
	for _, in := range []string{line, line + " comment here", b64, "[fe1]:2222 " + line, "fe-host-1 " + line} {
		k, f, err := ParseHostKey(in)
		if err != nil || k == nil || f != fp {
			t.Fatalf("ParseHostKey(%q) = %v %q %v", in, k, f, err)
		}
	}
	if k, f, err := ParseHostKey(fp); err != nil || k != nil || f != fp {
		t.Fatalf("fingerprint: %v %q %v", k, f, err)
	}
	for _, bad := range []string{"", "not base64 !", "ssh-ed25519 AAAAnotakey", base64.StdEncoding.EncodeToString([]byte("junk"))} {
		if _, _, err := ParseHostKey(bad); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}

func TestKnownHostsVerdicts(t *testing.T) {
	good, _ := newSigner(t)
	other, _ := newSigner(t)
	_, keyPEM := newSigner(t)
	key := writeFile(t, "id", keyPEM)
	addr := "[127.0.0.1]:2222"
	kh := writeFile(t, "known_hosts", []byte(knownhosts.Line([]string{addr}, good.PublicKey())+"\n"))
	cfg, err := Options{Host: "127.0.0.1", Port: 2222, User: "u", KeyFile: key, KnownHosts: kh, Getenv: envOf(nil)}.Resolve()
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(cfg.hostKeyAlgorithms, ",") != ssh.KeyAlgoED25519 {
		t.Fatalf("host key algorithms %v", cfg.hostKeyAlgorithms)
	}
	remote := &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 2222}
	if err := cfg.hostKey("127.0.0.1:2222", remote, good.PublicKey()); err != nil {
		t.Fatalf("known key refused: %v", err)
	}
	var hk *HostKeyError
	err = cfg.hostKey("127.0.0.1:2222", remote, other.PublicKey())
	if !errors.As(err, &hk) || hk.Problem != HostKeyChanged || !strings.Contains(err.Error(), "CHANGED") {
		t.Fatalf("changed key: %v", err)
	}
	err = cfg.hostKey("127.0.0.1:2223", &net.TCPAddr{IP: remote.IP, Port: 2223}, good.PublicKey())
	if !errors.As(err, &hk) || hk.Problem != HostKeyUnknown || !strings.Contains(err.Error(), "ssh-keyscan -p 2222 127.0.0.1") {
		t.Fatalf("unknown host: %v", err)
	}
	// No known_hosts file at the default place: every host is unknown.
	cfg, err = Options{Host: "127.0.0.1", Port: 2222, User: "u", KeyFile: key,
		Getenv: envOf(map[string]string{"HOME": t.TempDir()})}.Resolve()
	if err != nil {
		t.Fatal(err)
	}
	err = cfg.hostKey("127.0.0.1:2222", remote, good.PublicKey())
	if !errors.As(err, &hk) || hk.Problem != HostKeyUnknown || !strings.Contains(err.Error(), "does not exist") {
		t.Fatalf("missing default known_hosts: %v", err)
	}
	// A pinned key.
	cfg, err = Options{Host: "127.0.0.1", Port: 2222, User: "u", KeyFile: key,
		HostKey: base64.StdEncoding.EncodeToString(good.PublicKey().Marshal()), Getenv: envOf(nil)}.Resolve()
	if err != nil {
		t.Fatal(err)
	}
	if err := cfg.hostKey("x", remote, good.PublicKey()); err != nil {
		t.Fatalf("pinned key refused: %v", err)
	}
	if err := cfg.hostKey("x", remote, other.PublicKey()); !errors.As(err, &hk) || hk.Problem != HostKeyMismatch {
		t.Fatalf("wrong key accepted by the pin: %v", err)
	}
}

func TestLastLines(t *testing.T) {
	if got := LastLines("a\n\nb\nc\n", 2); got != "b; c" {
		t.Fatalf("LastLines = %q", got)
	}
	e := &RemoteError{ExitCode: 3}
	if e.Error() != "remote command exited with status 3" {
		t.Fatal(e.Error())
	}
}
