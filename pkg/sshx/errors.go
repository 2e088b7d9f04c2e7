package sshx

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"syscall"

	"github.com/starrocks-backup/srbackup/pkg/secret"
)

// RemoteError is a remote script that exited with a non-zero status.
type RemoteError struct {
	ExitCode int
	Stderr   string
}

func (e *RemoteError) Error() string {
	if msg := LastLines(e.Stderr, 2); msg != "" {
		return msg
	}
	return fmt.Sprintf("remote command exited with status %d", e.ExitCode)
}

// LastLines returns the last n non-empty lines of s joined with "; ".
func LastLines(s string, n int) string {
	var lines []string
	for _, l := range strings.Split(s, "\n") {
		if l = strings.TrimSpace(l); l != "" {
			lines = append(lines, l)
		}
	}
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	msg := strings.Join(lines, "; ")
	if len(msg) > 1000 {
		// The reason is at the end of a tool's line ("...: No space left
		// on device"): keep the start and the whole end.
		msg = msg[:300] + " ... " + msg[len(msg)-600:]
	}
	return secret.Mask(msg)
}

func lostIfEOF(err error) error {
	if errors.Is(err, io.EOF) || errors.Is(err, net.ErrClosed) {
		return fmt.Errorf("%w: %v", ErrConnectionLost, err)
	}
	return err
}

// capWriter keeps the first max bytes written to it.
type capWriter struct {
	buf bytes.Buffer
	max int
}

func (w *capWriter) Write(p []byte) (int, error) {
	if room := w.max - w.buf.Len(); room > 0 {
		if len(p) > room {
			w.buf.Write(p[:room])
		} else {
			w.buf.Write(p)
		}
	}
	return len(p), nil
}

func (w *capWriter) String() string { return w.buf.String() }

// dialError explains a failed TCP connection in one line.
func dialError(ctx context.Context, cfg *Config, err error) error {
	if ctx.Err() != nil {
		return ctx.Err()
	}
	addr := cfg.Addr()
	var dns *net.DNSError
	var ne net.Error
	switch {
	case errors.Is(err, syscall.ECONNREFUSED):
		return fmt.Errorf("ssh %s: %w (is sshd running there, and is the port right?)", addr, ErrRefused)
	case errors.As(err, &dns):
		return fmt.Errorf("ssh %s: cannot resolve host %q: %v", addr, cfg.Host, dns.Err)
	case errors.Is(err, context.DeadlineExceeded), errors.As(err, &ne) && ne.Timeout():
		return fmt.Errorf("ssh %s: %w within %s (--connect-timeout); check the host, the port and firewalls", addr, ErrConnectTimeout, cfg.ConnectTimeout)
	case errors.Is(err, syscall.EHOSTUNREACH), errors.Is(err, syscall.ENETUNREACH):
		return fmt.Errorf("ssh %s: host unreachable: %v", addr, unwrapOp(err))
	}
	return fmt.Errorf("ssh %s: cannot connect: %v", addr, unwrapOp(err))
}

// handshakeError explains a failed SSH handshake in one line.
func handshakeError(ctx context.Context, cfg *Config, err error) error {
	if ctx.Err() != nil {
		return ctx.Err()
	}
	var hk *HostKeyError
	if errors.As(err, &hk) {
		return hk
	}
	addr := cfg.Addr()
	msg := strings.TrimPrefix(err.Error(), "ssh: handshake failed: ")
	var ne net.Error
	switch {
	case strings.Contains(msg, "unable to authenticate"):
		return fmt.Errorf("ssh %s: %w for user %q (offered: %s); check --user and the credentials",
			addr, ErrAuth, cfg.User, strings.Join(cfg.AuthNames, ", "))
	case errors.As(err, &ne) && ne.Timeout():
		return fmt.Errorf("ssh %s: %w to the SSH handshake within %s (--connect-timeout)", addr, ErrConnectTimeout, cfg.ConnectTimeout)
	case errors.Is(err, io.EOF), errors.Is(err, syscall.ECONNRESET):
		return fmt.Errorf("ssh %s: the server closed the connection during the handshake (not an SSH server, or it refuses us: MaxStartups, AllowUsers, firewall?)", addr)
	}
	return fmt.Errorf("ssh %s: handshake failed: %s", addr, secret.Mask(msg))
}
