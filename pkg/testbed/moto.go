package testbed

import (
	_ "embed"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// MotoVersion is the pinned moto server (PyPI moto[server]); every other
// package of its virtualenv is pinned by moto/constraints.txt (pip freeze
// of a working install).
const MotoVersion = "5.2.5"

//go:embed moto/constraints.txt
var motoConstraints []byte

// Moto is a real moto server (an in-memory AWS imitation) on a loopback
// port. It checks no credentials and no region (see the peers notes).
type Moto struct{ s3Process }

// MotoServer returns the moto_server program of the pinned virtualenv in
// the cache, creating the virtualenv when missing (under the install
// lock, like the Go tools).
func MotoServer() (string, error) {
	cache, err := CacheDir()
	if err != nil {
		return "", err
	}
	venv := filepath.Join(cache, "venv-moto-"+MotoVersion)
	marker := filepath.Join(venv, ".installed")
	if _, err := ensureOnce(marker, "install.lock", func() error {
		if err := os.RemoveAll(venv); err != nil {
			return err
		}
		if out, err := exec.Command("python3", "-m", "venv", venv).CombinedOutput(); err != nil {
			return fmt.Errorf("python3 -m venv %s: %v\n%s", venv, err, out)
		}
		constraints := filepath.Join(venv, "constraints.txt")
		if err := os.WriteFile(constraints, motoConstraints, 0o644); err != nil {
			return err
		}
		pip := exec.Command(filepath.Join(venv, "bin", "pip"), "install", "-q", "--disable-pip-version-check",
			"-c", constraints, "moto[server]=="+MotoVersion)
		if out, err := pip.CombinedOutput(); err != nil {
			return fmt.Errorf("pip install moto[server]==%s: %v\n%s", MotoVersion, err, out)
		}
		return os.WriteFile(marker, nil, 0o644)
	}); err != nil {
		return "", err
	}
	return filepath.Join(venv, "bin", "moto_server"), nil
}

// StartMoto starts a moto server logging under dir.
func StartMoto(dir string) (*Moto, error) {
	bin, err := MotoServer()
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	m := &Moto{s3Process{Dir: dir, AccessKey: "moto-" + randHex(4), SecretKey: randHex(16)}}
	return m, m.start("moto server", filepath.Join(dir, "moto.log"), nil, bin, func(port int) []string {
		return []string{"-H", "127.0.0.1", "-p", fmt.Sprint(port)}
	})
}

// NewMoto starts a moto server for a test and stops it at the test's end.
func NewMoto(t testing.TB) *Moto { return startForTest(t, "moto server", StartMoto) }
