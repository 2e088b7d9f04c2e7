package testbed

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"
)

// MinIO is a real MinIO server on a loopback port.
type MinIO struct {
	Dir       string // data and log folder
	Port      int
	AccessKey string
	SecretKey string
	bin       string
	p         *proc
}

// Endpoint returns the server's URL.
func (m *MinIO) Endpoint() string { return fmt.Sprintf("http://127.0.0.1:%d", m.Port) }

// StartMinIO starts a MinIO server keeping its data under dir.
func StartMinIO(dir string) (*MinIO, error) {
	bin, err := MinioBinary()
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(filepath.Join(dir, "data"), 0o755); err != nil {
		return nil, err
	}
	m := &MinIO{Dir: dir, AccessKey: "testbed-" + randHex(4), SecretKey: randHex(16), bin: bin}
	var lastErr error
	for attempt := 0; attempt < 5; attempt++ {
		if m.Port, err = FreePort(); err != nil {
			return nil, err
		}
		if lastErr = m.Start(); lastErr == nil {
			return m, nil
		}
	}
	return nil, lastErr
}

// NewMinIO starts a MinIO server for a test and stops it at the test's end.
func NewMinIO(t testing.TB) *MinIO { return startForTest(t, "MinIO", StartMinIO) }

// Start (re)starts the server on its port with its data.
func (m *MinIO) Start() error {
	console, err := FreePort()
	if err != nil {
		return err
	}
	p, err := startProc(filepath.Join(m.Dir, "minio.log"), []string{
		"MINIO_ROOT_USER=" + m.AccessKey,
		"MINIO_ROOT_PASSWORD=" + m.SecretKey,
		"MINIO_BROWSER=off",
		"MINIO_UPDATE=off",
		"MINIO_CI_CD=1",
	}, m.bin, "server", "--quiet", "--address", fmt.Sprintf("127.0.0.1:%d", m.Port),
		"--console-address", fmt.Sprintf("127.0.0.1:%d", console), filepath.Join(m.Dir, "data"))
	if err != nil {
		return err
	}
	url := m.Endpoint() + "/minio/health/ready"
	if err := p.waitReady("minio", 60*time.Second, func() bool {
		return answers(url, func(status int) bool { return status == http.StatusOK })
	}); err != nil {
		return err
	}
	m.p = p
	return nil
}

// Stop stops the server; its data stays for a later Start.
func (m *MinIO) Stop() {
	m.p.stop()
	m.p = nil
}

// Env returns the variables that give a task this server's credentials,
// under the given names (e.g. "SRB_S3_ACCESS_KEY", "SRB_S3_SECRET_KEY").
func (m *MinIO) Env(accessVar, secretVar string) []string {
	return []string{accessVar + "=" + m.AccessKey, secretVar + "=" + m.SecretKey}
}

func randHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// Client returns a minio-go client with the server's root credentials, for
// test set-up and checks (never used by the tasks under test).
func (m *MinIO) Client() *minio.Client { return rootClient(m.Port, m.AccessKey, m.SecretKey) }

// MakeBucket creates a bucket, optionally with versioning on.
func (m *MinIO) MakeBucket(ctx context.Context, name string, versioned bool) error {
	c := m.Client()
	if err := c.MakeBucket(ctx, name, minio.MakeBucketOptions{}); err != nil {
		return err
	}
	if versioned {
		return c.EnableVersioning(ctx, name)
	}
	return nil
}
