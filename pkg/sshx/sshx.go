// Package sshx is the one SSH set-up of the project (golang.org/x/crypto/ssh
// and github.com/pkg/sftp): it resolves the settings given by flags, the
// environment and an Airflow ssh connection, builds the authentication
// methods, verifies the host key, dials with a timeout, keeps the
// connection alive, runs remote shell scripts with every value quoted, and
// moves files by SFTP with a streamed SHA-256.
//
// Secrets (password, private key, passphrase) come only from the
// environment or the connection, never from a flag, and are registered with
// pkg/secret so that they are masked in every output.
package sshx

import (
	"cmp"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"golang.org/x/crypto/ssh"

	"github.com/starrocks-backup/srbackup/pkg/conn"
	"github.com/starrocks-backup/srbackup/pkg/secret"
	"github.com/starrocks-backup/srbackup/pkg/usage"
)

// Environment variables holding secrets (each may instead name a file in
// <NAME>_FILE, see pkg/secret). They are never flags.
const (
	EnvPassword   = "SRB_SSH_PASSWORD"
	EnvPrivateKey = "SRB_SSH_PRIVATE_KEY"
	EnvPassphrase = "SRB_SSH_PRIVATE_KEY_PASSPHRASE"
	EnvAgent      = "SSH_AUTH_SOCK" // the standard name, as ssh-agent sets it
)

// Defaults.
const (
	DefaultPort           = 22
	DefaultConnectTimeout = 30 * time.Second
	DefaultCommandTimeout = 2 * time.Hour
	DefaultKeepAlive      = 15 * time.Second
	// keepAliveMisses unanswered keepalives in a row close the connection.
	keepAliveMisses = 3
)

// Options are the SSH settings as given by flags and their variables. Zero
// values mean "not given": the connection (Conn) or the default applies.
type Options struct {
	Host                  string
	Port                  int
	User                  string
	KeyFile               string
	KnownHosts            string
	HostKey               string
	InsecureIgnoreHostKey bool
	// Conn is an Airflow ssh connection: URI, JSON, or a connection id
	// defined as AIRFLOW_CONN_<ID>. Flags given explicitly win over it.
	Conn           string
	ConnectTimeout time.Duration
	CommandTimeout time.Duration
	KeepAlive      time.Duration
	// Getenv reads the secret variables; nil means os.Getenv.
	Getenv func(string) string
}

// Config is a resolved SSH set-up, ready to dial.
type Config struct {
	Host string
	Port int
	User string

	auth      []ssh.AuthMethod
	AuthNames []string // what was offered, for messages: "key file /k", "password", ...

	hostKey           ssh.HostKeyCallback
	hostKeyAlgorithms []string
	// HostKeyCheck says how the host key is verified, for logs:
	// "known_hosts /root/.ssh/known_hosts", "pinned SHA256:...", "disabled".
	HostKeyCheck string
	// Insecure is true when host-key verification is off; Dial logs a
	// warning on every run then.
	Insecure bool

	ConnectTimeout time.Duration
	CommandTimeout time.Duration // 0: none
	KeepAlive      time.Duration // 0: off

	agentClose func()
}

// Addr returns host:port.
func (c *Config) Addr() string { return net.JoinHostPort(c.Host, strconv.Itoa(c.Port)) }

// Target returns user@host:port, for messages.
func (c *Config) Target() string { return c.User + "@" + c.Addr() }

// Resolve checks the options and builds the configuration. Every error is
// a usage error (exit code 2): it is detected before any connection.
func (o Options) Resolve() (*Config, error) {
	getenv := o.Getenv
	if getenv == nil {
		getenv = os.Getenv
	}
	var c *conn.Connection
	if strings.TrimSpace(o.Conn) != "" {
		var err error
		if c, err = conn.ParseFrom(getenv, o.Conn); err != nil {
			return nil, usage.Errorf("--ssh-conn: %v", err)
		}
		// generic: what a plain apache-airflow (no ssh provider) stores
		// for "airflow connections add --conn-type ssh".
		if err := c.CheckType("an SSH connection", "ssh", "sftp"); err != nil {
			return nil, usage.Errorf("--ssh-conn: %v", err)
		}
	} else {
		c = &conn.Connection{}
	}
	cfg := &Config{
		Host:           cmp.Or(o.Host, c.Host),
		Port:           o.Port,
		User:           cmp.Or(o.User, c.Login),
		ConnectTimeout: o.ConnectTimeout,
		CommandTimeout: o.CommandTimeout,
		KeepAlive:      o.KeepAlive,
	}
	if cfg.Host == "" {
		return nil, usage.Errorf("--host is required (or a connection with a host in --ssh-conn)")
	}
	if strings.ContainsAny(cfg.Host, " \t\n/@") {
		if o.Host == "" { // never quote a part of a connection: it may be a misplaced secret
			return nil, usage.Errorf("--ssh-conn: the connection's host is not a host name or address")
		}
		return nil, usage.Errorf("--host %q is not a host name or address", cfg.Host)
	}
	cfg.Host = strings.TrimSuffix(strings.TrimPrefix(cfg.Host, "["), "]")
	if cfg.User == "" {
		return nil, usage.Errorf("--user is required (or a connection with a login in --ssh-conn)")
	}
	if cfg.Port == 0 {
		cfg.Port = c.Port
	}
	if cfg.Port == 0 {
		cfg.Port = DefaultPort
	}
	if cfg.Port < 0 || cfg.Port > 65535 {
		return nil, usage.Errorf("--port %d is out of range", cfg.Port)
	}
	if err := resolveTimeouts(cfg, c); err != nil {
		return nil, err
	}
	if err := resolveAuth(cfg, o, c, getenv); err != nil {
		return nil, err
	}
	if err := resolveHostKey(cfg, o, c, getenv); err != nil {
		return nil, err
	}
	return cfg, nil
}

func resolveTimeouts(cfg *Config, c *conn.Connection) error {
	if cfg.ConnectTimeout == 0 {
		d, ok, err := c.Seconds("conn_timeout")
		if err != nil {
			return err
		}
		cfg.ConnectTimeout = DefaultConnectTimeout
		if ok && d > 0 {
			cfg.ConnectTimeout = d
		}
	}
	if cfg.ConnectTimeout < 0 {
		return usage.Errorf("--connect-timeout must be positive")
	}
	if cfg.CommandTimeout == 0 {
		d, ok, err := c.Seconds("cmd_timeout")
		if err != nil {
			return err
		}
		cfg.CommandTimeout = DefaultCommandTimeout
		if ok {
			cfg.CommandTimeout = d // 0 in the connection: no limit, as in Airflow
		}
	}
	if cfg.CommandTimeout < 0 {
		cfg.CommandTimeout = 0 // a negative flag value: no limit
	}
	if cfg.KeepAlive < 0 {
		cfg.KeepAlive = 0
	}
	return nil
}

// homeFile returns ~/rel, or "" when there is no home folder.
func homeFile(getenv func(string) string, rel string) string {
	home := getenv("HOME")
	if home == "" {
		if h, err := os.UserHomeDir(); err == nil {
			home = h
		}
	}
	if home == "" {
		return ""
	}
	return filepath.Join(home, rel)
}

// expandHome turns a leading ~/ into the home folder.
func expandHome(getenv func(string) string, p string) string {
	if strings.HasPrefix(p, "~/") {
		if h := homeFile(getenv, p[2:]); h != "" {
			return h
		}
	}
	return p
}

// registerKey masks a private key: the whole text and each of its lines.
func registerKey(pem string) {
	secret.Register(pem)
	for _, l := range strings.Split(pem, "\n") {
		if l = strings.TrimSpace(l); len(l) >= 16 && !strings.HasPrefix(l, "-----") {
			secret.Register(l)
		}
	}
}

// String describes the configuration for a log line (no secret).
func (c *Config) String() string {
	return fmt.Sprintf("%s (auth: %s; host key: %s)", c.Target(), strings.Join(c.AuthNames, ", "), c.HostKeyCheck)
}
