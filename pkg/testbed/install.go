package testbed

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
)

// Pinned tool versions. MinIO publishes no tagged Go module versions; the
// pseudo-version names the commit of its RELEASE.2026-02 line.
const (
	MinioModule = "github.com/minio/minio@v0.0.0-20260212201848-7aac2a2c5b7c"
)

// ensureOnce returns path when it exists; otherwise it runs install under
// an exclusive lock file in the cache (concurrent test processes wait for
// each other), unless another process made path meanwhile.
func ensureOnce(path, lockName string, install func() error) (string, error) {
	if _, err := os.Stat(path); err == nil {
		return path, nil
	}
	cache, err := CacheDir()
	if err != nil {
		return "", err
	}
	lock, err := os.OpenFile(filepath.Join(cache, lockName), os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		return "", err
	}
	defer lock.Close()
	if err := syscall.Flock(int(lock.Fd()), syscall.LOCK_EX); err != nil {
		return "", err
	}
	defer syscall.Flock(int(lock.Fd()), syscall.LOCK_UN) //nolint:errcheck
	if _, err := os.Stat(path); err == nil {
		return path, nil
	}
	if err := install(); err != nil {
		return "", err
	}
	if _, err := os.Stat(path); err != nil {
		return "", fmt.Errorf("testbed: installed, but %s is missing", path)
	}
	return path, nil
}

// GoInstall installs pkg@version into the cache's bin folder unless a
// binary named name is already there, and returns its path.
func GoInstall(name, pkgAtVersion string) (string, error) {
	cache, err := CacheDir()
	if err != nil {
		return "", err
	}
	bin := filepath.Join(cache, "bin")
	return ensureOnce(filepath.Join(bin, name), "install.lock", func() error {
		if err := os.MkdirAll(bin, 0o755); err != nil {
			return err
		}
		cmd := exec.Command("go", "install", pkgAtVersion)
		cmd.Env = append(os.Environ(), "GOBIN="+bin, "CGO_ENABLED=0", "GOFLAGS=-buildvcs=false")
		cmd.Dir = os.TempDir() // outside this module: install the pinned version, not a replacement
		if out, err := cmd.CombinedOutput(); err != nil {
			return fmt.Errorf("go install %s: %v\n%s", pkgAtVersion, err, out)
		}
		return nil
	})
}

// MinioBinary returns the pinned MinIO server, installing it when missing.
func MinioBinary() (string, error) { return GoInstall("minio", MinioModule) }
