//go:build e2e

package fe_test

import (
	"crypto/ed25519"
	"crypto/rand"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/pkg/sftp"
	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/knownhosts"
)

// faultServer is an in-process SSH server with pkg/sftp's server, used
// only to inject faults a real sshd cannot produce on cue: after it has
// sent limit bytes on a connection it either drops the TCP connection
// ("drop") or stops sending anything, keepalive answers included
// ("stall"), like a link that died without a reset.
type faultServer struct {
	Port       int
	KnownHosts string
	ln         net.Listener
	mode       string
	limit      int64
	wg         sync.WaitGroup
}

func startFaultServer(t *testing.T, mode string, limit int64) *faultServer {
	t.Helper()
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	hostKey, err := ssh.NewSignerFromKey(priv)
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	f := &faultServer{ln: ln, mode: mode, limit: limit, Port: ln.Addr().(*net.TCPAddr).Port}
	f.KnownHosts = filepath.Join(t.TempDir(), "known_hosts")
	line := knownhosts.Line([]string{"127.0.0.1:" + strconv.Itoa(f.Port)}, hostKey.PublicKey())
	if err := os.WriteFile(f.KnownHosts, []byte(line+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	cfg := &ssh.ServerConfig{
		// Any client key: this server exists to break connections, not to guard them.
		PublicKeyCallback: func(ssh.ConnMetadata, ssh.PublicKey) (*ssh.Permissions, error) { return nil, nil },
	}
	cfg.AddHostKey(hostKey)
	f.wg.Add(1)
	go func() {
		defer f.wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			f.wg.Add(1)
			go func() {
				defer f.wg.Done()
				f.serve(&faultConn{Conn: c, mode: mode, limit: limit, stalled: make(chan struct{})}, cfg)
			}()
		}
	}()
	t.Cleanup(func() { ln.Close() })
	return f
}

func (f *faultServer) serve(c *faultConn, cfg *ssh.ServerConfig) {
	defer c.Close()
	_, chans, reqs, err := ssh.NewServerConn(c, cfg)
	if err != nil {
		return
	}
	go ssh.DiscardRequests(reqs)
	for nc := range chans {
		if nc.ChannelType() != "session" {
			_ = nc.Reject(ssh.UnknownChannelType, "only sessions")
			continue
		}
		ch, creqs, err := nc.Accept()
		if err != nil {
			return
		}
		go func() {
			for r := range creqs {
				ok := r.Type == "subsystem" && len(r.Payload) >= 4 && string(r.Payload[4:]) == "sftp"
				_ = r.Reply(ok, nil)
				if ok {
					srv, err := sftp.NewServer(ch)
					if err == nil {
						_ = srv.Serve()
					}
					ch.Close()
				}
			}
		}()
	}
}

// faultConn counts the bytes the server sends and breaks the connection
// past the limit.
type faultConn struct {
	net.Conn
	mode     string
	limit    int64
	sent     atomic.Int64
	stalled  chan struct{}
	stallOne sync.Once
}

func (c *faultConn) Write(p []byte) (int, error) {
	if c.sent.Add(int64(len(p))) > c.limit {
		if c.mode == "drop" {
			c.Conn.Close()
			return 0, net.ErrClosed
		}
		<-c.stalled // stall: never send again, until the connection closes
		return 0, net.ErrClosed
	}
	return c.Conn.Write(p)
}

func (c *faultConn) Close() error {
	c.stallOne.Do(func() { close(c.stalled) })
	return c.Conn.Close()
}
