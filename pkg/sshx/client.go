package sshx

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"sync"
	"time"

	"github.com/pkg/sftp"
	"github.com/rs/zerolog"
	"golang.org/x/crypto/ssh"
)

// Errors a connection can end with; the messages wrapping them say more.
var (
	ErrRefused        = errors.New("connection refused")
	ErrConnectTimeout = errors.New("no answer")
	ErrAuth           = errors.New("authentication failed")
	ErrConnectionLost = errors.New("connection lost")
	ErrCommandTimeout = errors.New("remote command timed out")
)

// Client is an SSH connection with its SFTP session (opened on first use).
type Client struct {
	cfg  *Config
	ssh  *ssh.Client
	raw  net.Conn
	stop chan struct{}

	mu   sync.Mutex
	sftp *sftp.Client

	closeOnce sync.Once
	lostMu    sync.Mutex
	lost      error
}

// Dial connects and authenticates. It logs a warning when host-key
// verification is off, naming the key the host offered.
func Dial(ctx context.Context, cfg *Config) (*Client, error) {
	log := zerolog.Ctx(ctx)
	dctx, cancel := context.WithTimeout(ctx, cfg.ConnectTimeout)
	defer cancel()
	var d net.Dialer
	raw, err := d.DialContext(dctx, "tcp", cfg.Addr())
	if err != nil {
		return nil, dialError(ctx, cfg, err)
	}
	_ = raw.SetDeadline(time.Now().Add(cfg.ConnectTimeout))
	stopWatch := context.AfterFunc(ctx, func() { raw.Close() })
	state := &hostKeyState{}
	cc := &ssh.ClientConfig{
		User: cfg.User,
		Auth: cfg.auth,
		HostKeyCallback: func(host string, remote net.Addr, key ssh.PublicKey) error {
			state.set(key)
			return cfg.hostKey(host, remote, key)
		},
		HostKeyAlgorithms: cfg.hostKeyAlgorithms,
		Timeout:           cfg.ConnectTimeout,
		ClientVersion:     "SSH-2.0-srbackup",
	}
	sc, chans, reqs, err := ssh.NewClientConn(raw, cfg.Addr(), cc)
	stopWatch()
	if err != nil {
		raw.Close()
		return nil, handshakeError(ctx, cfg, err)
	}
	_ = raw.SetDeadline(time.Time{})
	c := &Client{cfg: cfg, ssh: ssh.NewClient(sc, chans, reqs), raw: raw, stop: make(chan struct{})}
	if cfg.KeepAlive > 0 {
		go c.keepAlive(cfg.KeepAlive)
	}
	if cfg.Insecure {
		log.Warn().Str("ssh", cfg.Addr()).Str("host_key_offered", describeKey(state.Offered())).
			Msg("host key verification is OFF (--insecure-ignore-host-key or the connection's no_host_key_check): " +
				"anyone on the path can impersonate the host and read what is sent; pin the offered key with --host-key instead")
	}
	log.Info().Str("ssh", cfg.Target()).Str("host_key", cfg.HostKeyCheck).Strs("auth", cfg.AuthNames).
		Str("server_version", string(sc.ServerVersion())).Msg("ssh connected")
	return c, nil
}

// Config returns the resolved configuration.
func (c *Client) Config() *Config { return c.cfg }

// Target returns user@host:port.
func (c *Client) Target() string { return c.cfg.Target() }

// Close ends the SFTP session and the connection.
func (c *Client) Close() error {
	var err error
	c.closeOnce.Do(func() {
		close(c.stop)
		c.mu.Lock()
		if c.sftp != nil {
			c.sftp.Close()
		}
		c.mu.Unlock()
		err = c.ssh.Close()
		if c.cfg.agentClose != nil {
			c.cfg.agentClose()
		}
	})
	return err
}

// SFTP returns the connection's SFTP client, starting it on first use. It
// reads and writes files with up to 64 concurrent requests of 32 KiB, the
// size every SFTP server must serve, or of 64 KiB when the server is
// OpenSSH, whose sftp-server has always served 64 KiB reads in full (its
// read buffer; 8.6 and later serve up to 255 KiB): on loopback that takes a
// download from about 350 to 550 MB/s. Memory stays at a few MiB.
func (c *Client) SFTP() (*sftp.Client, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.sftp != nil {
		return c.sftp, nil
	}
	packet := 32 << 10
	if strings.HasPrefix(string(c.ssh.ServerVersion()), "SSH-2.0-OpenSSH_") {
		packet = 64 << 10
	}
	cl, err := sftp.NewClient(c.ssh,
		sftp.MaxPacketUnchecked(packet),
		sftp.UseConcurrentReads(true),
		sftp.UseConcurrentWrites(true),
		sftp.MaxConcurrentRequestsPerFile(64),
		sftp.UseFstat(true),
	)
	if err != nil {
		return nil, c.wrapLost(fmt.Errorf("ssh %s: cannot start SFTP (is the sftp subsystem enabled in sshd_config?): %v", c.cfg.Addr(), err))
	}
	c.sftp = cl
	return cl, nil
}

// keepAlive sends keepalive@openssh.com requests; when keepAliveMisses of
// them in a row get no answer the connection is closed, so that a transfer
// or a command on a dead link fails instead of hanging.
func (c *Client) keepAlive(every time.Duration) {
	t := time.NewTicker(every)
	defer t.Stop()
	replies := make(chan error, 1)
	pending, missed := false, 0
	for {
		select {
		case <-c.stop:
			return
		case err := <-replies:
			pending, missed = false, 0
			if err != nil {
				return
			}
		case <-t.C:
			if pending {
				if missed++; missed >= keepAliveMisses {
					c.setLost(fmt.Errorf("no answer to %d keepalives in %s", missed, time.Duration(missed)*every))
					c.raw.Close()
					return
				}
				continue
			}
			pending = true
			go func() {
				_, _, err := c.ssh.SendRequest("keepalive@openssh.com", true, nil)
				replies <- err
			}()
		}
	}
}

func (c *Client) setLost(err error) {
	c.lostMu.Lock()
	c.lost = err
	c.lostMu.Unlock()
}

// wrapLost adds the keepalive verdict to an error caused by a dead link.
func (c *Client) wrapLost(err error) error {
	c.lostMu.Lock()
	lost := c.lost
	c.lostMu.Unlock()
	if lost != nil {
		return fmt.Errorf("%w (%w: %v)", err, ErrConnectionLost, lost)
	}
	return err
}

// Output is what a remote script printed and its exit status.
type Output struct {
	Stdout   string
	Stderr   string
	ExitCode int
}

// Run runs a POSIX sh script on the host and returns its standard output.
// A non-zero exit status gives a *RemoteError carrying the end of stderr.
func (c *Client) Run(ctx context.Context, script string) (string, error) {
	out, err := c.Exec(ctx, script)
	if err != nil {
		return "", err
	}
	if out.ExitCode != 0 {
		return out.Stdout, &RemoteError{ExitCode: out.ExitCode, Stderr: out.Stderr}
	}
	return out.Stdout, nil
}

// Exec runs a POSIX sh script on the host. The script travels on the
// session's standard input to "sh -s", so that the user's login shell only
// ever sees the two words "sh -s": every value inside the script is quoted
// for sh by Script.Set. The script runs with its standard
// input on /dev/null.
//
// The error is about the transport (connection lost, timeout, cancelled);
// the script's own exit status is in Output.ExitCode.
//
// On cancellation or timeout the remote work stops: the session's standard
// input stays open while the script runs, and a watchdog started by the
// wrapper ends the script's whole process group when it closes, which
// happens when we cancel, when the connection drops, or when sshd ends the
// session. (A "signal" request alone is not enough: OpenSSH refuses it for
// root logins, the usual case on an FE host; it is sent too.)
func (c *Client) Exec(ctx context.Context, script string) (*Output, error) {
	parent := ctx
	var cancel context.CancelFunc
	if c.cfg.CommandTimeout > 0 {
		ctx, cancel = context.WithTimeout(ctx, c.cfg.CommandTimeout)
		defer cancel()
	}
	sess, err := c.ssh.NewSession()
	if err != nil {
		return nil, c.wrapLost(fmt.Errorf("ssh %s: cannot open a session: %w", c.cfg.Addr(), lostIfEOF(err)))
	}
	defer sess.Close()
	var stdout bytes.Buffer
	stderr := &capWriter{max: 256 << 10}
	sess.Stdout, sess.Stderr = &stdout, stderr
	stdin, err := sess.StdinPipe()
	if err != nil {
		return nil, err
	}
	if err := sess.Start("sh -s"); err != nil {
		return nil, c.wrapLost(fmt.Errorf("ssh %s: cannot start a remote command: %w", c.cfg.Addr(), lostIfEOF(err)))
	}
	written := make(chan struct{})
	go func() {
		defer close(written)
		_, _ = io.WriteString(stdin, wrapScript(script))
	}()
	// The channel must not be closed while the script is being written
	// (x/crypto does not allow it); a write stuck on a dead link is left to
	// sess.Close.
	var closeOnce sync.Once
	closeStdin := func() {
		closeOnce.Do(func() {
			select {
			case <-written:
				stdin.Close()
			case <-time.After(2 * time.Second):
			}
		})
	}
	defer closeStdin()
	done := make(chan error, 1)
	go func() { done <- sess.Wait() }()
	select {
	case err = <-done:
	case <-ctx.Done():
		closeStdin() // the watchdog ends the process group
		_ = sess.Signal(ssh.SIGTERM)
		select {
		case <-done:
		case <-time.After(5 * time.Second):
		}
		sess.Close()
		if parent.Err() != nil {
			return nil, parent.Err()
		}
		return nil, fmt.Errorf("ssh %s: %w: it did not finish within %s (--command-timeout, or the connection's cmd_timeout)",
			c.cfg.Addr(), ErrCommandTimeout, c.cfg.CommandTimeout)
	}
	out := &Output{Stdout: stdout.String(), Stderr: stderr.String()}
	var exit *ssh.ExitError
	switch {
	case err == nil:
	case errors.As(err, &exit):
		out.ExitCode = exit.ExitStatus()
		if exit.Signal() != "" && out.ExitCode == 0 {
			out.ExitCode = 128 + 15
		}
	default:
		if parent.Err() != nil {
			return nil, parent.Err()
		}
		return nil, c.wrapLost(fmt.Errorf("ssh %s: %w while a remote command ran (%v)", c.cfg.Addr(), ErrConnectionLost, err))
	}
	return out, nil
}

// wrapScript puts a script in the wrapper Exec sends. sh parses a whole
// compound command before running it, so by the time the watchdog reads
// the session's input (fd 3) sh has read everything it will run, and the
// final exit keeps sh from reading further. The watchdog waits for the
// input to close and then sends SIGTERM to the process group; its output
// goes to /dev/null so that it never holds the session open.
func wrapScript(script string) string {
	return "exec 3<&0\n{\n" +
		"( while read -r _ <&3; do :; done; kill -TERM 0 ) >/dev/null 2>&1 </dev/null &\n" +
		"exec 3<&-\n" +
		"{\n" + script + "\n} </dev/null\n" +
		"exit $?\n}\n"
}
