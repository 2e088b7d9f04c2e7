package testbed

import (
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"
)

// S3Server is a running S3-compatible server (MinIO, moto server,
// versitygw) with the credentials of its root user.
type S3Server interface {
	Endpoint() string
	Keys() (access, secret string)
	// Client returns a minio-go client with the root credentials, for test
	// set-up and checks (never used by the tasks under test).
	Client() *minio.Client
}

// Keys returns the root user's access and secret keys.
func (m *MinIO) Keys() (string, string) { return m.AccessKey, m.SecretKey }

// s3Process is the part every server of this package shares: a process on
// a loopback port with root credentials.
type s3Process struct {
	Dir       string
	Port      int
	AccessKey string
	SecretKey string
	p         *proc
}

// Endpoint returns the server's URL.
func (s *s3Process) Endpoint() string { return fmt.Sprintf("http://127.0.0.1:%d", s.Port) }

// Keys returns the root user's access and secret keys.
func (s *s3Process) Keys() (string, string) { return s.AccessKey, s.SecretKey }

// Client returns a minio-go client with the root credentials.
func (s *s3Process) Client() *minio.Client { return rootClient(s.Port, s.AccessKey, s.SecretKey) }

// Stop stops the server.
func (s *s3Process) Stop() {
	s.p.stop()
	s.p = nil
}

func rootClient(port int, access, secret string) *minio.Client {
	c, err := minio.New(fmt.Sprintf("127.0.0.1:%d", port), &minio.Options{
		Creds: credentials.NewStaticV4(access, secret, ""),
	})
	if err != nil {
		panic(err) // only on a malformed endpoint, which this package builds itself
	}
	return c
}

// start starts a server process on a free port (a few tries, in case a
// port is taken meanwhile) and waits until it answers HTTP requests.
func (s *s3Process) start(name, logName string, env []string, bin string, args func(port int) []string) error {
	var lastErr error
	for attempt := 0; attempt < 5; attempt++ {
		port, err := FreePort()
		if err != nil {
			return err
		}
		p, err := startProc(logName, env, bin, args(port)...)
		if err != nil {
			return err
		}
		url := fmt.Sprintf("http://127.0.0.1:%d/", port)
		if lastErr = p.waitReady(name, 60*time.Second, func() bool { return answers(url, nil) }); lastErr == nil {
			s.Port, s.p = port, p
			return nil
		}
	}
	return lastErr
}

// answers reports whether an HTTP server answers at url, with a status
// that ok accepts (nil: any).
func answers(url string, ok func(int) bool) bool {
	c := http.Client{Timeout: 2 * time.Second}
	resp, err := c.Get(url)
	if err != nil {
		return false
	}
	resp.Body.Close()
	return ok == nil || ok(resp.StatusCode)
}

// waitReady waits until ready says yes, the process exits (an error with
// its log's tail) or the timeout passes (the process is stopped).
func (p *proc) waitReady(name string, timeout time.Duration, ready func() bool) error {
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		select {
		case <-p.exited:
			return fmt.Errorf("%s exited at start:\n%s", name, p.tail())
		default:
		}
		if ready() {
			return nil
		}
		time.Sleep(50 * time.Millisecond)
	}
	p.stop()
	return fmt.Errorf("%s not ready after %s:\n%s", name, timeout, p.tail())
}

// startForTest starts a server in a temporary folder of the test and
// stops it at the test's end; a server that cannot start fails the test.
func startForTest[S interface{ Stop() }](t testing.TB, what string, start func(dir string) (S, error)) S {
	t.Helper()
	s, err := start(t.TempDir())
	if err != nil {
		t.Fatalf("testbed: cannot start %s: %v", what, err)
	}
	t.Cleanup(s.Stop)
	return s
}
